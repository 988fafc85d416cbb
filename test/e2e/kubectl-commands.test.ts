// kubectl, command for command, against a running Skiff cluster with real
// containers: each test asserts exit code and output as Kubernetes gives them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

const deployYaml = (replicas: number, extraContainer = false, image = 'busybox:latest') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: {app: app}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: ${image}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "echo main-started; mkdir -p /www; hostname > /www/index.html; exec httpd -f -p 8080 -h /www"]
        ports:
        - containerPort: 8080
        env:
        - name: A
          value: "1"
${extraContainer ? `      - name: sidecar
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "echo sidecar-started; exec sleep 3600"]
` : ''}`;

describe('kubectl commands against a Skiff cluster', () => {
  let c: TestCluster;
  let dir: string;
  const k = (args: string[], opts?: Parameters<TestCluster['kubectl']['ok']>[1]) => c.kubectl.ok(args, opts);
  const file = (name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kubectl-cmds-'));
  });
  afterAll(async () => {
    await c?.down();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('apply', () => {
    it('creates, leaves unchanged, and removes what the file no longer has', async () => {
      const f = file('app.yaml', deployYaml(2, true));
      expect(await k(['apply', '-f', f])).toBe('deployment.apps/app created\n');
      const created = await c.kubectl.json(['get', 'deploy', 'app']);
      expect(created.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('"sidecar"');
      expect(await k(['apply', '-f', f])).toBe('deployment.apps/app unchanged\n');

      fs.writeFileSync(f, deployYaml(2, false));
      const diff = await c.kubectl.run(['diff', '-f', f]);
      expect(diff.code).toBe(1);
      expect(diff.stdout).toMatch(/^-\s+- command:/m);
      expect(diff.stdout).toContain('sidecar');

      expect(await k(['apply', '-f', f])).toBe('deployment.apps/app configured\n');
      const updated = await c.kubectl.json(['get', 'deploy', 'app']);
      expect(updated.spec.template.spec.containers.map((x: any) => x.name)).toEqual(['main']);
      expect(updated.metadata.generation).toBe(2);
      expect((await c.kubectl.run(['diff', '-f', f])).code).toBe(0);
    });

    it('applies server-side with field managers and conflicts', async () => {
      const cm = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  key: "${v}"\n`;
      expect(await k(['apply', '--server-side', '-f', '-'], { input: cm('a') })).toBe('configmap/ssa serverside-applied\n');
      const got = await c.kubectl.json(['get', 'cm', 'ssa', '--show-managed-fields']);
      expect(got.metadata.managedFields.find((m: any) => m.manager === 'kubectl').operation).toBe('Apply');
      const conflict = await c.kubectl.run(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: cm('b') });
      expect(conflict.code).not.toBe(0);
      expect(conflict.stderr).toMatch(/conflict with "kubectl"/);
      expect(await k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], { input: cm('b') })).toBe('configmap/ssa serverside-applied\n');
      expect((await c.kubectl.json(['get', 'cm', 'ssa'])).data.key).toBe('b');
    });
  });

  describe('get', () => {
    it('prints wide, name, jsonpath, custom-columns, labels and all namespaces', async () => {
      await waitFor('app ready', async () => (await c.kubectl.json(['get', 'deploy', 'app'])).status.readyReplicas === 2, 90_000, 250);
      // readyReplicas leaves out terminating pods, but those keep phase Running until they are gone (as in
      // Kubernetes), so the field selector below would count the first rollout's pods too.
      await waitFor('old pods gone', async () => (await c.kubectl.json(['get', 'pods', '-l', 'app=app'])).items.length === 2, 60_000, 250);
      const wide = await k(['get', 'pods', '-o', 'wide']);
      expect(wide.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
      expect(wide).toMatch(/app-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\S+\s+172\.\d+\.\d+\.\d+\s+\S+-node-1\s+<none>\s+<none>/);
      expect((await k(['get', 'deploy', '-o', 'name'])).trim()).toBe('deployment.apps/app');
      expect(await k(['get', 'deploy', 'app', '-o', 'jsonpath={.spec.replicas}'])).toBe('2');
      const cc = await k(['get', 'deploy', 'app', '-o', 'custom-columns=NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image']);
      expect(cc.split('\n')[1]).toMatch(/^app\s+busybox:latest$/);
      expect(await k(['get', 'deploy', 'app', '--show-labels'])).toMatch(/app=app/);
      const all = await k(['get', 'pods', '-A']);
      expect(all.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+READY/);
      const fs2 = await k(['get', 'pods', '--field-selector', 'status.phase=Running', '-o', 'name']);
      expect(fs2.trim().split('\n')).toHaveLength(2);
    });

    it('lists everything with get all, api-resources and explain', async () => {
      const all = await k(['get', 'all']);
      expect(all).toContain('deployment.apps/app');
      expect(all).toMatch(/replicaset\.apps\/app-/);
      expect(all).toContain('service/kubernetes');
      const ar = await k(['api-resources']);
      expect(ar).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
      expect(ar).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
      const ex = await k(['explain', 'deployment.spec.strategy']);
      expect(ex).toMatch(/KIND:\s+Deployment/);
      expect(ex).toMatch(/rollingUpdate/);
    });

    it('watches with -w and --watch-only', async () => {
      const w = c.kubectl.background(['get', 'cm', '--watch-only']);
      try {
        await new Promise((r) => setTimeout(r, 1500));
        await k(['create', 'configmap', 'watched', '--from-literal=a=b']);
        await waitFor('watch-only line', () => /watched/.test(w.output()), 20_000);
        expect(w.output()).not.toMatch(/kube-root-ca|^ssa/m);
      } finally {
        w.stop();
      }
    });
  });

  describe('describe', () => {
    it('describes pods, deployments, replicasets, services, endpoints and nodes with events', async () => {
      const pod = (await c.kubectl.json(['get', 'pods', '-l', 'app=app'])).items[0].metadata.name;
      const dp = await k(['describe', 'pod', pod]);
      expect(dp).toMatch(/^Name:\s+app-/m);
      expect(dp).toMatch(/^Status:\s+Running/m);
      expect(dp).toMatch(/Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/app-/);
      const dd = await k(['describe', 'deployment', 'app']);
      expect(dd).toMatch(/StrategyType:\s+RollingUpdate/);
      expect(dd).toMatch(/ScalingReplicaSet/);
      expect(await k(['describe', 'rs', '-l', 'app=app'])).toMatch(/SuccessfulCreate/);
      await k(['expose', 'deployment', 'app', '--port=80', '--target-port=8080']);
      // kubectl 1.32 reads the Service's EndpointSlices; the controller fills them shortly after expose.
      await waitFor('service endpoints', async () => /^Endpoints:\s+172\./m.test(await k(['describe', 'service', 'app'])), 20_000, 250);
      expect(await k(['describe', 'endpoints', 'app'])).toMatch(/Addresses:\s+172\./);
      const slices = await k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=app']);
      expect(slices.split('\n')[0]).toMatch(/^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/);
      expect(slices).toMatch(/^app-[a-z0-9]{5}\s+IPv4\s+8080\s+172\.\d+\.\d+\.\d+,172\./m);
      expect(await k(['describe', 'node', c.nodes[0]])).toMatch(/Ready\s+True/);
    });
  });

  describe('imperative commands', () => {
    it('create, run, expose, configmaps, set image, label, annotate, edit and patch', async () => {
      expect(await k(['create', 'deployment', 'imp', '--image=busybox:latest', '--', 'sleep', '3600'])).toBe('deployment.apps/imp created\n');
      expect(await k(['run', 'solo', '--image=busybox:latest', '--image-pull-policy=IfNotPresent', '--', 'sleep', '3600'])).toBe('pod/solo created\n');
      expect(await k(['create', 'configmap', 'cfg', '--from-literal=x=1'])).toBe('configmap/cfg created\n');
      expect(await k(['set', 'image', 'deployment/imp', 'busybox=busybox:1'])).toBe('deployment.apps/imp image updated\n');
      expect(await k(['label', 'deployment', 'imp', 'team=a'])).toBe('deployment.apps/imp labeled\n');
      expect(await k(['annotate', 'deployment', 'imp', 'note=hi'])).toBe('deployment.apps/imp annotated\n');
      const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/x: \\"1\\"/x: \\"2\\"/" "$1"\n');
      fs.chmodSync(editor, 0o755);
      expect(await k(['edit', 'configmap', 'cfg'], { env: { EDITOR: editor, KUBE_EDITOR: editor } })).toBe('configmap/cfg edited\n');
      expect((await c.kubectl.json(['get', 'cm', 'cfg'])).data.x).toBe('2');
      await k(['patch', 'deployment', 'imp', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"busybox","env":[{"name":"P","value":"s"}]}]}}}}']);
      await k(['patch', 'deployment', 'imp', '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}']);
      await k(['patch', 'deployment', 'imp', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":2}]']);
      const imp = await c.kubectl.json(['get', 'deploy', 'imp']);
      expect(imp.spec.template.spec.containers).toHaveLength(1);
      expect(imp.spec.template.spec.containers[0].image).toBe('busybox:1');
      expect(imp.spec.template.spec.containers[0].env).toEqual([{ name: 'P', value: 's' }]);
      expect(imp.metadata.labels).toMatchObject({ team: 'a', m: '1' });
      expect(imp.metadata.annotations.note).toBe('hi');
      expect(imp.spec.replicas).toBe(2);
    });
  });

  describe('rollout', () => {
    it('scales, restarts, pauses, resumes, shows history and undoes', async () => {
      expect(await k(['scale', 'deployment/app', '--replicas=3'])).toBe('deployment.apps/app scaled\n');
      await k(['rollout', 'status', 'deployment/app', '--timeout=90s'], { timeoutMs: 100_000 });
      await k(['set', 'env', 'deployment/app', 'B=2']);
      await k(['rollout', 'status', 'deployment/app', '--timeout=90s'], { timeoutMs: 100_000 });
      expect(await k(['rollout', 'restart', 'deployment/app'])).toBe('deployment.apps/app restarted\n');
      const st = await k(['rollout', 'status', 'deployment/app', '--timeout=90s'], { timeoutMs: 100_000 });
      expect(st).toContain('deployment "app" successfully rolled out');
      const hist = await k(['rollout', 'history', 'deployment/app']);
      expect(hist).toMatch(/^REVISION\s+CHANGE-CAUSE$/m);
      expect(hist.trim().split('\n').slice(-1)[0]).toMatch(/^4\s+<none>$/);
      expect(await k(['rollout', 'undo', 'deployment/app'])).toBe('deployment.apps/app rolled back\n');
      await k(['rollout', 'status', 'deployment/app', '--timeout=90s'], { timeoutMs: 100_000 });
      expect(await k(['rollout', 'undo', 'deployment/app', '--to-revision=1'])).toBe('deployment.apps/app rolled back\n');
      await k(['rollout', 'status', 'deployment/app', '--timeout=90s'], { timeoutMs: 100_000 });
      const env = (await c.kubectl.json(['get', 'deploy', 'app'])).spec.template.spec.containers[0].env;
      expect(env).toEqual([{ name: 'A', value: '1' }]);
      expect(await k(['rollout', 'pause', 'deployment/app'])).toBe('deployment.apps/app paused\n');
      expect(await k(['rollout', 'resume', 'deployment/app'])).toBe('deployment.apps/app resumed\n');
    });

    it('reports a rollout that exceeds its progress deadline', async () => {
      // imagePullPolicy Never: the image is missing and nothing may be pulled from outside the machine.
      const stuck = `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: stuck}\nspec:\n  replicas: 1\n  progressDeadlineSeconds: 5\n  selector: {matchLabels: {app: stuck}}\n  template:\n    metadata: {labels: {app: stuck}}\n    spec:\n      containers: [{name: c, image: "skiff/missing:1", imagePullPolicy: Never}]\n`;
      await k(['apply', '-f', '-'], { input: stuck });
      const st = await c.kubectl.run(['rollout', 'status', 'deployment/stuck', '--timeout=60s'], { timeoutMs: 70_000 });
      expect(st.code).toBe(1);
      expect(st.stderr).toContain('error: deployment "stuck" exceeded its progress deadline');
      expect(await k(['get', 'pods', '-l', 'app=stuck'])).toMatch(/0\/1\s+ErrImageNeverPull/);
      await k(['delete', 'deployment', 'stuck']);
    });

    it('waits for conditions and deletion', async () => {
      expect(await k(['wait', '--for=condition=Available', 'deployment/app', '--timeout=60s'], { timeoutMs: 70_000 })).toBe('deployment.apps/app condition met\n');
      await k(['delete', 'pod', 'solo', '--wait=false', '--grace-period=1']);
      await k(['wait', '--for=delete', 'pod/solo', '--timeout=60s'], { timeoutMs: 70_000 });
    });
  });

  describe('logs, exec, port-forward and cp', () => {
    it('shows logs of a deployment and of one container', async () => {
      const logs = await k(['logs', 'deploy/app', '-c', 'main', '--tail=5']);
      expect(logs).toContain('main-started');
    });

    it('follows logs and shows the previous container', async () => {
      const f = c.kubectl.background(['logs', '-f', 'deploy/app', '-c', 'main']);
      try {
        await waitFor('followed log', () => /main-started/.test(f.output()), 20_000);
        await new Promise((r) => setTimeout(r, 1000));
        expect(f.proc.exitCode).toBeNull(); // -f keeps streaming while the container runs
      } finally {
        f.stop();
      }
      await k(['run', 'crash', '--image=busybox:latest', '--image-pull-policy=IfNotPresent', '--', 'sh', '-c', 'echo run-$RANDOM; sleep 1; exit 3']);
      await waitFor('a restart', async () => ((await c.kubectl.json(['get', 'pod', 'crash'])).status.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 60_000, 500);
      const prev = await k(['logs', 'crash', '--previous']);
      expect(prev).toMatch(/^run-\d+\n$/);
      const missing = await c.kubectl.run(['logs', 'deploy/app', '-c', 'nope']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/container nope is not valid for pod app-/);
      await k(['delete', 'pod', 'crash', '--grace-period=1']);
    });

    it('runs commands with exec and copies files with cp', async () => {
      const pod = (await c.kubectl.json(['get', 'pods', '-l', 'app=app'])).items[0].metadata.name;
      expect(await k(['exec', pod, '--', 'sh', '-c', 'echo out; echo err >&2'])).toBe('out\n');
      const fail = await c.kubectl.run(['exec', pod, '--', 'sh', '-c', 'exit 7']);
      expect(fail.code).toBe(7);
      const piped = await c.kubectl.run(['exec', '-i', pod, '--', 'sh'], { input: 'echo from-stdin; exit 4\n' });
      expect(piped).toMatchObject({ code: 4, stdout: 'from-stdin\n' });
      const src = file('copied.txt', 'copied through exec\n');
      await k(['cp', src, `${pod}:/tmp/copied.txt`]);
      expect(await k(['exec', pod, '--', 'cat', '/tmp/copied.txt'])).toBe('copied through exec\n');
    });

    it('forwards a local port to a pod', async () => {
      const pod = (await c.kubectl.json(['get', 'pods', '-l', 'app=app'])).items[0].metadata.name;
      const port = await new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
      const pf = c.kubectl.background(['port-forward', `pod/${pod}`, `${port}:8080`]);
      try {
        await waitFor('forwarding', () => {
          if (pf.proc.exitCode !== null) throw new Error(`kubectl port-forward exited ${pf.proc.exitCode}: ${pf.output()}`);
          return /Forwarding from 127\.0\.0\.1/.test(pf.output());
        }, 20_000);
        const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
        expect(body.trim()).toBe(pod);
      } finally {
        pf.stop();
      }
    });
  });

  describe('nodes', () => {
    it('cordons, drains and uncordons', async () => {
      const node = c.nodes[0];
      expect(await k(['cordon', node])).toBe(`node/${node} cordoned\n`);
      expect(await k(['get', 'node', node])).toMatch(/Ready,SchedulingDisabled/);
      const drain = await c.kubectl.run(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s'], { timeoutMs: 70_000 });
      expect(drain.stdout).toContain(`node/${node} drained`);
      expect(await k(['uncordon', node])).toBe(`node/${node} uncordoned\n`);
      await waitFor('app back', async () => (await c.kubectl.json(['get', 'deploy', 'app'])).status.readyReplicas === 3, 90_000, 250);
    });

    it('sorts events and shows resource usage with top', async () => {
      const ev = await k(['get', 'events', '--sort-by=.lastTimestamp']);
      expect(ev.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
      const top = await waitFor('metrics available', async () => { const r = await c.kubectl.run(['top', 'pods']); return r.code === 0 ? r.stdout : undefined; }, 60_000, 1000);
      // kubectl's top printer ends every cell with a tab, so its tabwriter pads the last column too.
      expect(top.split('\n')[0]).toMatch(/^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$/);
      expect(await k(['top', 'nodes'])).toMatch(/^NAME\s+CPU\(cores\)\s+CPU(%)?/);
    });
  });

  describe('delete', () => {
    it('deletes with orphan, foreground and background cascading, by label and all', async () => {
      await k(['delete', 'deployment', 'imp', '--cascade=orphan']);
      const orphans = (await c.kubectl.json(['get', 'rs', '-l', 'app=imp'])).items as any[];
      expect(orphans.length).toBeGreaterThan(0);
      expect(orphans.every((r) => !r.metadata.ownerReferences?.length)).toBe(true);
      await k(['delete', 'rs', '-l', 'app=imp', '--cascade=foreground'], { timeoutMs: 90_000 });
      await waitFor('imp pods gone', async () => (await c.kubectl.json(['get', 'pods', '-l', 'app=imp'])).items.length === 0, 60_000, 250);
      await k(['delete', 'deployment', 'app', '--cascade=background'], { timeoutMs: 90_000 });
      await waitFor('app pods gone', async () => (await c.kubectl.json(['get', 'pods', '-l', 'app=app'])).items.length === 0, 90_000, 250);
      await k(['delete', 'configmap', '--all']);
      expect((await c.kubectl.json(['get', 'cm'])).items.filter((x: any) => x.metadata.name !== 'kube-root-ca.crt')).toEqual([]);
    });
  });
});
