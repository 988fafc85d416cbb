// The DaemonSet controller end to end with the real kubectl: the compiled
// controller-manager and scheduler against a real API server, three simulated
// nodes (test/util/simnodes.ts) of which one carries a taint the DaemonSet
// tolerates and one a taint it does not. Pods are placed by the scheduler
// through their node affinity; a new template rolls node by node; `kubectl
// rollout status|history|undo ds/X` work on the controller's history.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Pod } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startScheduler, type SchedulerProcess } from '../scheduler/process.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { waitFor } from '../util/ports.js';
import { startSimNodes, type SimNodes } from '../util/simnodes.js';
import { startControllerManager, type ControllerManagerProcess } from './harness.js';

const manifest = (image: string) => JSON.stringify({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'agent', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'agent' } },
    template: {
      metadata: { labels: { app: 'agent' } },
      spec: {
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }],
        containers: [{ name: 'agent', image, command: ['sleep', '3600'], resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
      },
    },
  },
});

describe('DaemonSet controller (kubectl)', () => {
  let api: ApiServerProcess | undefined;
  let client: RestClient;
  let kubectl: Kubectl;
  let nodes: SimNodes | undefined;
  let cm: ControllerManagerProcess | undefined;
  let sched: SchedulerProcess | undefined;

  const live = async (): Promise<Pod[]> => (await client.resource<Pod>(R.pods, 'default').list({ labelSelector: 'app=agent' })).items.filter((p) => !p.metadata.deletionTimestamp);
  // Sorted by node, so two placements compare as strings.
  const placement = (pods: Pod[]) => Object.fromEntries(pods.map((p): [string, string] => [p.spec.nodeName ?? '<none>', p.spec.containers[0].image ?? '']).sort(([a], [b]) => (a < b ? -1 : 1)));

  beforeAll(async () => {
    api = await startApiServer();
    client = new RestClient(api.admin);
    kubectl = new Kubectl(api.url);
    nodes = await startSimNodes(client, { count: 3, prefix: 'n' });
    await kubectl.ok(['taint', 'node', 'n-1', 'dedicated=infra:NoSchedule']);
    await kubectl.ok(['taint', 'node', 'n-2', 'gpu=true:NoSchedule']);
    cm = await startControllerManager(api.url, ['--controllers=daemonset-controller,garbage-collector-controller']);
    sched = await startScheduler(api.url, ['--leader-elect=false']);
  }, 90_000);

  afterAll(async () => {
    await sched?.stop();
    await cm?.stop();
    await nodes?.stop();
    await api?.stop();
  }, 60_000);

  it('runs one pod on each node it tolerates, none on the other, placed by the scheduler', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: manifest('busybox:1') });
    const pods = await waitFor('agent pods on n-0 and n-1', async () => {
      const ps = await live();
      return ps.length === 2 && ps.every((p) => p.spec.nodeName && p.status?.phase === 'Running') && ps;
    }, 30_000);
    expect(placement(pods)).toEqual({ 'n-0': 'busybox:1', 'n-1': 'busybox:1' });
    for (const p of pods) {
      const term = p.spec.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0];
      expect(term.matchFields).toEqual([{ key: 'metadata.name', operator: 'In', values: [p.spec.nodeName] }]);
      expect(p.metadata.labels!['pod-template-generation']).toBe('1');
    }
    await kubectl.ok(['rollout', 'status', 'ds/agent', '--timeout=30s']);
    const ds = await kubectl.json(['get', 'ds', 'agent', '-o', 'json']);
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberMisscheduled: 0, observedGeneration: 1 });
    const table = await kubectl.ok(['get', 'ds', 'agent']);
    expect(table).toMatch(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE/);
    expect(table).toMatch(/agent\s+2\s+2\s+2\s+2\s+2\s+<none>/);
    const described = await kubectl.ok(['describe', 'ds', 'agent']);
    expect(described).toMatch(/Desired Number of Nodes Scheduled: 2/);
    expect(described).toMatch(/Pods Status:\s+2 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed/);
    expect(described).toMatch(/Normal\s+SuccessfulCreate\s+.*daemonset-controller\s+Created pod: agent-/);
  }, 60_000);

  it('rolls a new image over every node, and rollout history and undo go back to the first', async () => {
    await kubectl.ok(['set', 'image', 'ds/agent', 'agent=busybox:2']);
    await kubectl.ok(['rollout', 'status', 'ds/agent', '--timeout=60s'], { timeoutMs: 70_000 });
    await waitFor('busybox:2 on both nodes', async () => {
      const ps = await live();
      return ps.length === 2 && JSON.stringify(placement(ps)) === JSON.stringify({ 'n-0': 'busybox:2', 'n-1': 'busybox:2' });
    }, 30_000);
    expect((await live()).every((p) => p.metadata.labels!['pod-template-generation'] === '2')).toBe(true);

    const history = await kubectl.ok(['rollout', 'history', 'ds/agent']);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const rev1 = await kubectl.ok(['rollout', 'history', 'ds/agent', '--revision=1']);
    expect(rev1).toContain('busybox:1');

    expect(await kubectl.ok(['rollout', 'undo', 'ds/agent'])).toContain('daemonset.apps/agent rolled back');
    await kubectl.ok(['rollout', 'status', 'ds/agent', '--timeout=60s'], { timeoutMs: 70_000 });
    await waitFor('busybox:1 back on both nodes', async () => {
      const ps = await live();
      return ps.length === 2 && JSON.stringify(placement(ps)) === JSON.stringify({ 'n-0': 'busybox:1', 'n-1': 'busybox:1' });
    }, 30_000);
    // The old template became revision 3, as kube renumbers a revision that comes back.
    expect(await kubectl.ok(['rollout', 'history', 'ds/agent'])).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  }, 150_000);

  it('takes the untolerated node once its taint is gone, and its pods go with the DaemonSet', async () => {
    await kubectl.ok(['taint', 'node', 'n-2', 'gpu=true:NoSchedule-']);
    await waitFor('a pod on n-2', async () => (await live()).some((p) => p.spec.nodeName === 'n-2' && p.status?.phase === 'Running'), 30_000);
    await kubectl.ok(['delete', 'ds', 'agent']);
    await waitFor('agent pods gone', async () => (await live()).length === 0, 30_000);
  }, 90_000);
});
