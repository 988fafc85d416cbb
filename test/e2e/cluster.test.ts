// A whole cluster started as a user starts it (`skiff up --nodes 3`), driven
// with the real kubectl, with pods running as real Docker containers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

const manifests = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'manifests');

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

/** Running containers of a pod, sandbox included (container name POD). */
function podContainers(pod: string, ns = 'default'): { id: string; container: string }[] {
  const out = docker(['ps', '--no-trunc', '--filter', `label=io.kubernetes.pod.name=${pod}`, '--filter', `label=io.kubernetes.pod.namespace=${ns}`, '--format', '{{.ID}} {{.Label "io.kubernetes.container.name"}}']);
  return out.split('\n').filter(Boolean).map((l) => {
    const [id, container] = l.split(' ');
    return { id, container };
  });
}

describe('a local cluster from skiff up', () => {
  let c: TestCluster;
  const pods = async (selector: string) => (await c.kubectl.json(['get', 'pods', '-l', selector])).items as any[];
  const isReady = (p: any) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');

  beforeAll(async () => {
    c = await skiffUp({ nodes: 3 });
  });
  afterAll(async () => {
    await c?.down();
  });

  it('has three Ready nodes and refuses a second skiff up', async () => {
    const nodes = (await c.kubectl.json(['get', 'nodes'])).items as any[];
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(c.nodes);
    for (const n of nodes) {
      expect(n.status.conditions.find((x: any) => x.type === 'Ready').status).toBe('True');
      expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^docker:\/\//);
    }
    const again = await c.skiff(['up']);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('already running');
    const st = await c.skiff(['status']);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/kube-apiserver\s+\d+\s+running/);
  });

  it('runs the example Deployment as Docker containers answering with their pod names', async () => {
    await c.kubectl.ok(['apply', '-f', path.join(manifests, 'web.yaml')]);
    const ready = await waitFor('3 Ready web pods', async () => {
      const ps = await pods('app=web');
      return ps.length === 3 && ps.every(isReady) ? ps : undefined;
    }, 90_000, 250);
    expect(new Set(ready.map((p) => p.spec.nodeName)).size).toBeGreaterThan(1);
    for (const p of ready) {
      expect(p.status.phase).toBe('Running');
      const body = await (await fetch(`http://${p.status.podIP}:8080/`)).text();
      expect(body.trim()).toBe(p.metadata.name);
      const containers = podContainers(p.metadata.name);
      expect(containers.map((x) => x.container).sort()).toEqual(['POD', 'httpd']);
    }
  });

  it('reflects scaling in Docker', async () => {
    await c.kubectl.ok(['scale', 'deployment/web', '--replicas=5']);
    await waitFor('5 Ready pods', async () => (await pods('app=web')).filter(isReady).length === 5, 90_000, 250);
    const names5 = (await pods('app=web')).map((p) => p.metadata.name);
    expect(names5.every((n) => podContainers(n).length === 2)).toBe(true);

    await c.kubectl.ok(['scale', 'deployment/web', '--replicas=1']);
    const one = await waitFor('1 pod left', async () => {
      const ps = await pods('app=web');
      return ps.length === 1 ? ps : undefined;
    }, 90_000, 250);
    const gone = names5.filter((n) => n !== one[0].metadata.name);
    await waitFor('containers of removed pods gone', () => gone.every((n) => podContainers(n).length === 0), 60_000, 250);
  });

  it('replaces every container in a rolling update', async () => {
    const before = (await pods('app=web')).flatMap((p) => podContainers(p.metadata.name).map((x) => x.id));
    await c.kubectl.ok(['set', 'env', 'deployment/web', 'VERSION=2']);
    await c.kubectl.ok(['rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
    // rollout status is done once the new pods are available; the old ones may still be
    // Terminating (preStop, then SIGTERM), as a user of kubectl sees them.
    const after = await waitFor('old pods gone', async () => {
      const ps = await pods('app=web');
      return ps.every((p) => !p.metadata.deletionTimestamp) ? ps : undefined;
    }, 60_000, 250);
    expect(after).toHaveLength(1);
    expect(after[0].spec.containers[0].env.some((e: any) => e.name === 'VERSION' && e.value === '2')).toBe(true);
    const ids = podContainers(after[0].metadata.name).map((x) => x.id);
    expect(ids.some((id) => before.includes(id))).toBe(false);
  });

  it('restarts a container killed with docker kill', async () => {
    const [p] = await pods('app=web');
    const app = podContainers(p.metadata.name).find((x) => x.container === 'httpd')!;
    docker(['kill', app.id]);
    const restarted = await waitFor('restartCount 1 and Ready', async () => {
      const cur = (await c.kubectl.json(['get', 'pod', p.metadata.name]));
      return cur.status.containerStatuses?.[0].restartCount >= 1 && isReady(cur) ? cur : undefined;
    }, 60_000, 250);
    expect(restarted.status.containerStatuses[0].lastState.terminated).toBeDefined();
    expect(podContainers(p.metadata.name).find((x) => x.container === 'httpd')!.id).not.toBe(app.id);
  });

  it('backs off a crashing container with CrashLoopBackOff', async () => {
    await c.kubectl.ok(['apply', '-f', path.join(manifests, 'crashloop.yaml')]);
    const seen = await waitFor('CrashLoopBackOff after 2 restarts', async () => {
      const cur = await c.kubectl.json(['get', 'pod', 'crashloop']);
      const cs = cur.status.containerStatuses?.[0];
      return cs?.restartCount >= 2 && cs.state?.waiting?.reason === 'CrashLoopBackOff' ? cur : undefined;
    }, 120_000, 250);
    expect(seen.status.containerStatuses[0].lastState.terminated.exitCode).toBe(3);
    const table = await c.kubectl.ok(['get', 'pod', 'crashloop']);
    expect(table).toMatch(/crashloop\s+0\/1\s+(CrashLoopBackOff|Error)\s+[2-9]/);
    const logs = await c.kubectl.ok(['logs', 'crashloop']);
    expect(logs).toContain('starting');
    await c.kubectl.ok(['delete', 'pod', 'crashloop', '--grace-period=0', '--force'], { timeoutMs: 60_000 });
  });

  it('fails only the pod whose image cannot be had', async () => {
    await c.kubectl.ok(['run', 'noimage', '--image=skiff.invalid/missing:1', '--image-pull-policy=IfNotPresent']);
    const reasons = new Set<string>();
    await waitFor('ImagePullBackOff', async () => {
      const cur = await c.kubectl.json(['get', 'pod', 'noimage']);
      const r = cur.status.containerStatuses?.[0]?.state?.waiting?.reason;
      if (r) reasons.add(r);
      return reasons.has('ImagePullBackOff');
    }, 90_000, 200);
    expect(reasons.has('ErrImagePull') || reasons.has('ImagePullBackOff')).toBe(true);
    expect((await pods('app=web')).every(isReady)).toBe(true);
    await c.kubectl.ok(['delete', 'pod', 'noimage', '--wait=true'], { timeoutMs: 90_000 });
  });

  it('keeps a pod whose readiness probe fails out of Ready', async () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'notready' },
      spec: { containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'],
        readinessProbe: { exec: { command: ['false'] }, periodSeconds: 1 } }] },
    };
    await c.kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    const cur = await waitFor('running', async () => {
      const p = await c.kubectl.json(['get', 'pod', 'notready']);
      return p.status.containerStatuses?.[0]?.state?.running ? p : undefined;
    }, 60_000, 250);
    await new Promise((r) => setTimeout(r, 3000));
    const later = await c.kubectl.json(['get', 'pod', 'notready']);
    expect(cur.status.phase).toBe('Running');
    expect(later.status.conditions.find((x: any) => x.type === 'Ready').status).toBe('False');
    expect(later.status.containerStatuses[0].ready).toBe(false);
    await c.kubectl.ok(['delete', 'pod', 'notready', '--grace-period=1'], { timeoutMs: 60_000 });
  });

  it('shows container output with kubectl logs and logs -f', async () => {
    await c.kubectl.ok(['apply', '-f', path.join(manifests, 'pod.yaml')]);
    await waitFor('hello running', async () => (await c.kubectl.json(['get', 'pod', 'hello'])).status.phase === 'Running', 60_000, 250);
    await waitFor('first line', async () => (await c.kubectl.ok(['logs', 'hello'])).includes('hello 0 from hello'), 30_000, 250);
    const follow = c.kubectl.background(['logs', '-f', 'hello']);
    try {
      await waitFor('a new line while following', () => /hello [1-9]\d* from hello/.test(follow.output()), 30_000, 200);
    } finally {
      follow.stop();
    }
    await c.kubectl.ok(['delete', 'pod', 'hello', '--grace-period=1'], { timeoutMs: 60_000 });
  });

  it('leaves running containers untouched when the kubelet is killed and restarted', async () => {
    const stateFile = path.join(c.home, 'state.json');
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    const web = (await pods('app=web'))[0];
    const kubelet = state.processes.find((p: any) => p.name === `kubelet-${web.spec.nodeName}`);
    const before = podContainers(web.metadata.name).map((x) => x.id).sort();
    process.kill(kubelet.pid, 'SIGKILL');
    // skiff up's supervisor starts it again.
    await waitFor('the kubelet restarted', () => {
      const now = JSON.parse(fs.readFileSync(stateFile, 'utf8')).processes.find((p: any) => p.name === kubelet.name);
      return now.pid !== kubelet.pid && now.restarts >= 1;
    }, 30_000, 200);
    await new Promise((r) => setTimeout(r, 5000));
    const cur = await c.kubectl.json(['get', 'pod', web.metadata.name]);
    expect(isReady(cur)).toBe(true);
    expect(podContainers(web.metadata.name).map((x) => x.id).sort()).toEqual(before);
    expect(cur.status.containerStatuses[0].restartCount).toBe(web.status.containerStatuses[0].restartCount);
  });

  it('removes every container when the objects are deleted', async () => {
    const names = (await pods('app=web')).map((p) => p.metadata.name);
    await c.kubectl.ok(['delete', '-f', path.join(manifests, 'web.yaml')], { timeoutMs: 90_000 });
    await waitFor('no web pods', async () => (await pods('app=web')).length === 0, 90_000, 250);
    await waitFor('no containers', () => names.every((n) => podContainers(n).length === 0), 60_000, 250);
  });
});
