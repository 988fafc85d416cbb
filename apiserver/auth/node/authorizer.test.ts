import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../../../api/types.js';
import { MemoryStorage } from '../../storage/memory.js';
import type { Attributes } from '../types.js';
import { NodeAuthorizer, type NodeAttributes } from './authorizer.js';
import { NodeGraph } from './graph.js';
import { nodeIdentity } from './identity.js';

const prefix = '/registry/pods/';
const node = (name: string) => ({ username: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });

function pod(ns: string, name: string, nodeName: string | undefined, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { namespace: ns, name, uid: `uid-${ns}-${name}`, ...meta },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }], ...spec },
  };
}

function attrs(user: Attributes['user'], verb: string, resource: string, o: Partial<NodeAttributes> = {}): NodeAttributes {
  return { user, verb, resourceRequest: true, path: '', apiGroup: '', apiVersion: 'v1', resource, subresource: '', namespace: '', name: '', ...o };
}

const storages: { a: NodeAuthorizer }[] = [];
afterEach(() => {
  for (const s of storages.splice(0)) s.a.stop();
});

async function authorizerWith(pods: KubeObject[], opts: { authorizeWithSelectors?: boolean } = {}): Promise<{ a: NodeAuthorizer; storage: MemoryStorage }> {
  const storage = new MemoryStorage();
  for (const p of pods) await storage.create(`${prefix}${p.metadata.namespace}/${p.metadata.name}`, p);
  const a = new NodeAuthorizer({ storage, podsPrefix: prefix, retryMs: 10, ...opts });
  storages.push({ a });
  await a.start();
  return { a, storage };
}

describe('nodeIdentity', () => {
  it.each([
    [{ username: 'system:node:n1', groups: ['system:nodes'] }, true, 'n1'],
    [{ username: 'system:node:', groups: ['system:nodes'] }, true, ''],
    [{ username: 'system:node:n1', groups: ['system:authenticated'] }, false, ''],
    [{ username: 'alice', groups: ['system:nodes'] }, false, ''],
  ])('%j -> isNode %s, name %j', (user, isNode, nodeName) => {
    expect(nodeIdentity(user)).toEqual({ isNode, nodeName });
  });
});

describe('NodeGraph', () => {
  const p = pod('ns', 'web', 'n1', {
    serviceAccountName: 'sa',
    imagePullSecrets: [{ name: 'pull' }],
    containers: [{
      name: 'c', image: 'x',
      env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'k' } } }],
      envFrom: [{ secretRef: { name: 'envfrom-secret' } }, { configMapRef: { name: 'envfrom-cm' } }],
    }],
    initContainers: [{ name: 'i', image: 'x', envFrom: [{ secretRef: { name: 'init-secret' } }] }],
    volumes: [
      { name: 'v1', secret: { secretName: 'vol-secret' } },
      { name: 'v2', configMap: { name: 'vol-cm' } },
      { name: 'v3', projected: { sources: [{ secret: { name: 'proj-secret' } }, { configMap: { name: 'proj-cm' } }] } },
      { name: 'v4', persistentVolumeClaim: { claimName: 'claim' } },
      { name: 'v5', ephemeral: { volumeClaimTemplate: {} } },
      { name: 'v6', csi: { driver: 'd', nodePublishSecretRef: { name: 'csi-secret' } } },
    ],
  });

  it.each([
    ['secret', 'pull'], ['secret', 'env-secret'], ['secret', 'envfrom-secret'], ['secret', 'init-secret'], ['secret', 'vol-secret'],
    ['secret', 'proj-secret'], ['secret', 'csi-secret'], ['configmap', 'env-cm'], ['configmap', 'envfrom-cm'], ['configmap', 'vol-cm'],
    ['configmap', 'proj-cm'], ['pvc', 'claim'], ['pvc', 'web-v5'], ['serviceAccount', 'sa'], ['pod', 'web'],
  ] as const)('links %s %s to the pod\'s node only', (type, name) => {
    const g = new NodeGraph();
    g.updatePod(p);
    g.updatePod(pod('ns', 'other', 'n2'));
    expect(g.hasPathFrom('n1', type, 'ns', name)).toEqual({ ok: true });
    expect(g.hasPathFrom('n2', type, 'ns', name).ok).toBe(false);
    expect(g.hasPathFrom('n1', type, 'other-ns', name).ok).toBe(false);
  });

  it('words the three ways a path is missing as kube does', () => {
    const g = new NodeGraph();
    g.updatePod(pod('ns', 'a', 'n1', { volumes: [{ name: 'v', secret: { secretName: 's' } }] }));
    g.updatePod(pod('ns', 'b', 'n2'));
    expect(g.hasPathFrom('n9', 'secret', 'ns', 's')).toEqual({ ok: false, error: "unknown node 'n9' cannot get secret ns/s" });
    expect(g.hasPathFrom('n1', 'secret', 'ns', 'x')).toEqual({ ok: false, error: "node 'n1' cannot get unknown secret ns/x" });
    expect(g.hasPathFrom('n2', 'secret', 'ns', 's')).toEqual({ ok: false, error: "node 'n2' cannot get secret ns/s, no relationship to this object was found in the node authorizer graph" });
  });

  it('keeps an edge while any pod on the node still makes it, and drops it with the last', () => {
    const g = new NodeGraph();
    const vol = { volumes: [{ name: 'v', secret: { secretName: 's' } }] };
    g.updatePod(pod('ns', 'a', 'n1', vol));
    g.updatePod(pod('ns', 'b', 'n1', vol));
    g.deletePod('ns', 'a');
    expect(g.hasPathFrom('n1', 'secret', 'ns', 's').ok).toBe(true);
    g.deletePod('ns', 'b');
    expect(g.hasPathFrom('n1', 'secret', 'ns', 's').ok).toBe(false);
    expect(g.size).toBe(0);
  });

  it('ignores unbound pods and gives mirror pods no edges beyond the pod itself', () => {
    const g = new NodeGraph();
    g.updatePod(pod('ns', 'pending', undefined, { volumes: [{ name: 'v', secret: { secretName: 's' } }] }));
    expect(g.size).toBe(0);
    g.updatePod(pod('ns', 'mirror', 'n1', { serviceAccountName: 'sa', volumes: [{ name: 'v', secret: { secretName: 's' } }] }, { annotations: { 'kubernetes.io/config.mirror': 'x' } }));
    expect(g.hasPathFrom('n1', 'pod', 'ns', 'mirror').ok).toBe(true);
    expect(g.hasPathFrom('n1', 'secret', 'ns', 's').ok).toBe(false);
    expect(g.hasPathFrom('n1', 'serviceAccount', 'ns', 'sa').ok).toBe(false);
  });

  it('rebuilds a pod recreated under the same name with a new uid', () => {
    const g = new NodeGraph();
    g.updatePod(pod('ns', 'a', 'n1', { volumes: [{ name: 'v', secret: { secretName: 'old' } }] }));
    g.updatePod(pod('ns', 'a', 'n1', { volumes: [{ name: 'v', secret: { secretName: 'new' } }] }, { uid: 'other' }));
    expect(g.hasPathFrom('n1', 'secret', 'ns', 'old').ok).toBe(false);
    expect(g.hasPathFrom('n1', 'secret', 'ns', 'new').ok).toBe(true);
  });
});

describe('NodeAuthorizer', () => {
  const pods = [
    pod('ns', 'web', 'n1', { serviceAccountName: 'web-sa', volumes: [{ name: 'v', secret: { secretName: 'web-secret' } }, { name: 'c', configMap: { name: 'web-cm' } }, { name: 'p', persistentVolumeClaim: { claimName: 'web-claim' } }] }),
    pod('ns', 'db', 'n2', { volumes: [{ name: 'v', secret: { secretName: 'db-secret' } }] }),
  ];
  const n1 = node('n1');
  type Case = [string, NodeAttributes, 'Allow' | 'NoOpinion', string?];
  const cases: Case[] = [
    // Graph-checked reads.
    ['own pod\'s secret', attrs(n1, 'get', 'secrets', { namespace: 'ns', name: 'web-secret' }), 'Allow'],
    ['own pod\'s secret by watch of one name', attrs(n1, 'watch', 'secrets', { namespace: 'ns', name: 'web-secret' }), 'Allow'],
    ['another node\'s secret', attrs(n1, 'get', 'secrets', { namespace: 'ns', name: 'db-secret' }), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    ['unreferenced secret', attrs(n1, 'get', 'secrets', { namespace: 'ns', name: 'nobody' }), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    ['listing secrets', attrs(n1, 'list', 'secrets', { namespace: 'ns' }), 'NoOpinion', 'No Object name found'],
    ['writing a secret', attrs(n1, 'update', 'secrets', { namespace: 'ns', name: 'web-secret' }), 'NoOpinion', 'can only read resources of this type'],
    ['cluster-wide secret read', attrs(n1, 'get', 'secrets', { name: 'web-secret' }), 'NoOpinion', 'can only read namespaced object of this type'],
    ['own pod\'s configmap', attrs(n1, 'get', 'configmaps', { namespace: 'ns', name: 'web-cm' }), 'Allow'],
    ['own pod\'s claim', attrs(n1, 'get', 'persistentvolumeclaims', { namespace: 'ns', name: 'web-claim' }), 'Allow'],
    ['listing claims', attrs(n1, 'list', 'persistentvolumeclaims', { namespace: 'ns' }), 'NoOpinion', 'can only get individual resources of this type'],
    ['own pod\'s claim status', attrs(n1, 'patch', 'persistentvolumeclaims', { namespace: 'ns', name: 'web-claim', subresource: 'status' }), 'Allow'],
    ['a persistent volume nobody references', attrs(n1, 'get', 'persistentvolumes', { name: 'pv1' }), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    // Tokens.
    ['token for own pod\'s service account', attrs(n1, 'create', 'serviceaccounts', { namespace: 'ns', name: 'web-sa', subresource: 'token' }), 'Allow'],
    ['token for another service account', attrs(n1, 'create', 'serviceaccounts', { namespace: 'ns', name: 'default', subresource: 'token' }), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    ['reading a service account', attrs(n1, 'get', 'serviceaccounts', { namespace: 'ns', name: 'web-sa' }), 'NoOpinion', 'can only create tokens for individual service accounts'],
    // Leases.
    ['own lease', attrs(n1, 'update', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'n1' }), 'Allow'],
    ['creating a lease', attrs(n1, 'create', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease' }), 'Allow'],
    ['another node\'s lease', attrs(n1, 'update', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'n2' }), 'NoOpinion', 'can only access node lease with the same name as the requesting node'],
    ['a lease elsewhere', attrs(n1, 'get', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-system', name: 'n1' }), 'NoOpinion', 'can only access leases in the "kube-node-lease" system namespace'],
    ['listing leases', attrs(n1, 'list', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease' }), 'NoOpinion', 'can only get, create, update, patch, or delete a node lease'],
    // Nodes and pods with selectors.
    ['own node', attrs(n1, 'get', 'nodes', { name: 'n1' }), 'Allow'],
    ['own node by field selector watch', attrs(n1, 'watch', 'nodes', { name: 'n1' }), 'Allow'],
    ['another node', attrs(n1, 'get', 'nodes', { name: 'n2' }), 'NoOpinion', "node 'n1' cannot read 'n2', only its own Node object"],
    ['all nodes', attrs(n1, 'list', 'nodes'), 'NoOpinion', "node 'n1' cannot read all nodes, only its own Node object"],
    ['node create', attrs(n1, 'create', 'nodes'), 'Allow'],
    ['node status patch', attrs(n1, 'patch', 'nodes', { name: 'n1', subresource: 'status' }), 'Allow'],
    ['node delete', attrs(n1, 'delete', 'nodes', { name: 'n1' }), 'NoOpinion'],
    ['own pods by field selector', attrs(n1, 'list', 'pods', { fieldSelector: 'spec.nodeName=n1' }), 'Allow'],
    ['own pods by field selector among others', attrs(n1, 'watch', 'pods', { fieldSelector: 'status.phase!=Failed,spec.nodeName=n1' }), 'Allow'],
    ['another node\'s pods by field selector', attrs(n1, 'list', 'pods', { fieldSelector: 'spec.nodeName=n2' }), 'NoOpinion', 'can only list/watch pods with spec.nodeName field selector'],
    ['all pods', attrs(n1, 'list', 'pods'), 'NoOpinion', 'can only list/watch pods with spec.nodeName field selector'],
    ['a pod bound to it', attrs(n1, 'get', 'pods', { namespace: 'ns', name: 'web' }), 'Allow'],
    ['a pod bound elsewhere', attrs(n1, 'get', 'pods', { namespace: 'ns', name: 'db' }), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    ['pod status update', attrs(n1, 'update', 'pods', { namespace: 'ns', name: 'db', subresource: 'status' }), 'Allow'],
    ['pod create', attrs(n1, 'create', 'pods', { namespace: 'ns' }), 'Allow'],
    ['pod eviction', attrs(n1, 'create', 'pods', { namespace: 'ns', name: 'web', subresource: 'eviction' }), 'Allow'],
    ['pod update', attrs(n1, 'update', 'pods', { namespace: 'ns', name: 'web' }), 'NoOpinion'],
    ['pod exec', attrs(n1, 'create', 'pods', { namespace: 'ns', name: 'web', subresource: 'exec' }), 'NoOpinion'],
    // Static node rules.
    ['services', attrs(n1, 'watch', 'services'), 'Allow'],
    ['events', attrs(n1, 'create', 'events', { namespace: 'ns' }), 'Allow'],
    ['token reviews', attrs(n1, 'create', 'tokenreviews', { apiGroup: 'authentication.k8s.io' }), 'Allow'],
    ['subject access reviews', attrs(n1, 'create', 'subjectaccessreviews', { apiGroup: 'authorization.k8s.io' }), 'Allow'],
    ['deployments', attrs(n1, 'list', 'deployments', { apiGroup: 'apps' }), 'NoOpinion'],
    ['deleting services', attrs(n1, 'delete', 'services', { namespace: 'ns', name: 'x' }), 'NoOpinion'],
    ['non-resource URLs', { ...attrs(n1, 'get', ''), resourceRequest: false, path: '/metrics' }, 'NoOpinion'],
  ];

  it.each(cases)('%s', async (_name, a, decision, reason) => {
    const { a: authz } = await authorizerWith(pods);
    const r = await authz.authorize(a);
    expect(r.decision).toBe(decision);
    if (reason !== undefined) expect(r.reason).toBe(reason);
  });

  it('has no opinion on anyone but nodes, and refuses a node without a name', async () => {
    const { a } = await authorizerWith(pods);
    expect(await a.authorize(attrs({ username: 'alice', groups: ['system:authenticated'] }, 'get', 'secrets', { namespace: 'ns', name: 'web-secret' }))).toEqual({ decision: 'NoOpinion', reason: '' });
    expect(await a.authorize(attrs({ username: 'system:node:n1', groups: [] }, 'get', 'services'))).toEqual({ decision: 'NoOpinion', reason: '' });
    expect(await a.authorize(attrs({ username: 'system:node:', groups: ['system:nodes'] }, 'get', 'services'))).toEqual({ decision: 'NoOpinion', reason: 'unknown node for user "system:node:"' });
  });

  it('without AuthorizeNodeWithSelectors, nodes and pods fall to the static rules', async () => {
    const { a } = await authorizerWith(pods, { authorizeWithSelectors: false });
    expect((await a.authorize(attrs(n1, 'list', 'pods'))).decision).toBe('Allow');
    expect((await a.authorize(attrs(n1, 'get', 'nodes', { name: 'n2' }))).decision).toBe('Allow');
    expect((await a.authorize(attrs(n1, 'update', 'pods', { namespace: 'ns', name: 'web' }))).decision).toBe('NoOpinion');
  });

  it('follows pods as they are bound, changed and deleted', async () => {
    const { a, storage } = await authorizerWith([]);
    const read = (name: string) => a.authorize(attrs(n1, 'get', 'secrets', { namespace: 'ns', name }));
    const p = pod('ns', 'late', undefined, { volumes: [{ name: 'v', secret: { secretName: 'late-secret' } }] });
    const key = `${prefix}ns/late`;
    await storage.create(key, p);
    expect((await read('late-secret')).decision).toBe('NoOpinion');
    await storage.guaranteedUpdate(key, undefined, (cur) => ({ ...cur, spec: { ...cur.spec, nodeName: 'n1' } }));
    await vi.waitFor(async () => expect((await read('late-secret')).decision).toBe('Allow'));
    await storage.delete(key);
    await vi.waitFor(async () => expect((await read('late-secret')).decision).toBe('NoOpinion'));
  });

  it('lists again after its watch ends, keeping what it knew meanwhile', async () => {
    const storage = new MemoryStorage();
    await storage.create(`${prefix}ns/web`, pods[0]);
    // The first watch ends as a compaction would end it: the stream stops and its error is reported.
    const ends: (() => void)[] = [];
    const watch = storage.watch.bind(storage);
    storage.watch = (p, o, cb) => {
      const h = watch(p, o, cb);
      ends.push(() => { h.stop(); cb.onError(new Error('compacted')); });
      return h;
    };
    const a = new NodeAuthorizer({ storage, podsPrefix: prefix, retryMs: 10 });
    storages.push({ a });
    await a.start();
    const read = (name: string) => a.authorize(attrs(n1, 'get', 'secrets', { namespace: 'ns', name }));
    expect((await read('web-secret')).decision).toBe('Allow');
    ends[0]();
    await storage.delete(`${prefix}ns/web`);
    await storage.create(`${prefix}ns/web2`, pod('ns', 'web2', 'n1', { volumes: [{ name: 'v', secret: { secretName: 'second' } }] }));
    await vi.waitFor(async () => expect((await read('second')).decision).toBe('Allow'));
    expect((await read('web-secret')).decision).toBe('NoOpinion');
    expect(ends.length).toBeGreaterThanOrEqual(2);
  });

  it('reports incomplete rules for nodes and none for others', async () => {
    const { a } = await authorizerWith([]);
    expect(await a.rulesFor(n1)).toMatchObject({ incomplete: true, evaluationError: 'node authorizer does not support user rule resolution' });
    expect(await a.rulesFor({ username: 'bob', groups: [] })).toEqual({ resourceRules: [], nonResourceRules: [], incomplete: false });
  });
});

describe('NodeAuthorizer: persistent volumes through their claims (pv -> pvc -> pod -> node)', () => {
  it('a node gets the volume bound to a claim its pod mounts, follows the claim watch, and nothing else', async () => {
    const storage = new MemoryStorage();
    const pvcs = '/registry/persistentvolumeclaims/';
    const claim = (name: string, volumeName?: string): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { namespace: 'ns', name }, spec: { volumeName } });
    await storage.create(`${prefix}ns/db`, pod('ns', 'db', 'n1', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] }));
    await storage.create(`${pvcs}ns/data`, claim('data', 'pv-1'));
    await storage.create(`${pvcs}ns/other`, claim('other', 'pv-2'));
    const a = new NodeAuthorizer({ storage, podsPrefix: prefix, pvcsPrefix: pvcs, retryMs: 10 });
    storages.push({ a });
    await a.start();
    const get = (user: Attributes['user'], name: string) => a.authorize(attrs(user, 'get', 'persistentvolumes', { name }));
    await vi.waitFor(async () => expect((await get(node('n1'), 'pv-1')).decision).toBe('Allow'));
    expect((await get(node('n2'), 'pv-1')).decision).toBe('NoOpinion');
    expect((await get(node('n1'), 'pv-2')).decision).toBe('NoOpinion');
    expect((await a.authorize(attrs(node('n1'), 'list', 'persistentvolumes'))).decision).toBe('NoOpinion');
    // Re-bound elsewhere: the old volume is no longer reachable, the new one is.
    await storage.guaranteedUpdate(`${pvcs}ns/data`, undefined, () => claim('data', 'pv-3'));
    await vi.waitFor(async () => expect((await get(node('n1'), 'pv-3')).decision).toBe('Allow'));
    expect((await get(node('n1'), 'pv-1')).decision).toBe('NoOpinion');
  });
});
