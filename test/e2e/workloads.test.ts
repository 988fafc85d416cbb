// The workloads of issue #14 end to end on three VM-like nodes (`skiff up
// --nodes 3 --node-mode netns`, each node joined with `skiff join` in its own
// network namespace), driven with the real kubectl: a DaemonSet across a node
// leaving and joining and its rolling update, a StatefulSet with a headless
// Service, its own local-path volume per replica and stable DNS names, Jobs
// (complete and failing), a CronJob's history limit, an HPA under CPU load,
// `kubectl drain` against a PodDisruptionBudget, and cluster DNS from a pod.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';
import { destroyLan, engineEndpoint, netnsLayout, type NetnsLayout } from '../../cli/netns.js';
import { caCertHash } from '../../lib/pki.js';

// Ranges of this run's own, so another netns cluster on the machine (multinode.test.ts) never shares a bridge, route or ClusterIP.
const name = `w${process.pid % 10000}`;
const lanCidr = `10.251.${100 + (process.pid % 100)}.0/24`;
const clusterCidr = `10.${200 + (process.pid % 50)}.0.0/16`;
const serviceCidr = '10.113.0.0/16';
const ns = 'wl';

const isReady = (p: any) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
const readyAt = (p: any) => Date.parse(p.status.conditions.find((x: any) => x.type === 'Ready').lastTransitionTime);
const createdAt = (p: any) => Date.parse(p.metadata.creationTimestamp);
const live = (ps: any[]) => ps.filter((p) => !p.metadata.deletionTimestamp);
const busybox = { image: 'busybox:latest', imagePullPolicy: 'IfNotPresent' };
/** A container that exits at once on TERM, so deletions and rollouts take no grace period's wait. */
const sleeper = "trap 'exit 0' TERM; while :; do sleep 1; done";

/** One HTTP GET from inside a pod (nc: Debian's busybox-static wget segfaults, see test/e2e/services.test.ts). */
const httpGet = (host: string, p = '/') => `printf 'GET ${p} HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' | nc -w 3 ${host} 80`;

describe('workloads on a 3-node netns cluster', () => {
  let c: TestCluster;
  let lan: NetnsLayout;
  const k = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) => c.kubectl.ok(['-n', ns, ...args], opts);
  const kr = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) => c.kubectl.run(['-n', ns, ...args], opts);
  const apply = (obj: unknown) => k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const pods = async (selector: string) => (await c.kubectl.json(['-n', ns, 'get', 'pods', '-l', selector])).items as any[];
  const exec = (pod: string, script: string, timeoutMs = 30_000) => kr(['exec', pod, '--', 'sh', '-c', script], { timeoutMs });

  /** Run the skiff CLI inside a node's namespace, as on that node's VM. */
  const inNode = (i: number, args: string[]) => new Promise<{ code: number; out: string }>((resolve) => {
    const cli = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'dist', 'cli', 'main.js');
    execFile('nsenter', [`--net=/run/netns/${lan.nodes[i].netns}`, process.execPath, cli, ...args], { timeout: 240_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` });
    });
  });

  beforeAll(async () => {
    c = await skiffUp({ nodes: 3, name, nodeMode: 'netns', args: [`--lan-cidr=${lanCidr}`, `--cluster-cidr=${clusterCidr}`, `--service-cluster-ip-range=${serviceCidr}`] });
    lan = netnsLayout({ cluster: name, home: c.home, lanCidr, nodes: c.nodes, clusterCidr, serviceCidr });
    await c.kubectl.ok(['create', 'namespace', ns]);
    // Started first so that its minutes pass while the other steps run (the last test checks it): no wait of its own.
    await apply({
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'tick', namespace: ns },
      spec: {
        schedule: '* * * * *', successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1,
        jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{ name: 'c', ...busybox, command: ['sh', '-c', 'echo tick'] }] } } } },
      },
    });
  }, 300_000);

  afterAll(async () => {
    await c?.down();
    // Best effort, also when skiff down failed: the same teardown down uses, from names alone.
    const sweep = netnsLayout({ cluster: name, home: '/nonexistent', lanCidr, nodes: c?.nodes ?? [1, 2, 3].map((i) => `${name}-node-${i}`), clusterCidr, serviceCidr });
    await destroyLan(sweep, { cluster: name, clusterCidr, log: () => {} });
    try { execFileSync('ip', ['route', 'del', 'local', serviceCidr, 'dev', 'lo', 'table', 'local'], { stdio: 'ignore' }); } catch { /* not there */ }
  }, 180_000);

  const agentDs = (version: string) => ({
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: ns },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: 'agent', ...busybox, command: ['sh', '-c', sleeper], env: [{ name: 'VERSION', value: version }],
            // Ready 2 s after start: a rollout that replaced several nodes at once would create them within one second.
            readinessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 2, periodSeconds: 1 },
          }],
        },
      },
    },
  });
  const agentsOnePerNode = async (nodes: string[]) => {
    const ps = live(await pods('app=agent'));
    return ps.length === nodes.length && ps.every(isReady) && new Set(ps.map((p) => p.spec.nodeName)).size === nodes.length
      && ps.every((p) => nodes.includes(p.spec.nodeName)) ? ps : undefined;
  };

  it('a DaemonSet has one Ready pod per node and rolls an update one node at a time (maxUnavailable 1)', async () => {
    await apply(agentDs('1'));
    const before = await waitFor('one Ready agent per node', () => agentsOnePerNode(c.nodes), 120_000, 1000);
    // The update: each node's old pod goes only once the previous node's new one is Ready (maxUnavailable 1, no surge).
    await apply(agentDs('2'));
    await k(['rollout', 'status', 'ds/agent', '--timeout=180s'], { timeoutMs: 200_000 });
    const after = await waitFor('the updated agents', async () => {
      const ps = await agentsOnePerNode(c.nodes);
      return ps?.every((p) => p.spec.containers[0].env[0].value === '2') ? ps : undefined;
    }, 30_000, 1000);
    expect(after.some((p) => before.some((b) => b.metadata.uid === p.metadata.uid))).toBe(false);
    const order = [...after].sort((a, b) => createdAt(a) - createdAt(b));
    for (let i = 1; i < order.length; i++) expect(createdAt(order[i])).toBeGreaterThanOrEqual(readyAt(order[i - 1]));
    // ControllerRevisions: both templates are kept as history.
    expect((await k(['rollout', 'history', 'ds/agent'])).trim().split('\n').slice(-2).map((l) => l.trim().split(/\s+/)[0])).toEqual(['1', '2']);
  }, 300_000);

  it('the DaemonSet follows a node that leaves (skiff leave, kubectl delete node) and joins again (skiff join): its pod goes with the Node and a new one runs on the joined node', async () => {
    const third = c.nodes[2];
    const old = live(await pods('app=agent')).find((p) => p.spec.nodeName === third);
    expect(old).toBeDefined();
    const left = await inNode(2, ['leave', `--home=${lan.nodes[2].home}`]);
    expect(left.code, left.out).toBe(0);
    // As after kubeadm reset: the administrator deletes the Node.
    await c.kubectl.ok(['delete', 'node', third, '--wait=true']);
    // kube's pod garbage collector deletes pods bound to a Node that is gone (after its 40 s quarantine). Checked after the
    // join, so that a failure here still leaves the cluster with 3 nodes for the steps below.
    const orphanGone = await waitFor('the gone node\'s agent deleted', async () => !live(await pods('app=agent')).some((p) => p.metadata.uid === old.metadata.uid), 90_000, 1000)
      .then(() => true, () => false);
    const remaining = orphanGone ? await agentsOnePerNode(c.nodes.slice(0, 2)) : undefined;

    const token = (await c.skiff(['token', 'create'])).stdout.trim();
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const server = c.server.replace('127.0.0.1', lan.gateway);
    const joined = await inNode(2, ['join', server, `--token=${token}`, `--ca-cert-hash=${caCertHash(fs.readFileSync(path.join(c.home, 'pki', 'ca.crt'), 'utf8'))}`,
      `--node-name=${third}`, `--node-ip=${lan.nodes[2].ip}`, `--container-runtime-endpoint=${engineEndpoint(lan.nodes[2])}`, `--home=${lan.nodes[2].home}`,
      `--name=${name}`, `--cluster-cidr=${clusterCidr}`, `--service-cluster-ip-range=${serviceCidr}`]);
    expect(joined.code, joined.out).toBe(0);
    await waitFor(`${third} Ready after joining`, async () => isReady(await c.kubectl.json(['get', 'node', third])), 120_000, 1000);
    const all = await waitFor('one Ready agent per node again, the joined one included', () => agentsOnePerNode(c.nodes), 120_000, 1000);
    expect(orphanGone, 'the agent bound to the deleted Node was never deleted (no pod garbage collector)').toBe(true);
    expect(remaining, 'while the node was gone: exactly one Ready agent on each of the two others').toBeDefined();
    expect(all.find((p) => p.spec.nodeName === third).metadata.uid).not.toBe(old.metadata.uid);
  }, 420_000);

  it('a StatefulSet with a headless Service comes up web-0, web-1, web-2 in order, each with its own volume and stable name; a deleted replica comes back with its data', async () => {
    await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } });
    await apply({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: ns },
      spec: {
        serviceName: 'web', replicas: 3, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{
              name: 'web', ...busybox,
              // The first start writes the pod's name and a random token; a later start keeps what the volume holds.
              command: ['sh', '-c', "[ -f /data/index.html ] || echo \"$(hostname) $(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n')\" > /data/index.html; trap 'exit 0' TERM; httpd -f -p 80 -h /data & wait"],
              ports: [{ name: 'http', containerPort: 80 }],
              readinessProbe: { httpGet: { path: '/index.html', port: 'http' }, initialDelaySeconds: 2, periodSeconds: 1 },
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            }],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } } }],
      },
    });
    await apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: ns }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', ...busybox, command: ['sh', '-c', sleeper] }] } });
    const web = await waitFor('3 Ready web pods', async () => {
      const ps = live(await pods('app=web'));
      return ps.length === 3 && ps.every(isReady) ? ps.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)) : undefined;
    }, 240_000, 1000);
    expect(web.map((p) => p.metadata.name)).toEqual(['web-0', 'web-1', 'web-2']);
    // OrderedReady: each ordinal is created only once the one before it is Ready.
    for (let i = 1; i < 3; i++) expect(createdAt(web[i])).toBeGreaterThanOrEqual(readyAt(web[i - 1]));
    for (const p of web) {
      expect(p.spec.hostname).toBe(p.metadata.name);
      expect(p.spec.subdomain).toBe('web');
    }
    // One claim per ordinal, each bound to its own local-path volume pinned to its pod's node.
    const pvcs = (await c.kubectl.json(['-n', ns, 'get', 'pvc'])).items as any[];
    expect(pvcs.map((x) => `${x.metadata.name} ${x.status.phase}`).sort()).toEqual(['data-web-0 Bound', 'data-web-1 Bound', 'data-web-2 Bound']);
    expect(new Set(pvcs.map((x) => x.spec.volumeName)).size).toBe(3);
    for (const p of web) {
      const pvc = pvcs.find((x) => x.metadata.name === `data-${p.metadata.name}`);
      const pv = await c.kubectl.json(['get', 'pv', pvc.spec.volumeName]);
      expect(pv.spec.storageClassName).toBe('local-path');
      expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values).toEqual([p.spec.nodeName]);
    }
    await waitFor('Ready client', async () => isReady(await c.kubectl.json(['-n', ns, 'get', 'pod', 'client'])), 90_000, 1000);

    // Each replica by its stable name, from another pod: its own address, and its own volume's content.
    const contents: Record<string, string> = {};
    for (const p of web) {
      const fqdn = `${p.metadata.name}.web.${ns}.svc.cluster.local`;
      const r = await waitFor(`nslookup ${fqdn}`, async () => {
        const x = await exec('client', `nslookup ${fqdn}`);
        return x.stdout.includes(`Address: ${p.status.podIP}`) ? x : undefined;
      }, 60_000, 1000);
      expect(r.stdout).toContain(`Name:\t${fqdn}\nAddress: ${p.status.podIP}`);
      const body = (await exec('client', httpGet(fqdn, '/index.html'))).stdout.trim().split('\n').pop()!;
      expect(body).toMatch(new RegExp(`^${p.metadata.name} [0-9a-f]{16}$`));
      contents[p.metadata.name] = body;
    }
    expect(new Set(Object.values(contents)).size).toBe(3);

    // web-1 deleted: the controller makes it again, on the node its volume is pinned to, with the same content.
    const old = web[1];
    await k(['delete', 'pod', 'web-1', '--wait=true']);
    const back = await waitFor('web-1 back and Ready', async () => {
      const p = await c.kubectl.json(['-n', ns, 'get', 'pod', 'web-1']).catch(() => undefined);
      return p && p.metadata.uid !== old.metadata.uid && isReady(p) ? p : undefined;
    }, 120_000, 1000);
    expect(back.spec.nodeName).toBe(old.spec.nodeName);
    const again = await waitFor('web-1 by name again', async () => {
      const x = await exec('client', httpGet(`web-1.web.${ns}.svc.cluster.local`, '/index.html'));
      return x.stdout.includes('web-1 ') ? x.stdout.trim().split('\n').pop() : undefined;
    }, 60_000, 1000);
    expect(again).toBe(contents['web-1']);
  }, 600_000);

  it('from a pod, nslookup and an HTTP GET of web, web.<ns> and the full name work; an unknown name fails fast', async () => {
    const ips = live(await pods('app=web')).map((p) => p.status.podIP).sort();
    expect(ips).toHaveLength(3);
    // busybox's nslookup applies the search list only to names without a dot (see test/e2e/dns.test.ts); the full name is asked as is.
    for (const host of ['web', `web.${ns}.svc.cluster.local`]) {
      const r = await waitFor(`nslookup ${host} gives the 3 ready replicas`, async () => {
        const x = await exec('client', `nslookup ${host}`);
        const got = [...x.stdout.matchAll(/Address: (\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]).filter((a) => ips.includes(a)).sort();
        return JSON.stringify(got) === JSON.stringify(ips) ? x : undefined;
      }, 60_000, 1000);
      expect(r.stdout).toContain(`Name:\tweb.${ns}.svc.cluster.local`);
    }
    // The libc resolver follows ndots:5 and the search list, so web.<ns> resolves here too.
    for (const host of ['web', `web.${ns}`, `web.${ns}.svc.cluster.local`]) {
      const x = await exec('client', httpGet(host, '/index.html'));
      expect(x.stdout, `GET http://${host}/: ${x.stderr}`).toMatch(/\nweb-[012] [0-9a-f]{16}\s*$/);
    }
    const t0 = Date.now();
    const unknown = await exec('client', 'nslookup no-such-name.example');
    expect(unknown.code).not.toBe(0);
    const nc = await exec('client', httpGet(`nope.${ns}.svc.cluster.local`));
    expect(nc.code).not.toBe(0);
    expect(nc.stderr).toMatch(/bad address|can't resolve/i);
    // Both answered (NXDOMAIN/REFUSED), not resolver timeouts (5 s each, with retries); two kubectl execs take part of it.
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 180_000);

  it('a Job with completions 5 and parallelism 2 completes; a failing Job stops at backoffLimit with the Failed condition', async () => {
    const job = (jobName: string, spec: object, command: string) => ({
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: jobName, namespace: ns },
      spec: { ...spec, template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{ name: 'c', ...busybox, command: ['sh', '-c', command] }] } } },
    });
    await apply(job('five', { completions: 5, parallelism: 2 }, 'sleep 2; echo done'));
    await apply(job('fails', { backoffLimit: 1 }, 'echo failing; exit 3'));
    // While five runs, never more than 2 of its pods at once.
    let most = 0;
    const done = await waitFor('five Complete', async () => {
      const ps = await pods('job-name=five');
      most = Math.max(most, ps.filter((p) => !['Succeeded', 'Failed'].includes(p.status.phase)).length);
      const j = await c.kubectl.json(['-n', ns, 'get', 'job', 'five']);
      return j.status.conditions?.some((x: any) => x.type === 'Complete' && x.status === 'True') ? j : undefined;
    }, 180_000, 500);
    expect(done.status.succeeded).toBe(5);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    expect((await pods('job-name=five')).filter((p) => p.status.phase === 'Succeeded')).toHaveLength(5);
    expect(await k(['get', 'job', 'five', '--no-headers'])).toMatch(/^five\s+Complete\s+5\/5\s/);

    await k(['wait', '--for=condition=Failed', 'job/fails', '--timeout=120s'], { timeoutMs: 130_000 });
    const failed = await c.kubectl.json(['-n', ns, 'get', 'job', 'fails']);
    expect(failed.status.conditions.find((x: any) => x.type === 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
    // backoffLimit 1: the first pod and one retry, and no more afterwards.
    expect(failed.status.failed).toBe(2);
    expect(await pods('job-name=fails')).toHaveLength(2);
  }, 360_000);

  it('an HPA scales a Deployment up under CPU load and back down once the load stops', async () => {
    await apply({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'burn', namespace: ns },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'burn' } },
        template: { metadata: { labels: { app: 'burn' } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', ...busybox, command: ['sh', '-c', sleeper], resources: { requests: { cpu: '100m' } } }] } },
      },
    });
    await apply({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'burn', namespace: ns },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'burn' }, minReplicas: 1, maxReplicas: 3,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 5 } },
      },
    });
    const [pod] = await waitFor('a Ready burn pod', async () => { const ps = live(await pods('app=burn')); return ps.length === 1 && isReady(ps[0]) ? ps : undefined; }, 90_000, 1000);
    // Bounded load: one busy loop for at most 90 s, also if this test fails before stopping it.
    await k(['exec', pod.metadata.name, '--', 'sh', '-c', 'timeout 90 sh -c "while :; do :; done" >/dev/null 2>&1 </dev/null &']);
    try {
      const up = await waitFor('burn scaled up', async () => {
        const h = await c.kubectl.json(['-n', ns, 'get', 'hpa', 'burn']);
        return h.status?.desiredReplicas > 1 ? h : undefined;
      }, 120_000, 2000);
      expect(up.status.currentMetrics[0].resource.current.averageUtilization).toBeGreaterThan(50);
      await waitFor('more than 1 burn replica', async () => (await c.kubectl.json(['-n', ns, 'get', 'deploy', 'burn'])).spec.replicas > 1, 30_000, 1000);
    } finally {
      await kr(['exec', pod.metadata.name, '--', 'sh', '-c', 'pkill -f "while :" || true']);
    }
    await waitFor('burn scaled back to 1', async () => (await c.kubectl.json(['-n', ns, 'get', 'deploy', 'burn'])).spec.replicas === 1, 150_000, 2000);
    const events = await k(['get', 'events', '--field-selector=involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale', '-o', 'jsonpath={.items[*].message}']);
    expect(events).toMatch(/New size: [23]; reason: cpu resource utilization \(percentage of request\) above target/);
    expect(events).toMatch(/New size: 1; reason: All metrics below target/);
  }, 360_000);

  it('kubectl drain waits on a PodDisruptionBudget while it allows no disruption and proceeds once it does', async () => {
    await apply({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'guarded', namespace: ns },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'guarded' } },
        template: { metadata: { labels: { app: 'guarded' } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', ...busybox, command: ['sh', '-c', sleeper] }] } },
      },
    });
    await apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'guarded', namespace: ns }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } } });
    const [pod] = await waitFor('a Ready guarded pod', async () => { const ps = live(await pods('app=guarded')); return ps.length === 1 && isReady(ps[0]) ? ps : undefined; }, 90_000, 1000);
    await waitFor('the budget observed', async () => {
      const b = await c.kubectl.json(['-n', ns, 'get', 'pdb', 'guarded']);
      return b.status?.observedGeneration === b.metadata.generation && b.status.currentHealthy === 1 && b.status.disruptionsAllowed === 0;
    }, 60_000, 1000);
    const node = pod.spec.nodeName;
    // Only the guarded pod is evicted (--pod-selector), so the other steps' pods on that node stay.
    const drain = c.kubectl.background(['drain', node, '--pod-selector=app=guarded', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=150s']);
    try {
      const exited = new Promise<number | null>((resolve) => drain.proc.on('exit', (code) => resolve(code)));
      await waitFor('drain retrying on the budget', () => drain.output().includes('disruption budget'), 60_000, 500);
      expect(drain.output()).toMatch(/Cannot evict pod as it would violate the pod's disruption budget/);
      expect((await c.kubectl.json(['get', 'node', node])).spec.unschedulable).toBe(true);
      expect(live(await pods('app=guarded')).map((p) => p.metadata.uid)).toEqual([pod.metadata.uid]);
      // A second replica (on another node: this one is cordoned) lets the budget allow one disruption.
      await k(['scale', 'deploy/guarded', '--replicas=2']);
      const code = await Promise.race([exited, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 150_000))]);
      expect(code, drain.output()).toBe(0);
      expect(drain.output()).toContain(`node/${node} drained`);
      const left = live(await pods('app=guarded'));
      expect(left.some((p) => p.metadata.uid === pod.metadata.uid)).toBe(false);
      expect(left.every((p) => p.spec.nodeName !== node)).toBe(true);
    } finally {
      drain.stop();
      await c.kubectl.run(['uncordon', node]);
    }
  }, 300_000);

  it('a CronJob every minute creates Jobs and keeps one successful Job (successfulJobsHistoryLimit 1)', async () => {
    // Created in beforeAll; by now at least two scheduled minutes have normally passed (bounded wait otherwise).
    const cj = await waitFor('two runs of tick', async () => {
      const x = await c.kubectl.json(['-n', ns, 'get', 'cronjob', 'tick']);
      const created = ((await c.kubectl.json(['-n', ns, 'get', 'events', '--field-selector=involvedObject.name=tick,reason=SuccessfulCreate'])).items as any[])
        .reduce((n, e) => n + (e.count ?? 1), 0);
      return created >= 2 && x.status?.lastSuccessfulTime ? x : undefined;
    }, 150_000, 2000);
    expect(cj.status.lastScheduleTime).toBeDefined();
    // Give the controller its sync after the last completion to remove the older Job.
    const jobs = await waitFor('at most one tick Job kept', async () => {
      const js = ((await c.kubectl.json(['-n', ns, 'get', 'jobs'])).items as any[]).filter((j) => j.metadata.ownerReferences?.some((o: any) => o.kind === 'CronJob' && o.name === 'tick'));
      const finished = js.filter((j) => j.status.conditions?.some((x: any) => x.type === 'Complete' && x.status === 'True'));
      return finished.length === 1 ? finished : undefined;
    }, 60_000, 2000);
    expect(jobs[0].metadata.name).toMatch(/^tick-\d+$/);
    const deleted = await k(['get', 'events', '--field-selector=involvedObject.name=tick,reason=SuccessfulDelete', '-o', 'jsonpath={.items[*].message}']);
    expect(deleted).toMatch(/Deleted job tick-\d+/);
  }, 240_000);
});
