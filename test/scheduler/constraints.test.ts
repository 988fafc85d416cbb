// Scheduling constraints end to end with the real kubectl: the compiled
// scheduler and controller-manager against a real API server, simulated nodes
// (test/util/simnodes.ts) labelled with zones. Required podAntiAffinity keeps a
// replica Pending with kube's FailedScheduling message, DoNotSchedule topology
// spread balances zones and refuses to skew them, and preferred rules move pods.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Node, Pod } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startControllerManager, type ControllerManagerProcess } from '../controllers/harness.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { waitFor } from '../util/ports.js';
import { startSimNodes, type SimNodes } from '../util/simnodes.js';
import { startScheduler, type SchedulerProcess } from './process.js';

const ZONE = 'topology.kubernetes.io/zone';

function deployment(name: string, replicas: number, spec: Record<string, unknown>, cpu = '10m'): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { ...spec, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu, memory: '16Mi' } } }] },
      },
    },
  });
}

describe('scheduling constraints (kubectl)', () => {
  let api: ApiServerProcess | undefined;
  let client: RestClient;
  let kubectl: Kubectl;
  const nodeSets: SimNodes[] = [];
  let cm: ControllerManagerProcess | undefined;
  let sched: SchedulerProcess | undefined;

  async function podsOf(app: string): Promise<Pod[]> {
    return (await client.resource<Pod>(R.pods, 'default').list({ labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
  }

  async function placement(app: string, want: number, pending = 0): Promise<Pod[]> {
    return waitFor(`${want} ${app} pods, ${pending} of them Pending with PodScheduled=False`, async () => {
      const pods = await podsOf(app);
      const unscheduled = pods.filter((p) => !p.spec.nodeName);
      const verdicts = unscheduled.filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'));
      return pods.length === want && unscheduled.length === pending && verdicts.length === pending && pods;
    }, 30_000);
  }

  function perNode(pods: Pod[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of pods) if (p.spec.nodeName) out[p.spec.nodeName] = (out[p.spec.nodeName] ?? 0) + 1;
    return out;
  }

  beforeAll(async () => {
    api = await startApiServer();
    client = new RestClient(api.admin);
    kubectl = new Kubectl(api.url);
    nodeSets.push(await startSimNodes(client, { count: 2, prefix: 'n' }));
    cm = await startControllerManager(api.url);
    sched = await startScheduler(api.url, ['--leader-elect=false']);
  }, 90_000);

  afterAll(async () => {
    await sched?.stop();
    await cm?.stop();
    for (const n of nodeSets) await n.stop();
    await api?.stop();
  }, 60_000);

  it('keeps the third replica with required anti-affinity on hostname Pending over two nodes, as kube words it', async () => {
    const anti = { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'anti' } }, topologyKey: 'kubernetes.io/hostname' }] } } };
    await kubectl.ok(['apply', '-f', '-'], { input: deployment('anti', 3, anti) });
    const pods = await placement('anti', 3, 1);
    expect(perNode(pods)).toEqual({ 'n-0': 1, 'n-1': 1 });
    const pending = pods.find((p) => !p.spec.nodeName)!;
    const message = "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.";
    expect(pending.status?.conditions?.find((c) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable', message });
    const described = await waitFor('FailedScheduling in kubectl describe', async () => {
      const out = await kubectl.ok(['describe', 'pod', pending.metadata.name!]);
      return out.includes('FailedScheduling') && out;
    }, 20_000);
    expect(described).toMatch(new RegExp(`Warning\\s+FailedScheduling\\s+.*default-scheduler\\s+${message.replace(/[.()]/g, '\\$&')}`));
    expect(described).toMatch(/Status:\s+Pending/);
    await kubectl.ok(['delete', 'deployment', 'anti', '--wait=false']);
    await waitFor('anti pods gone', async () => (await podsOf('anti')).length === 0, 30_000);
  }, 90_000);

  it('spreads 4 pods 2/2 over two zones with DoNotSchedule maxSkew 1, and keeps a pod Pending rather than skew the zones', async () => {
    // Zone a: n-0 and n-1 (64 cpu each); zone b: z-0, which fits two of these pods (2 cpu, 1 each).
    nodeSets.push(await startSimNodes(client, { count: 1, prefix: 'z' }));
    const z = await client.resource<Node>(R.nodes).get('z-0');
    await client.resource<Node>(R.nodes).updateStatus({ ...z, status: { ...z.status, capacity: { ...z.status!.capacity, cpu: '2' }, allocatable: { ...z.status!.allocatable, cpu: '2' } } });
    await kubectl.ok(['label', 'node', 'n-0', 'n-1', `${ZONE}=a`]);
    await kubectl.ok(['label', 'node', 'z-0', `${ZONE}=b`]);
    const spread = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } } }] };
    await kubectl.ok(['apply', '-f', '-'], { input: deployment('spread', 4, spread, '1') });
    const zoneOf = (p: Pod) => (p.spec.nodeName === 'z-0' ? 'b' : 'a');
    const zones = (pods: Pod[]) => pods.filter((p) => p.spec.nodeName).map(zoneOf).sort().join('');
    expect(zones(await placement('spread', 4))).toBe('aabb');
    // A fifth may go to zone a (3 against 2 is a skew of 1) ...
    await kubectl.ok(['scale', 'deployment', 'spread', '--replicas=5']);
    expect(zones(await placement('spread', 5))).toBe('aaabb');
    // ... but zone b is full, so a sixth would make the skew 2: it stays Pending.
    await kubectl.ok(['scale', 'deployment', 'spread', '--replicas=6']);
    const pods = await placement('spread', 6, 1);
    const pending = pods.find((p) => !p.spec.nodeName)!;
    expect(pending.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message).toBe(
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match pod topology spread constraints. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    );
    await kubectl.ok(['delete', 'deployment', 'spread', '--wait=false']);
    await waitFor('spread pods gone', async () => (await podsOf('spread')).length === 0, 30_000);
  }, 120_000);

  it('moves pods with preferred affinity next to their peer and preferred anti-affinity away from it', async () => {
    await kubectl.ok(['run', 'db', '--image=busybox', '--labels=app=db', '--overrides', JSON.stringify({ spec: { nodeName: 'n-1' } })]);
    const near = { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' } }] } } };
    await kubectl.ok(['apply', '-f', '-'], { input: deployment('near', 4, near) });
    expect(perNode(await placement('near', 4))).toEqual({ 'n-1': 4 });
    const far = { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: ZONE } }] } } };
    await kubectl.ok(['apply', '-f', '-'], { input: deployment('far', 3, far) });
    expect(perNode(await placement('far', 3))).toEqual({ 'z-0': 3 });
  }, 90_000);
});
