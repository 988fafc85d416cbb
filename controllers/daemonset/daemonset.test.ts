import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Node, Pod, Taint } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { pod as podOf } from '../testing/objects.js';
import { controllerRevisionHashLabel, newRevision, type ControllerRevision } from '../history.js';
import { DaemonSetController, type DaemonSet } from './daemonset.js';

function node(name: string, o: { labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } }, spec: { taints: o.taints } };
}

function daemonSet(o: { image?: string; nodeSelector?: Record<string, string>; tolerations?: unknown[]; strategy?: unknown } = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', uid: 'uid-agent', generation: 1, annotations: { 'deprecated.daemonset.template.generation': '1' } },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: o.image ?? 'busybox:1' }], nodeSelector: o.nodeSelector, tolerations: o.tolerations } },
      updateStrategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
    },
  };
}

function setup(ds: DaemonSet, nodes: Node[], pods: Pod[] = [], revisions: ControllerRevision[] = []) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const recorder = new FakeRecorder();
  const c = new DaemonSetController({ client, informers, recorder, now: () => new Date('2026-01-02T00:00:00Z') });
  informers.informerFor<DaemonSet>(R.daemonsets).set(ds);
  informers.informerFor<Node>(R.nodes).set(...nodes);
  informers.informerFor<Pod>(R.pods).set(...pods);
  informers.informerFor<ControllerRevision>(R.controllerrevisions).set(...revisions);
  client.seed('daemonsets', ds);
  client.seed('pods', ...pods);
  client.seed('controllerrevisions', ...revisions);
  return { c, client, recorder, informers };
}

const owner = { kind: 'DaemonSet', name: 'agent', uid: 'uid-agent' };
const hashOf = (ds: DaemonSet) => newRevision(ds, { apiVersion: 'apps/v1', kind: 'DaemonSet' }, 1).metadata.labels![controllerRevisionHashLabel];

function daemonPod(name: string, nodeName: string, hash: string, ready = true): Pod {
  const p = podOf(name, { app: 'agent', [controllerRevisionHashLabel]: hash }, owner, { node: nodeName, ready });
  return p;
}

describe('DaemonSet controller', () => {
  it('creates one pod per eligible node, pinned by node affinity and with the daemon tolerations', async () => {
    const ds = daemonSet({ nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }] });
    const nodes = [
      node('a', { labels: { disk: 'ssd' } }),
      node('b', { labels: { disk: 'ssd' }, taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] }),
      node('c', { labels: { disk: 'ssd' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }),
      node('d'),
    ];
    const { c, client } = setup(ds, nodes);
    await c.sync('default/agent');
    const creates = client.of('create', 'pods').map((a) => a.object as Pod);
    const targets = creates.map((p) => p.spec.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0].matchFields![0].values![0]);
    expect(targets.sort()).toEqual(['a', 'b']);
    const p = creates[0];
    expect(p.spec.nodeName).toBeUndefined();
    expect(p.metadata.labels).toMatchObject({ app: 'agent', 'pod-template-generation': '1', [controllerRevisionHashLabel]: hashOf(ds) });
    expect(p.spec.tolerations!.map((t) => `${t.key}:${t.effect}`)).toEqual(['dedicated:NoSchedule',
      'node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/pid-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);
    // The first revision is recorded with the template patch kubectl rollout undo applies.
    const rev = client.of('create', 'controllerrevisions')[0].object as ControllerRevision;
    expect(rev.revision).toBe(1);
    expect((rev.data as any).spec.template.$patch).toBe('replace');
  });

  it('reports status per node and removes pods from nodes that no longer qualify', async () => {
    const ds = daemonSet({ nodeSelector: { disk: 'ssd' } });
    const hash = hashOf(ds);
    const rev = newRevision(ds, { apiVersion: 'apps/v1', kind: 'DaemonSet' }, 1);
    rev.metadata.uid = 'uid-rev';
    const { c, client } = setup(ds, [node('a', { labels: { disk: 'ssd' } }), node('b')], [daemonPod('agent-a', 'a', hash), daemonPod('agent-b', 'b', hash)], [rev]);
    await c.sync('default/agent');
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['agent-b']);
    expect(client.of('create', 'controllerrevisions')).toHaveLength(0);
    const status = client.of('updateStatus', 'daemonsets')[0].object!.status;
    expect(status).toMatchObject({ desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 1, numberReady: 1, updatedNumberScheduled: 1, numberAvailable: 1, numberUnavailable: 0, observedGeneration: 1 });
  });

  it('rolls a new template one node at a time within maxUnavailable', async () => {
    const old = daemonSet({ image: 'busybox:1' });
    const ds = daemonSet({ image: 'busybox:2' });
    const oldRev = newRevision(old, { apiVersion: 'apps/v1', kind: 'DaemonSet' }, 1);
    const oldHash = hashOf(old);
    const pods = ['a', 'b', 'c'].map((n) => daemonPod(`agent-${n}`, n, oldHash));
    const { c, client } = setup(ds, [node('a'), node('b'), node('c')], pods, [oldRev]);
    await c.sync('default/agent');
    expect(client.of('create', 'controllerrevisions')[0].object!.revision).toBe(2);
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['agent-a']);
    expect(client.of('create', 'pods')).toHaveLength(0);
  });

  it('surges a new pod before deleting the old one with maxSurge', async () => {
    const old = daemonSet({ image: 'busybox:1' });
    const ds = daemonSet({ image: 'busybox:2', strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
    const oldHash = hashOf(old);
    const newHash = hashOf(ds);
    const pods = [daemonPod('agent-a', 'a', oldHash), daemonPod('agent-b', 'b', oldHash), daemonPod('agent-a2', 'a', newHash)];
    const { c, client } = setup(ds, [node('a'), node('b')], pods);
    await c.sync('default/agent');
    // a's new pod is available: its old pod goes, and the surge budget moves on to b, whose old pod stays for now.
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['agent-a']);
    const created = client.of('create', 'pods').map((a) => a.object as Pod);
    expect(created.map((p) => p.spec.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0].matchFields![0].values)).toEqual([['b']]);
  });

  it('leaves old pods alone with OnDelete, and replaces a deleted one with the new template', async () => {
    const old = daemonSet({ image: 'busybox:1' });
    const ds = daemonSet({ image: 'busybox:2', strategy: { type: 'OnDelete' } });
    const { c, client } = setup(ds, [node('a'), node('b')], [daemonPod('agent-a', 'a', hashOf(old))]);
    await c.sync('default/agent');
    expect(client.of('delete', 'pods')).toHaveLength(0);
    const created = client.of('create', 'pods').map((a) => a.object as Pod);
    expect(created).toHaveLength(1);
    expect(created[0].spec.containers[0].image).toBe('busybox:2');
  });

  it('replaces a failed daemon pod, backing off when the pods on its node keep failing', async () => {
    const ds = daemonSet();
    const hash = hashOf(ds);
    const rev = newRevision(ds, { apiVersion: 'apps/v1', kind: 'DaemonSet' }, 1);
    const failed = (name: string) => {
      const p = daemonPod(name, 'a', hash);
      p.status!.phase = 'Failed';
      return p;
    };
    const { c, client, recorder, informers } = setup(ds, [node('a')], [failed('agent-x')], [rev]);
    await c.sync('default/agent');
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['agent-x']);
    expect(recorder.events).toContain('Warning FailedDaemonPod Found failed daemon pod default/agent-x on node a, will try to kill it');
    // Its replacement fails at once: within the back-off it stays until the delay has run.
    const pods = informers.informerFor<Pod>(R.pods);
    pods.emitDelete(pods.get('default/agent-x')!);
    pods.emitAdd(failed('agent-y'));
    client.seed('pods', failed('agent-y'));
    await c.sync('default/agent');
    expect(client.of('delete', 'pods').map((a) => a.name)).toEqual(['agent-x']);
  });

  it('moves an older revision to the newest number when its template comes back (rollout undo)', async () => {
    const v1 = daemonSet({ image: 'busybox:1' });
    const v2 = daemonSet({ image: 'busybox:2' });
    const r1 = { ...newRevision(v1, { apiVersion: 'apps/v1', kind: 'DaemonSet' }, 1) } as KubeObject;
    const r2 = { ...newRevision(v2, { apiVersion: 'apps/v1', kind: 'DaemonSet' }, 2) } as KubeObject;
    const { c, client } = setup(v1, [], [], [r1, r2]);
    await c.sync('default/agent');
    const updates = client.of('update', 'controllerrevisions');
    expect(updates.map((a) => [a.name, a.object!.revision])).toEqual([[r1.metadata.name, 3]]);
  });
});
