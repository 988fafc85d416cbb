import { afterEach, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { FakeClient } from '../../client/fake.js';
import { SharedInformerFactory } from '../../client/informer.js';
import { waitFor } from '../../test/util/ports.js';
import type { Controller } from '../controller.js';
import { LocalPathProvisioner } from '../localpath/provisioner.js';
import { PersistentVolumeBinder } from './binder.js';
import { PVProtectionController } from './protection.js';

const claim = (name: string, klass: string, storage = '1Gi'): KubeObject => ({
  apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default' },
  spec: { storageClassName: klass, accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, volumeMode: 'Filesystem' }, status: { phase: 'Pending' },
});
const volume = (name: string, storage: string, policy: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name, finalizers: ['kubernetes.io/pv-protection'] },
  spec: { capacity: { storage }, accessModes: ['ReadWriteOnce', 'ReadWriteMany'], storageClassName: 'manual', persistentVolumeReclaimPolicy: policy, volumeMode: 'Filesystem', hostPath: { path: `/d/${name}` }, ...extra },
  status: { phase: 'Pending' },
});

describe('persistentvolume-binder and the local-path provisioner', () => {
  const stops: (() => void)[] = [];
  afterEach(() => { for (const s of stops.splice(0)) s(); });

  function start(client: FakeClient, make: (inf: SharedInformerFactory) => Controller[]) {
    const informers = new SharedInformerFactory(client);
    const controllers = make(informers);
    informers.start();
    void informers.waitForCacheSync().then(() => controllers.forEach((c) => void c.run(1)));
    stops.push(() => { controllers.forEach((c) => c.shutDown()); informers.stop(); });
  }

  it('binds an Immediate claim to the smallest fitting volume, releases it when the claim goes, and reclaims by policy', async () => {
    const client = new FakeClient(
      [R.storageclasses, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'manual' }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'Immediate' }],
      [R.persistentvolumes, volume('big', '10Gi', 'Retain')], [R.persistentvolumes, volume('small', '2Gi', 'Delete')], [R.persistentvolumes, volume('tiny', '500Mi', 'Retain')],
      [R.persistentvolumeclaims, claim('data', 'manual')],
    );
    start(client, (informers) => [new PersistentVolumeBinder({ client, informers, syncPeriodMs: 200 }), new PVProtectionController({ client, informers })]);
    const pvs = client.resource(R.persistentvolumes);
    const claims = client.resource(R.persistentvolumeclaims, 'default');
    const bound = await waitFor('claim bound', async () => { const c = await claims.get('data'); return c.status?.phase === 'Bound' ? c : undefined; }, 5000);
    expect(bound.spec.volumeName).toBe('small');
    expect(bound.status).toMatchObject({ capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce', 'ReadWriteMany'] });
    expect(bound.metadata.annotations).toMatchObject({ 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' });
    const small = await pvs.get('small');
    expect(small.spec.claimRef).toMatchObject({ namespace: 'default', name: 'data', uid: bound.metadata.uid });
    expect(small.status.phase).toBe('Bound');
    await waitFor('others Available', async () => (await pvs.get('big')).status?.phase === 'Available' && (await pvs.get('tiny')).status?.phase === 'Available', 5000);

    // Claim deleted: the Delete volume is released and then deleted (its protection lifted, being no longer Bound).
    await claims.delete('data');
    await waitFor('small deleted', async () => !(await pvs.list()).items.some((v) => v.metadata.name === 'small'), 5000);
    // A Retain volume released by its claim stays Released.
    await claims.create(claim('keep', 'manual', '5Gi'));
    await waitFor('keep bound to big', async () => (await pvs.get('big')).status?.phase === 'Bound', 5000);
    await claims.delete('keep');
    await waitFor('big Released', async () => (await pvs.get('big')).status?.phase === 'Released', 5000);
  });

  it('local-path: the claim waits for its first consumer, gets a volume on the selected node, and the released volume is cleaned by a helper pod', async () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' }, annotations: { 'skiff.dev/local-path-root': '/var/lib/kubelet/local-path' } } };
    const client = new FakeClient([R.nodes, node], [R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } }]);
    start(client, (informers) => [new PersistentVolumeBinder({ client, informers, syncPeriodMs: 200 }), new LocalPathProvisioner({ client, informers })]);
    const classes = client.resource(R.storageclasses);
    const sc = await waitFor('default class', async () => (await classes.list()).items.find((c) => c.metadata.name === 'local-path'), 5000);
    expect(sc).toMatchObject({ provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Delete', metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } });

    const claims = client.resource(R.persistentvolumeclaims, 'default');
    const created = await claims.create(claim('data', 'local-path'));
    // The claim stays without a volume until the scheduler picks a node.
    await new Promise((r) => setTimeout(r, 300));
    expect((await client.resource(R.persistentvolumes).list()).items).toEqual([]);
    expect((await claims.get('data')).spec.volumeName).toBeUndefined();

    await claims.patch('data', 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'n1' } } });
    const bound = await waitFor('claim bound', async () => { const c = await claims.get('data'); return c.status?.phase === 'Bound' ? c : undefined; }, 5000);
    const pvName = `pvc-${created.metadata.uid}`;
    expect(bound.spec.volumeName).toBe(pvName);
    expect(bound.metadata.annotations?.['volume.kubernetes.io/storage-provisioner']).toBe('rancher.io/local-path');
    const pv = await client.resource(R.persistentvolumes).get(pvName);
    expect(pv.spec).toMatchObject({
      hostPath: { path: `/var/lib/kubelet/local-path/${pvName}`, type: 'DirectoryOrCreate' }, persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'local-path',
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] }] } },
    });
    expect(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by']).toBe('rancher.io/local-path');

    await claims.delete('data');
    const pods = client.resource<Pod>(R.pods, 'kube-system');
    const helper = await waitFor('helper pod', async () => (await pods.list()).items[0], 5000);
    expect(helper.spec).toMatchObject({ nodeName: 'n1', restartPolicy: 'Never' });
    expect(helper.spec.containers[0].command).toEqual(['rm', '-rf', `/data/${pvName}`]);
    expect(helper.spec.volumes![0].hostPath!.path).toBe('/var/lib/kubelet/local-path');
    // The volume stays until the directory is gone.
    expect((await client.resource(R.persistentvolumes).get(pvName)).status.phase).toBe('Released');
    await pods.updateStatus({ ...helper, status: { phase: 'Succeeded' } });
    await waitFor('volume deleted', async () => (await client.resource(R.persistentvolumes).list()).items.length === 0, 5000);
    await waitFor('helper deleted', async () => (await pods.list()).items.length === 0, 5000);
  });
});
