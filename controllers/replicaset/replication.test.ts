import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Pod, ReplicaSet } from '../../api/types.js';
import { FakeInformerFactory, FakeRecorder, RecordingClient } from '../testing/fake.js';
import { pod, replicaSet } from '../testing/objects.js';
import { ReplicationManager } from './replication.js';

/** A ReplicationController: a ReplicaSet's shape with a plain label map as selector. */
function rc(name: string, replicas: number): ReplicaSet {
  const rs = replicaSet(name, replicas);
  return { ...rs, apiVersion: 'v1', kind: 'ReplicationController', spec: { ...rs.spec, selector: { app: name } as any } };
}

function setup(obj: ReplicaSet, pods: Pod[] = []) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const c = new ReplicationManager({ client, informers, recorder: new FakeRecorder() });
  informers.informerFor<ReplicaSet>(R.replicationcontrollers).set(obj);
  informers.informerFor<Pod>(R.pods).set(...pods);
  client.seed('replicationcontrollers', obj);
  client.seed('pods', ...pods);
  return { c, client };
}

describe('ReplicationController (replication manager over the ReplicaSet controller)', () => {
  it('creates the missing pods owned by the ReplicationController', async () => {
    const { c, client } = setup(rc('web', 2));
    await c.sync('default/web');
    const creates = client.of('create', 'pods');
    expect(creates).toHaveLength(2);
    expect(creates[0].object!.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }]);
  });

  it('counts pods matching the equality selector and writes the RC status', async () => {
    const owner = { kind: 'ReplicationController', name: 'web', uid: 'uid-web' };
    const owned = [pod('web-a', { app: 'web' }, owner), pod('web-b', { app: 'web' }, owner)];
    owned.forEach((p) => (p.metadata.ownerReferences![0].apiVersion = 'v1'));
    const { c, client } = setup(rc('web', 2), [...owned, pod('other', { app: 'db' })]);
    await c.sync('default/web');
    expect(client.of('create', 'pods')).toHaveLength(0);
    const [status] = client.of('updateStatus', 'replicationcontrollers');
    expect(status.object!.status).toMatchObject({ replicas: 2, readyReplicas: 2 });
  });

  it('adopts an orphan its selector matches', async () => {
    const { c, client } = setup(rc('web', 1), [pod('orphan', { app: 'web', tier: 'x' })]);
    await c.sync('default/web');
    expect(client.of('create', 'pods')).toHaveLength(0);
    expect((client.of('patch', 'pods')[0].patch as any).metadata.ownerReferences[0]).toMatchObject({ apiVersion: 'v1', kind: 'ReplicationController', uid: 'uid-web' });
  });
});
