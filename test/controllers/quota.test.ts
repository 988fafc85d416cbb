// ReplicationControllers, LimitRanges and ResourceQuotas end to end: real etcd
// and API server (LimitRanger and ResourceQuota admission), the compiled
// controller-manager (replicationcontroller- and resourcequota-controller),
// simulated nodes, and the real kubectl.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { Kubectl } from '../util/kubectl.js';
import { waitFor } from '../util/ports.js';
import { startControllerCluster, type ControllerCluster } from './harness.js';

let c: ControllerCluster;
let kubectl: Kubectl;
beforeAll(async () => {
  c = await startControllerCluster({ nodes: 2 });
  kubectl = new Kubectl(c.api.url);
});
afterAll(async () => {
  await c?.stop();
});

async function namespace(name: string): Promise<void> {
  await c.client.resource(R.namespaces).create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

const podBody = (name: string, resources?: unknown): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: { containers: [{ name: 'app', image: 'busybox:latest', command: ['sleep', '3600'], ...(resources ? { resources } : {}) }] },
} as Pod);

/** POST a pod as the admin; the status code and, on refusal, kube's Status. */
async function postPod(ns: string, pod: Pod): Promise<{ code: number; body: any }> {
  const res = await fetch(`${c.api.url}/api/v1/namespaces/${ns}/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
  return { code: res.status, body: await res.json() };
}

const quotaOf = (ns: string, name: string) => c.client.resource<KubeObject>(R.resourcequotas, ns).get(name);

/** Until the controller has filled the quota's status (admission counts against status.hard, as kube's). */
async function quotaReady(ns: string, name: string, used?: Record<string, string>): Promise<KubeObject> {
  return waitFor(`quota ${ns}/${name} status`, async () => {
    const q = await quotaOf(ns, name);
    const ready = q.status?.hard && Object.keys(q.spec.hard).every((k) => k in q.status.hard && k in (q.status.used ?? {}));
    if (!ready) return undefined;
    if (used && Object.entries(used).some(([k, v]) => q.status.used[k] !== v)) return undefined;
    return q;
  }, 30_000, 200);
}

describe('LimitRange', () => {
  it('defaults requests and limits into a created pod and refuses one over max with kube\'s message', async () => {
    await namespace('limits');
    await kubectl.ok(['-n', 'limits', 'apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'cpu' },
      spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '128Mi' }, defaultRequest: { cpu: '200m' }, max: { cpu: '500m' } }] },
    }) });
    expect(await kubectl.ok(['-n', 'limits', 'get', 'limits'])).toMatch(/^NAME\s+CREATED AT\ncpu\s+\d{4}-\d\d-\d\dT/);
    await kubectl.ok(['-n', 'limits', 'run', 'small', '--image=busybox:latest']);
    const pod = await kubectl.json(['-n', 'limits', 'get', 'pod', 'small']);
    expect(pod.spec.containers[0].resources).toEqual({ limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '200m', memory: '128Mi' } });
    expect(pod.metadata.annotations['kubernetes.io/limit-ranger']).toBe('LimitRanger plugin set: cpu, memory request for container small; cpu, memory limit for container small');
    const big = await kubectl.run(['-n', 'limits', 'apply', '-f', '-'], { input: JSON.stringify(podBody('big', { limits: { cpu: '1' } })) });
    expect(big.code).not.toBe(0);
    expect(big.stderr).toContain('pods "big" is forbidden: maximum cpu usage per Container is 500m, but limit is 1');
  });
});

describe('ResourceQuota', () => {
  it('refuses the third pod under pods=2 with 403 and kube\'s message, and releases usage on delete', async () => {
    await namespace('quota');
    await kubectl.ok(['-n', 'quota', 'create', 'quota', 'q', '--hard=pods=2']);
    await quotaReady('quota', 'q', { pods: '0' });
    expect((await postPod('quota', podBody('a'))).code).toBe(201);
    expect((await postPod('quota', podBody('b'))).code).toBe(201);
    const third = await postPod('quota', podBody('c'));
    expect(third.code).toBe(403);
    expect(third.body).toMatchObject({ kind: 'Status', reason: 'Forbidden', message: 'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2' });
    expect(await kubectl.ok(['-n', 'quota', 'get', 'quota', 'q'])).toMatch(/q\s+\S+\s+pods: 2\/2\s*\n/);
    // A delete frees the pod's share once the controller recalculates; then a new pod fits.
    await c.client.resource(R.pods, 'quota').delete('a', { gracePeriodSeconds: 0 });
    await quotaReady('quota', 'q', { pods: '1' });
    expect((await postPod('quota', podBody('c'))).code).toBe(201);
  });

  it('admits exactly the limit of ten concurrent creates (the charge is a CAS on the quota)', async () => {
    await namespace('race');
    await c.client.resource(R.resourcequotas, 'race').create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'three' }, spec: { hard: { pods: '3' } } });
    await quotaReady('race', 'three', { pods: '0' });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => postPod('race', podBody(`p${i}`))));
    expect(results.filter((r) => r.code === 201)).toHaveLength(3);
    const refused = results.filter((r) => r.code === 403);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(r.body.message).toMatch(/exceeded quota: three, requested: pods=1, used: pods=3, limited: pods=3$/);
    expect((await c.client.resource(R.pods, 'race').list()).items).toHaveLength(3);
    expect((await quotaOf('race', 'three')).status.used).toEqual({ pods: '3' });
  });

  it('refuses a pod without requests under a quota on requests.cpu', async () => {
    await namespace('compute');
    await kubectl.ok(['-n', 'compute', 'create', 'quota', 'cpu', '--hard=requests.cpu=1,limits.cpu=2']);
    await quotaReady('compute', 'cpu');
    const bare = await postPod('compute', podBody('bare'));
    expect(bare.code).toBe(403);
    expect(bare.body.message).toBe('pods "bare" is forbidden: failed quota: cpu: must specify limits.cpu for: app; requests.cpu for: app');
    expect((await postPod('compute', podBody('sized', { requests: { cpu: '600m' }, limits: { cpu: '1' } }))).code).toBe(201);
    const q = await quotaReady('compute', 'cpu', { 'requests.cpu': '600m', 'limits.cpu': '1' });
    expect(q.status.hard).toEqual({ 'requests.cpu': '1', 'limits.cpu': '2' });
    expect(await kubectl.ok(['-n', 'compute', 'get', 'quota'])).toMatch(/cpu\s+\S+\s+requests\.cpu: 600m\/1\s+limits\.cpu: 1\/2/);
  });
});

describe('claims under a LimitRange and a ResourceQuota', () => {
  it('holds a claim to the range\'s max storage and the quota\'s requests.storage', async () => {
    await namespace('storage');
    const claim = (name: string, size: string) => JSON.stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } } });
    await kubectl.ok(['-n', 'storage', 'apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'claims' }, spec: { limits: [{ type: 'PersistentVolumeClaim', max: { storage: '2Gi' } }] } }) });
    await kubectl.ok(['-n', 'storage', 'create', 'quota', 'disk', '--hard=requests.storage=5Gi,persistentvolumeclaims=5']);
    await quotaReady('storage', 'disk', { 'requests.storage': '0', persistentvolumeclaims: '0' });
    const big = await kubectl.run(['-n', 'storage', 'apply', '-f', '-'], { input: claim('big', '3Gi') });
    expect(big.stderr).toContain('persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 3Gi');
    await kubectl.ok(['-n', 'storage', 'apply', '-f', '-'], { input: claim('one', '2Gi') });
    await kubectl.ok(['-n', 'storage', 'apply', '-f', '-'], { input: claim('two', '2Gi') });
    const third = await kubectl.run(['-n', 'storage', 'apply', '-f', '-'], { input: claim('three', '2Gi') });
    expect(third.stderr).toContain('persistentvolumeclaims "three" is forbidden: exceeded quota: disk, requested: requests.storage=2Gi, used: requests.storage=4Gi, limited: requests.storage=5Gi');
    expect((await quotaOf('storage', 'disk')).status.used).toEqual({ 'requests.storage': '4Gi', persistentvolumeclaims: '2' });
  });
});

describe('ReplicationController', () => {
  const rcPods = async () => (await c.client.resource<Pod>(R.pods, 'rc').list({ labelSelector: 'app=web' })).items.filter((p) => !p.metadata.deletionTimestamp);

  it('keeps its replicas, scales with kubectl scale and replaces a deleted pod', async () => {
    await namespace('rc');
    await kubectl.ok(['-n', 'rc', 'apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'web' },
      spec: { replicas: 3, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox:latest', command: ['sleep', '3600'] }] } } },
    }) });
    const rc = await kubectl.json(['-n', 'rc', 'get', 'rc', 'web']);
    expect(rc.spec.selector).toEqual({ app: 'web' });
    await waitFor('3 pods', async () => (await rcPods()).length === 3, 30_000, 200);
    const pods = await rcPods();
    expect(pods[0].metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'v1', kind: 'ReplicationController', name: 'web', controller: true })]);
    await waitFor('status.replicas 3', async () => (await kubectl.json(['-n', 'rc', 'get', 'rc', 'web'])).status.replicas === 3, 30_000, 200);
    expect(await kubectl.ok(['-n', 'rc', 'get', 'rc', '-o', 'wide'])).toMatch(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\nweb\s+3\s+3\s+\d\s+\S+\s+web\s+busybox:latest\s+app=web/);

    await c.client.resource(R.pods, 'rc').delete(pods[0].metadata.name!, { gracePeriodSeconds: 0 });
    await waitFor('a replacement pod', async () => {
      const now = await rcPods();
      return now.length === 3 && !now.some((p) => p.metadata.name === pods[0].metadata.name);
    }, 30_000, 200);

    const scale = JSON.parse(await kubectl.ok(['get', '--raw', '/api/v1/namespaces/rc/replicationcontrollers/web/scale']));
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { replicas: 3, selector: 'app=web' } });
    await kubectl.ok(['-n', 'rc', 'scale', 'rc', 'web', '--replicas=1']);
    await waitFor('1 pod', async () => (await rcPods()).length === 1, 30_000, 200);
    await kubectl.ok(['-n', 'rc', 'scale', 'rc', 'web', '--replicas=2']);
    await waitFor('2 pods', async () => (await rcPods()).length === 2, 30_000, 200);
    await waitFor('status.replicas 2', async () => (await kubectl.json(['-n', 'rc', 'get', 'rc', 'web'])).status.replicas === 2, 30_000, 200);
    expect((await kubectl.ok(['-n', 'rc', 'get', 'rc', '--field-selector=status.replicas=2', '-o', 'name'])).trim()).toBe('replicationcontroller/web');
    expect((await kubectl.ok(['-n', 'rc', 'get', 'rc', '--field-selector=status.replicas=3', '-o', 'name'])).trim()).toBe('');

    // The garbage collector follows the pods' owner references to the ReplicationController.
    await kubectl.ok(['-n', 'rc', 'delete', 'rc', 'web']);
    await waitFor('pods collected', async () => (await rcPods()).length === 0, 30_000, 200);
  });
});
