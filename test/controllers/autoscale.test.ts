// PodDisruptionBudgets, eviction, the HPA and events.k8s.io end to end: the
// compiled API server and controller-manager (disruption-controller,
// horizontal-pod-autoscaler-controller, replicaset, deployment) on a real
// etcd, simulated nodes, and the real kubectl. The eviction subresource
// answers 429 while the budget is spent and succeeds once the controller
// has counted the replacement; `kubectl drain` waits on a budget and
// finishes when it allows; `kubectl autoscale` makes an HPA that scales its
// Deployment to minReplicas and shows kube's TARGETS; an HPA scales up from
// the usage metrics.k8s.io reports (a stand-in kubelet's /stats/summary on
// loopback, with the test CA's serving pair); an Event written at
// core v1 is read and watched at events.k8s.io/v1 and the reverse.

import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findByPlural, R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { StatusError } from '../../api/errors.js';
import { RestClient } from '../../client/rest.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { waitFor } from '../util/ports.js';
import { startSimNodes, type SimNodes } from '../util/simnodes.js';
import { startControllerManager, type ControllerManagerProcess } from './harness.js';
import { testPKI } from '../util/pki.js';

const eventsV1 = findByPlural('events.k8s.io', 'v1', 'events')!;

function deployment(name: string, replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox:1', command: ['sleep', '3600'], resources: { requests: { cpu: '100m' } } }] } },
    },
  };
}

describe('disruption budgets, eviction, HPA and events.k8s.io', () => {
  let api: ApiServerProcess | undefined;
  let client: RestClient;
  let kubectl: Kubectl;
  let nodes: SimNodes | undefined;
  let cm: ControllerManagerProcess | undefined;

  const livePods = async (app: string): Promise<Pod[]> => (await client.resource<Pod>(R.pods, 'default').list({ labelSelector: `app=${app}` })).items
    .filter((p) => !p.metadata.deletionTimestamp);
  const readyPods = (app: string, n: number) => waitFor(`${n} ready ${app} pods`, async () => {
    const ps = await livePods(app);
    return ps.length === n && ps.every((p) => p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')) && ps;
  }, 60_000);
  const pdbStatus = (name: string, want: (s: any) => boolean) => waitFor(`pdb ${name} status`, async () => {
    const p = await client.resource(R.poddisruptionbudgets, 'default').get(name);
    return (p.status?.observedGeneration ?? 0) >= (p.metadata.generation ?? 1) && want(p.status) && p;
  }, 60_000);
  const evict = async (name: string) => {
    try {
      await client.resource(R.pods, 'default').createSubresource(name, 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } });
      return undefined;
    } catch (e) {
      if (e instanceof StatusError) return e;
      throw e;
    }
  };

  beforeAll(async () => {
    api = await startApiServer();
    client = new RestClient(api.admin);
    kubectl = new Kubectl(api.url);
    nodes = await startSimNodes(client, { count: 3, prefix: 'n', bind: true });
    cm = await startControllerManager(api.url, ['--controllers=replicaset-controller,deployment-controller,disruption-controller,horizontal-pod-autoscaler-controller',
      '--horizontal-pod-autoscaler-sync-period=1s', '--horizontal-pod-autoscaler-cpu-initialization-period=1s']);
  }, 90_000);

  afterAll(async () => {
    await cm?.stop();
    await nodes?.stop();
    await api?.stop();
  }, 60_000);

  it('evicts while the budget allows, answers 429 when it is spent, and again once the replacement is ready', async () => {
    await client.resource(R.deployments, 'default').create(deployment('web', 3));
    await readyPods('web', 3);
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'default' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } }) });
    await pdbStatus('web', (s) => s.disruptionsAllowed === 1 && s.currentHealthy === 3 && s.desiredHealthy === 2 && s.expectedPods === 3);
    const table = await kubectl.ok(['get', 'pdb', 'web']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE$/);
    expect(table.split('\n')[1]).toMatch(/^web\s+2\s+N\/A\s+1\s+\d+s$/);

    const [a, b] = await livePods('web');
    expect(await evict(a.metadata.name!)).toBeUndefined();
    const refused = await evict(b.metadata.name!);
    expect(refused?.code).toBe(429);
    expect(refused?.status.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(refused?.status.details?.causes?.[0]).toMatchObject({ reason: 'DisruptionBudget' });
    expect(refused?.status.details?.causes?.[0].message).toMatch(/^The disruption budget web needs 2 healthy pods and has \d currently$/);
    // The spent eviction is recorded in the budget until the controller sees the pod gone.
    const spent = await client.resource(R.poddisruptionbudgets, 'default').get('web');
    expect(spent.status.disruptionsAllowed).toBe(0);

    await readyPods('web', 3);
    await pdbStatus('web', (s) => s.disruptionsAllowed === 1 && !s.disruptedPods?.[a.metadata.name!]);
    expect(await evict(b.metadata.name!)).toBeUndefined();
  }, 120_000);

  it('kubectl drain waits on a budget and finishes once it allows', async () => {
    await readyPods('web', 3);
    await kubectl.ok(['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":3}}']);
    await pdbStatus('web', (s) => s.disruptionsAllowed === 0 && s.desiredHealthy === 3);
    const onNode = (await livePods('web')).map((p) => p.spec.nodeName!);
    const node = onNode[0];
    const drain = kubectl.background(['drain', node, '--ignore-daemonsets', '--timeout=90s']);
    try {
      await waitFor('drain to hit the budget', async () => drain.output().includes("Cannot evict pod as it would violate the pod's disruption budget."), 30_000);
      expect(drain.output()).toMatch(/will retry after 5s/);
      await kubectl.ok(['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":2}}']);
      const code = await new Promise<number | null>((resolve) => drain.proc.once('exit', (c) => resolve(c)));
      expect(code, drain.output()).toBe(0);
      expect(drain.output()).toMatch(new RegExp(`node/${node} drained`));
    } finally {
      drain.stop();
      await kubectl.run(['uncordon', node]);
    }
  }, 150_000);

  it('kubectl autoscale makes an HPA that scales its Deployment to minReplicas and shows kube\'s TARGETS', async () => {
    await client.resource(R.deployments, 'default').create(deployment('hpa', 1));
    await readyPods('hpa', 1);
    await kubectl.ok(['autoscale', 'deployment/hpa', '--cpu-percent=50', '--min=2', '--max=5']);
    await readyPods('hpa', 2);
    const hpa = await waitFor('hpa status', async () => {
      const h = await client.resource(R.horizontalpodautoscalers, 'default').get('hpa');
      // The rescale's own condition lasts one sync period; lastScaleTime stays.
      return h.status?.lastScaleTime && h.status?.desiredReplicas === 2 && h;
    }, 30_000);
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
    const events = await kubectl.ok(['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale', '-o', 'jsonpath={.items[*].message}']);
    expect(events).toContain('New size: 2; reason: Current number of replicas below Spec.MinReplicas');
    // Simulated nodes have no kubelet to report usage: the metric is unknown, as kube shows it.
    const table = await kubectl.ok(['get', 'hpa', 'hpa']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE$/);
    expect(table.split('\n')[1]).toMatch(/^hpa\s+Deployment\/hpa\s+cpu: <unknown>\/50%\s+2\s+5\s+\d\s+\d+s$/);
    const raw = await client.request('GET', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/hpa');
    expect(raw.body).toMatchObject({ apiVersion: 'autoscaling/v1', spec: { targetCPUUtilizationPercentage: 50, minReplicas: 2, maxReplicas: 5 }, status: { desiredReplicas: 2 } });
    const v1 = await kubectl.json(['get', 'horizontalpodautoscalers.v1.autoscaling', 'hpa']);
    expect(v1.apiVersion).toBe('autoscaling/v1');
    expect(v1.spec.targetCPUUtilizationPercentage).toBe(50);
    const groups = await client.request('GET', '/apis/autoscaling');
    expect(groups.body.preferredVersion.version).toBe('v2');
    // kube's own schema descriptions, and kubectl's describe of the v2 object.
    expect(await kubectl.ok(['explain', 'hpa.spec.behavior'])).toMatch(/GROUP:\s+autoscaling\s+KIND:\s+HorizontalPodAutoscaler\s+VERSION:\s+v2/);
    expect(await kubectl.ok(['explain', 'pdb.spec.unhealthyPodEvictionPolicy'])).toContain('IfHealthyBudget');
    const described = await kubectl.ok(['describe', 'hpa', 'hpa']);
    expect(described).toMatch(/Reference:\s+Deployment\/hpa/);
    expect(described).toMatch(/Min replicas:\s+2/);
    expect(described).toMatch(/AbleToScale\s+True/);
  }, 120_000);

  it('scales a Deployment up from the CPU usage metrics.k8s.io reports', async () => {
    // A stand-in kubelet on loopback whose /stats/summary says each burn pod uses 150m (150% of its request).
    const pki = await testPKI();
    const usageNanoCores = 150_000_000;
    const kubelet = https.createServer({ cert: fs.readFileSync(pki.serving.certFile), key: fs.readFileSync(pki.serving.keyFile) }, (req, res) => {
      if (req.url !== '/stats/summary') {
        res.writeHead(404).end();
        return;
      }
      void livePods('burn').then((ps) => {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
          node: { nodeName: 'metrics-0', cpu: { usageNanoCores: 0 }, memory: { workingSetBytes: 0 } },
          pods: ps.map((p) => ({ podRef: { name: p.metadata.name, namespace: 'default' }, containers: [{ name: 'c', cpu: { usageNanoCores }, memory: { workingSetBytes: 1 << 20 } }] })),
        }));
      });
    });
    await new Promise<void>((resolve) => kubelet.listen(0, '127.0.0.1', resolve));
    try {
      const port = (kubelet.address() as AddressInfo).port;
      const node = await client.resource(R.nodes).create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'metrics-0' }, spec: { unschedulable: true } });
      await client.resource(R.nodes).updateStatus({ ...node, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } });
      await client.resource(R.deployments, 'default').create(deployment('burn', 1));
      await readyPods('burn', 1);
      await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'burn', namespace: 'default' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'burn' }, minReplicas: 1, maxReplicas: 4,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] } }) });
      // 150% against 50%: ceil(3 * 1) = 3 replicas on the first sync.
      await waitFor('burn scaled up', async () => ((await client.resource(R.deployments, 'default').get('burn')).spec.replicas ?? 1) >= 3, 60_000);
      const events = await kubectl.ok(['get', 'events', '--field-selector', 'involvedObject.name=burn,reason=SuccessfulRescale', '-o', 'jsonpath={.items[*].message}']);
      expect(events).toContain('New size: 3; reason: cpu resource utilization (percentage of request) above target');
      const table = await waitFor('TARGETS with the usage', async () => {
        const t = await kubectl.ok(['get', 'hpa', 'burn', '--no-headers']);
        return /cpu: 150%\/50%/.test(t) && t;
      }, 30_000);
      expect(table).toMatch(/^burn\s+Deployment\/burn\s+cpu: 150%\/50%\s+1\s+4\s+\d\s+\d+s/);
      const hpa = await client.resource(R.horizontalpodautoscalers, 'default').get('burn');
      expect(hpa.status.currentMetrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 150, averageValue: '150m' } } }]);
      expect(hpa.status.conditions.find((c: { type: string }) => c.type === 'ScalingActive')).toMatchObject({ status: 'True', reason: 'ValidMetricFound' });
    } finally {
      await client.resource(R.horizontalpodautoscalers, 'default').delete('burn').catch(() => {});
      await client.resource(R.nodes).delete('metrics-0').catch(() => {});
      await new Promise((resolve) => kubelet.close(resolve));
      kubelet.closeAllConnections();
    }
  }, 120_000);

  it('reads and watches an Event written at core v1 through events.k8s.io/v1, and the reverse', async () => {
    const seen: KubeObject[] = [];
    const w = client.resource(eventsV1, 'default').watch({ fieldSelector: 'metadata.name=via-core' }, (e) => { if (e.type === 'ADDED') seen.push(e.object as KubeObject); });
    try {
      await client.resource(R.events, 'default').create({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'via-core', namespace: 'default' },
        involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Tested', message: 'written at core v1', type: 'Normal', source: { component: 'tester' } });
      const got = await client.resource(eventsV1, 'default').get('via-core');
      expect(got).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'written at core v1', regarding: { kind: 'Pod', name: 'p' }, deprecatedSource: { component: 'tester' } });
      await waitFor('watch event', async () => seen.length > 0, 10_000);
      expect(seen[0]).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'written at core v1' });
      expect(seen[0].metadata.resourceVersion).toBe(got.metadata.resourceVersion);
    } finally {
      w.stop();
    }
    await kubectl.ok(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'via-events', namespace: 'default' },
      eventTime: '2026-01-01T00:00:00.000000Z', reportingController: 'example.com/tester', reportingInstance: 'tester-1', action: 'Test', reason: 'Tested', type: 'Warning',
      note: 'written at events.k8s.io/v1', regarding: { kind: 'Pod', name: 'p', namespace: 'default' } }) });
    const core = await client.resource(R.events, 'default').get('via-events');
    expect(core).toMatchObject({ apiVersion: 'v1', message: 'written at events.k8s.io/v1', reportingComponent: 'example.com/tester', involvedObject: { name: 'p' } });
    const listed = await kubectl.ok(['get', 'events.v1.events.k8s.io', '--field-selector', 'metadata.name=via-events']);
    expect(listed).toMatch(/Warning\s+Tested\s+pod\/p\s+written at events\.k8s\.io\/v1/);
    const refused = await kubectl.run(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'bad', namespace: 'default' }, eventTime: '2026-01-01T00:00:00.000000Z', type: 'Normal' }) });
    expect(refused.stderr).toContain('reportingController: Required value');
  }, 60_000);
});
