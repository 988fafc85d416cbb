// The ServiceAccount plugin inside the store's write path (memory storage), as
// the API server runs it: admit before defaults and validation, validate after.

import { beforeEach, describe, expect, it } from 'vitest';
import { StatusError } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { Store } from '../registry/store.js';
import { MemoryStorage } from '../storage/memory.js';
import { AdmissionChain } from './chain.js';
import { ServiceAccountAdmission, tokenVolumeSource } from './serviceaccount.js';

const admin = { username: 'admin', groups: ['system:masters'] };
let pods: Store;
let sas: Store;
let chain: AdmissionChain;
let lookups: string[];

beforeEach(() => {
  const storage = new MemoryStorage();
  const phase = async () => 'Active' as const;
  pods = new Store(R.pods, storage, '/registry', phase);
  sas = new Store(R.serviceaccounts, storage, '/registry', phase);
  lookups = [];
  chain = new AdmissionChain([new ServiceAccountAdmission({
    getServiceAccount: async (ns, name) => {
      lookups.push(`${ns}/${name}`);
      return sas.get(ns, name).catch(() => undefined);
    },
    retryDelayMs: () => 1,
    suffix: () => 'x7q2z',
  })]);
});

const sa = (name: string, extra: Partial<KubeObject> = {}) => sas.create('default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name }, ...extra });

function create(pod: Partial<KubeObject> & { spec: any }, ns = 'default'): Promise<KubeObject> {
  const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, ...pod } as KubeObject;
  return pods.create(ns, obj, { admission: chain.forRequest({ user: admin, operation: 'CREATE', resource: R.pods, namespace: ns }) });
}

async function refusal(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error('accepted');
}

const mount = { name: 'kube-api-access-x7q2z', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' };

describe('ServiceAccount admission', () => {
  it('runs a pod as "default" and mounts kube\'s projected token volume in every container', async () => {
    await sa('default');
    const pod = await create({ spec: { initContainers: [{ name: 'init', image: 'busybox' }], containers: [{ name: 'a', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }, { name: 'b', image: 'busybox' }], volumes: [{ name: 'data', emptyDir: {} }] } });
    expect(pod.spec.serviceAccountName).toBe('default');
    expect(pod.spec.serviceAccount).toBe('default');
    expect(pod.spec.volumes).toEqual([{ name: 'data', emptyDir: {} }, {
      name: 'kube-api-access-x7q2z',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    }]);
    expect(pod.spec.initContainers[0].volumeMounts).toEqual([mount]);
    expect(pod.spec.containers[0].volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }, mount]);
    expect(pod.spec.containers[1].volumeMounts).toEqual([mount]);
  });

  it('refuses a pod whose ServiceAccount does not exist, with kube\'s message, after retrying "default"', async () => {
    const named = await refusal(create({ spec: { serviceAccountName: 'robot', containers: [{ name: 'a', image: 'busybox' }] } }));
    expect(named.code).toBe(403);
    expect(named.message).toBe('pods "web" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found');
    expect(lookups).toEqual(['default/robot']);
    lookups = [];
    const dflt = await refusal(create({ spec: { containers: [{ name: 'a', image: 'busybox' }] } }));
    expect(dflt.message).toBe('pods "web" is forbidden: error looking up service account default/default: serviceaccount "default" not found');
    expect(lookups).toHaveLength(10);
  });

  it('honours automountServiceAccountToken: the pod\'s choice first, then the ServiceAccount\'s', async () => {
    await sa('quiet', { automountServiceAccountToken: false });
    await sa('default');
    const off = await create({ spec: { serviceAccountName: 'quiet', containers: [{ name: 'a', image: 'busybox' }] } });
    expect(off.spec.volumes).toBeUndefined();
    expect(off.spec.containers[0].volumeMounts).toBeUndefined();
    const podOn = await create({ metadata: { name: 'on' }, spec: { serviceAccountName: 'quiet', automountServiceAccountToken: true, containers: [{ name: 'a', image: 'busybox' }] } });
    expect(podOn.spec.containers[0].volumeMounts).toEqual([mount]);
    const podOff = await create({ metadata: { name: 'off' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'a', image: 'busybox' }] } });
    expect(podOff.spec.volumes).toBeUndefined();
  });

  it('keeps a container\'s own mount at the token path and reuses an existing kube-api-access volume', async () => {
    await sa('default');
    const own = await create({ spec: { containers: [{ name: 'a', image: 'busybox', volumeMounts: [{ name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }], volumes: [{ name: 'mine', emptyDir: {} }] } });
    expect(own.spec.volumes).toEqual([{ name: 'mine', emptyDir: {} }]);
    const reuse = await create({ metadata: { name: 'reuse' }, spec: { containers: [{ name: 'a', image: 'busybox' }], volumes: [{ name: 'kube-api-access-abcde', projected: tokenVolumeSource() }] } });
    expect(reuse.spec.volumes.map((v: { name: string }) => v.name)).toEqual(['kube-api-access-abcde']);
    expect(reuse.spec.containers[0].volumeMounts).toEqual([{ ...mount, name: 'kube-api-access-abcde' }]);
  });

  it('reads the deprecated spec.serviceAccount and copies the ServiceAccount\'s imagePullSecrets', async () => {
    await sa('builder', { imagePullSecrets: [{ name: 'registry' }] });
    const pod = await create({ spec: { serviceAccount: 'builder', containers: [{ name: 'a', image: 'busybox' }] } });
    expect([pod.spec.serviceAccountName, pod.spec.serviceAccount]).toEqual(['builder', 'builder']);
    expect(pod.spec.imagePullSecrets).toEqual([{ name: 'registry' }]);
    const own = await create({ metadata: { name: 'own' }, spec: { serviceAccountName: 'builder', imagePullSecrets: [{ name: 'mine' }], containers: [{ name: 'a', image: 'busybox' }] } });
    expect(own.spec.imagePullSecrets).toEqual([{ name: 'mine' }]);
  });

  it('leaves mirror pods alone, and refuses those that reference a ServiceAccount or a Secret', async () => {
    const annotations = { 'kubernetes.io/config.mirror': 'hash' };
    const mirror = await create({ metadata: { name: 'static', annotations }, spec: { nodeName: 'n1', containers: [{ name: 'a', image: 'busybox' }] } });
    expect(mirror.spec.serviceAccountName).toBeUndefined();
    expect(mirror.spec.volumes).toBeUndefined();
    expect(lookups).toEqual([]);
    const withSA = await refusal(create({ metadata: { name: 'm1', annotations }, spec: { serviceAccountName: 'default', containers: [{ name: 'a', image: 'busybox' }] } }));
    expect(withSA.message).toBe('pods "m1" is forbidden: a mirror pod may not reference service accounts');
    const withSecret = await refusal(create({ metadata: { name: 'm2', annotations }, spec: { containers: [{ name: 'a', image: 'busybox', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }] } }));
    expect(withSecret.message).toBe('pods "m2" is forbidden: a mirror pod may not reference secrets');
  });

  it('does not touch updates, and a pod\'s ServiceAccount cannot change', async () => {
    await sa('default');
    await sa('other');
    const pod = await create({ spec: { containers: [{ name: 'a', image: 'busybox' }] } });
    const update = (mutate: (p: KubeObject) => void) => pods.update('default', 'web', (cur) => {
      mutate(cur!);
      return cur!;
    }, { admission: chain.forRequest({ user: admin, operation: 'UPDATE', resource: R.pods, namespace: 'default', name: 'web' }) });
    const labelled = await update((p) => { p.metadata.labels = { a: 'b' }; });
    expect(labelled.object.spec).toEqual(pod.spec);
    const e = await refusal(update((p) => { p.spec.serviceAccountName = 'other'; delete p.spec.serviceAccount; }));
    expect(e.code).toBe(422);
    expect(e.message).toMatch(/^Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than/);
  });

  it('ignores everything but pods', async () => {
    const plugin = new ServiceAccountAdmission({ getServiceAccount: async () => { throw new Error('not asked'); } });
    const cm = { metadata: { name: 'c' }, data: {} };
    await plugin.admit({ user: admin, operation: 'CREATE', resource: R.configmaps, subresource: '', namespace: 'default', name: 'c', object: cm, dryRun: false, warnings: [] });
    await plugin.admit({ user: admin, operation: 'CREATE', resource: R.pods, subresource: 'binding', namespace: 'default', name: 'p', object: { metadata: {}, target: {} }, dryRun: false, warnings: [] });
    expect(cm).toEqual({ metadata: { name: 'c' }, data: {} });
  });
});
