import { describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import { R, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import type { AdmissionAttributes, UserInfo } from '../auth/types.js';
import { forbiddenNodeLabels, NodeRestriction } from './noderestriction.js';

const n1: UserInfo = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
const other: UserInfo = { username: 'alice', groups: ['system:authenticated'] };

const res = (group: string, plural: string, kind: string, namespaced = true): ResourceInfo =>
  ({ group, version: 'v1', kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames: [], namespaced, subresources: [], verbs: [], hasStatus: false });
const serviceaccounts = res('', 'serviceaccounts', 'ServiceAccount');
const pvcs = res('', 'persistentvolumeclaims', 'PersistentVolumeClaim');
const csinodes = res('storage.k8s.io', 'csinodes', 'CSINode', false);

const pod = (name: string, nodeName: string | undefined, extra: Partial<KubeObject> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { app: 'x' }, ...(extra.metadata ?? {}) }, spec: { nodeName, containers: [{ name: 'c' }], ...(extra.spec ?? {}) }, status: extra.status });
const nodeObj = (name: string, labels: Record<string, string> = {}, taints?: unknown[]): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `node-uid-${name}`, labels }, spec: taints ? { taints } : {} });
const mirror = (over: { owner?: Record<string, unknown>[]; spec?: Record<string, unknown>; annotations?: Record<string, string> } = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name: 'static-n1', namespace: 'ns',
    annotations: over.annotations ?? { 'kubernetes.io/config.mirror': 'hash' },
    ownerReferences: (over.owner ?? [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'node-uid-n1', controller: true }]) as never,
  },
  spec: { nodeName: 'n1', containers: [{ name: 'c' }], ...(over.spec ?? {}) },
});

const stored: Record<string, KubeObject> = {
  'ns/mine': pod('mine', 'n1'),
  'ns/theirs': pod('theirs', 'n2'),
};
const plugin = new NodeRestriction({
  getPod: async (ns, name) => stored[`${ns}/${name}`],
  getNode: async (name) => (name === 'n1' ? nodeObj('n1') : undefined),
});

function attrs(o: Partial<AdmissionAttributes> & Pick<AdmissionAttributes, 'operation' | 'resource'>): AdmissionAttributes {
  return { user: n1, subresource: '', namespace: 'ns', name: '', dryRun: false, warnings: [], ...o };
}

async function outcome(a: AdmissionAttributes): Promise<string> {
  try {
    await plugin.validate(a);
    return 'allowed';
  } catch (e) {
    if (!isStatusError(e)) throw e;
    return `${e.code} ${e.message}`;
  }
}

describe('NodeRestriction', () => {
  const cases: [string, AdmissionAttributes, string][] = [
    // Pods.
    ['status of its own pod', attrs({ operation: 'UPDATE', resource: R.pods, subresource: 'status', name: 'mine', oldObject: pod('mine', 'n1'), object: pod('mine', 'n1', { status: { phase: 'Running' } }) }), 'allowed'],
    ['status of another node\'s pod', attrs({ operation: 'UPDATE', resource: R.pods, subresource: 'status', name: 'theirs', oldObject: pod('theirs', 'n2'), object: pod('theirs', 'n2') }),
      '403 pods "theirs" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself'],
    ['labels through pod status', attrs({ operation: 'UPDATE', resource: R.pods, subresource: 'status', name: 'mine', oldObject: pod('mine', 'n1'), object: pod('mine', 'n1', { metadata: { labels: { app: 'y' } } }) }),
      '403 pods "mine" is forbidden: node "n1" cannot update labels through pod status'],
    ['resource claim statuses through pod status', attrs({ operation: 'UPDATE', resource: R.pods, subresource: 'status', name: 'mine', oldObject: pod('mine', 'n1'), object: pod('mine', 'n1', { status: { resourceClaimStatuses: [{ name: 'c', resourceClaimName: 'x' }] } }) }),
      '403 pods "mine" is forbidden: node "n1" cannot update resource claim statues'],
    ['deleting its own pod', attrs({ operation: 'DELETE', resource: R.pods, name: 'mine', oldObject: pod('mine', 'n1') }), 'allowed'],
    ['deleting another node\'s pod', attrs({ operation: 'DELETE', resource: R.pods, name: 'theirs', oldObject: pod('theirs', 'n2') }),
      '403 pods "theirs" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself'],
    ['updating a pod', attrs({ operation: 'UPDATE', resource: R.pods, name: 'mine', oldObject: pod('mine', 'n1'), object: pod('mine', 'n1') }),
      '403 pods "mine" is forbidden: unexpected operation "UPDATE", node "n1" can only create and delete mirror pods'],
    ['evicting its own pod', attrs({ operation: 'CREATE', resource: R.pods, subresource: 'eviction', name: 'mine', oldObject: pod('mine', 'n1') }), 'allowed'],
    ['evicting another node\'s pod', attrs({ operation: 'CREATE', resource: R.pods, subresource: 'eviction', name: 'theirs', oldObject: pod('theirs', 'n2') }),
      '403 pods "theirs" is forbidden: node n1 can only evict pods with spec.nodeName set to itself'],
    ['evicting a pod looked up by name', attrs({ operation: 'CREATE', resource: R.pods, subresource: 'eviction', name: 'theirs' }),
      '403 pods "theirs" is forbidden: node n1 can only evict pods with spec.nodeName set to itself'],
    ['a pod subresource it has no business with', attrs({ operation: 'CREATE', resource: R.pods, subresource: 'binding', name: 'mine' }),
      '403 pods "mine" is forbidden: unexpected pod subresource "binding", only \'status\' and \'eviction\' are allowed'],
    ['exec is not a write', attrs({ operation: 'CONNECT', resource: R.pods, subresource: 'exec', name: 'theirs' }), 'allowed'],
    // Mirror pods.
    ['a mirror pod of itself', attrs({ operation: 'CREATE', resource: R.pods, object: mirror() }), 'allowed'],
    ['a pod that is no mirror pod', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ annotations: {} }) }),
      '403 pods "static-n1" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods'],
    ['a mirror pod for another node', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ spec: { nodeName: 'n2' } }) }),
      '403 pods "static-n1" is forbidden: node "n1" can only create pods with spec.nodeName set to itself'],
    ['a mirror pod without owner', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ owner: [] }) }),
      '403 pods "static-n1" is forbidden: node "n1" can only create pods with an owner reference set to itself'],
    ['a mirror pod owned by another node', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ owner: [{ apiVersion: 'v1', kind: 'Node', name: 'n2', uid: 'u', controller: true }] }) }),
      '403 pods "static-n1" is forbidden: node "n1" can only create pods with an owner reference set to itself'],
    ['a mirror pod with a non-controller owner', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ owner: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'node-uid-n1' }] }) }),
      '403 pods "static-n1" is forbidden: node "n1" can only create pods with a controller owner reference set to itself'],
    ['a mirror pod blocking owner deletion', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ owner: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'node-uid-n1', controller: true, blockOwnerDeletion: true }] }) }),
      '403 pods "static-n1" is forbidden: node "n1" must not set blockOwnerDeletion on an owner reference'],
    ['a mirror pod with a stale node uid', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ owner: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'old', controller: true }] }) }),
      '403 pods "static-n1" is forbidden: node n1 UID mismatch: expected old got node-uid-n1'],
    ['a mirror pod with a service account', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ spec: { serviceAccountName: 'default' } }) }),
      '403 pods "static-n1" is forbidden: node "n1" can not create pods that reference a service account'],
    ['a mirror pod reading a secret', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ spec: { volumes: [{ name: 'v', secret: { secretName: 's' } }] } }) }),
      '403 pods "static-n1" is forbidden: node "n1" can not create pods that reference secrets'],
    ['a mirror pod reading a configmap', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ spec: { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'cm' } }] }] } }) }),
      '403 pods "static-n1" is forbidden: node "n1" can not create pods that reference configmaps'],
    ['a mirror pod with a claim', attrs({ operation: 'CREATE', resource: R.pods, object: mirror({ spec: { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }] } }) }),
      '403 pods "static-n1" is forbidden: node "n1" can not create pods that reference persistentvolumeclaims'],
    // Nodes.
    ['registering itself', attrs({ operation: 'CREATE', resource: R.nodes, namespace: '', name: 'n1', object: nodeObj('n1', { 'kubernetes.io/hostname': 'n1', 'node.kubernetes.io/exclude-from-external-load-balancers': '' }) }), 'allowed'],
    ['registering another node', attrs({ operation: 'CREATE', resource: R.nodes, namespace: '', name: 'n2', object: nodeObj('n2') }),
      '403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'],
    ['updating another node', attrs({ operation: 'UPDATE', resource: R.nodes, namespace: '', name: 'n2', object: nodeObj('n2'), oldObject: nodeObj('n2') }),
      '403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'],
    ['another node\'s status', attrs({ operation: 'UPDATE', resource: R.nodes, subresource: 'status', namespace: '', name: 'n2', object: nodeObj('n2'), oldObject: nodeObj('n2') }),
      '403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'],
    ['registering with restricted labels', attrs({ operation: 'CREATE', resource: R.nodes, namespace: '', name: 'n1', object: nodeObj('n1', { 'node-restriction.kubernetes.io/pool': 'secure', 'node-role.kubernetes.io/master': '', 'example.com/mine': 'ok' }) }),
      '403 nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/pool, node-role.kubernetes.io/master'],
    ['changing its own taints', attrs({ operation: 'UPDATE', resource: R.nodes, namespace: '', name: 'n1', object: nodeObj('n1'), oldObject: nodeObj('n1', {}, [{ key: 'dedicated', effect: 'NoSchedule' }]) }),
      '403 nodes "n1" is forbidden: node "n1" is not allowed to modify taints'],
    ['owning itself to something', attrs({ operation: 'UPDATE', resource: R.nodes, namespace: '', name: 'n1', object: { ...nodeObj('n1'), metadata: { ...nodeObj('n1').metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'gone', uid: 'u' }] } }, oldObject: nodeObj('n1') }),
      '403 nodes "n1" is forbidden: node "n1" is not allowed to modify ownerReferences'],
    ['removing a restricted label', attrs({ operation: 'UPDATE', resource: R.nodes, namespace: '', name: 'n1', object: nodeObj('n1'), oldObject: nodeObj('n1', { 'node-restriction.kubernetes.io/pool': 'secure' }) }),
      '403 nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/pool'],
    ['updating kubelet labels, keeping empty taints', attrs({ operation: 'UPDATE', resource: R.nodes, namespace: '', name: 'n1', object: nodeObj('n1', { 'kubernetes.io/arch': 'arm64', 'team': 'x' }, []), oldObject: nodeObj('n1', { 'kubernetes.io/arch': 'amd64' }) }), 'allowed'],
    // Leases.
    ['creating its lease', attrs({ operation: 'CREATE', resource: R.leases, namespace: 'kube-node-lease', object: { metadata: { name: 'n1' } } }), 'allowed'],
    ['creating another node\'s lease', attrs({ operation: 'CREATE', resource: R.leases, namespace: 'kube-node-lease', name: 'n2', object: { metadata: { name: 'n2' } } }),
      '403 leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node'],
    ['updating another node\'s lease', attrs({ operation: 'UPDATE', resource: R.leases, namespace: 'kube-node-lease', name: 'n2', object: { metadata: { name: 'n2' } } }),
      '403 leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node'],
    ['a lease elsewhere', attrs({ operation: 'UPDATE', resource: R.leases, namespace: 'kube-system', name: 'n1', object: { metadata: { name: 'n1' } } }),
      '403 leases.coordination.k8s.io "n1" is forbidden: can only access leases in the "kube-node-lease" system namespace'],
    ['CSINode of another node', attrs({ operation: 'UPDATE', resource: csinodes, namespace: '', name: 'n2' }),
      '403 csinodes.storage.k8s.io "n2" is forbidden: can only access CSINode with the same name as the requesting node'],
    // Tokens.
    ['a token bound to its pod', attrs({ operation: 'CREATE', resource: serviceaccounts, subresource: 'token', name: 'default', object: { metadata: {}, spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'mine', uid: 'uid-mine' } } } }), 'allowed'],
    ['a token bound to another node\'s pod', attrs({ operation: 'CREATE', resource: serviceaccounts, subresource: 'token', name: 'default', object: { metadata: {}, spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'theirs', uid: 'uid-theirs' } } } }),
      '403 serviceaccounts "default" is forbidden: node requested token bound to a pod scheduled on a different node'],
    ['an unbound token', attrs({ operation: 'CREATE', resource: serviceaccounts, subresource: 'token', name: 'default', object: { metadata: {}, spec: {} } }),
      '403 serviceaccounts "default" is forbidden: node requested token not bound to a pod'],
    ['a token bound without uid', attrs({ operation: 'CREATE', resource: serviceaccounts, subresource: 'token', name: 'default', object: { metadata: {}, spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'mine' } } } }),
      '403 serviceaccounts "default" is forbidden: node requested token with a pod binding without a uid'],
    ['a token bound to a recreated pod', attrs({ operation: 'CREATE', resource: serviceaccounts, subresource: 'token', name: 'default', object: { metadata: {}, spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'mine', uid: 'stale' } } } }),
      '403 serviceaccounts "default" is forbidden: the UID in the bound object reference (stale) does not match the UID in record. The object might have been deleted and then recreated'],
    ['a token bound to a missing pod', attrs({ operation: 'CREATE', resource: serviceaccounts, subresource: 'token', name: 'default', object: { metadata: {}, spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'gone', uid: 'u' } } } }),
      '404 pods "gone" not found'],
    // Claims.
    ['claim status capacity', attrs({ operation: 'UPDATE', resource: pvcs, subresource: 'status', name: 'c', oldObject: { metadata: { name: 'c', resourceVersion: '1' }, status: { phase: 'Bound' } }, object: { metadata: { name: 'c', resourceVersion: '2' }, status: { phase: 'Bound', capacity: { storage: '2Gi' } } } }), 'allowed'],
    ['claim status phase', attrs({ operation: 'UPDATE', resource: pvcs, subresource: 'status', name: 'c', oldObject: { metadata: { name: 'c' }, status: { phase: 'Bound' } }, object: { metadata: { name: 'c' }, status: { phase: 'Lost' } } }),
      '403 persistentvolumeclaims "c" is forbidden: node "n1" is not allowed to update fields other than status.capacity and status.conditions: status.phase'],
    ['writing a claim', attrs({ operation: 'UPDATE', resource: pvcs, name: 'c' }), '403 persistentvolumeclaims "c" is forbidden: may only update PVC status'],
    // Others.
    ['events', attrs({ operation: 'CREATE', resource: R.events, object: { metadata: { name: 'e' } } }), 'allowed'],
    ['anyone but a node', { ...attrs({ operation: 'DELETE', resource: R.pods, name: 'theirs', oldObject: pod('theirs', 'n2') }), user: other }, 'allowed'],
    ['a node without name', { ...attrs({ operation: 'CREATE', resource: R.events, object: { metadata: { name: 'e' } } }), user: { username: 'system:node:', groups: ['system:nodes'] } },
      '403 events "e" is forbidden: could not determine node from user "system:node:"'],
  ];

  it.each(cases)('%s', async (_name, a, want) => {
    expect(await outcome(a)).toBe(want);
  });

  it('puts the details kube puts in a Forbidden status', async () => {
    const e = await plugin.validate(attrs({ operation: 'UPDATE', resource: R.pods, subresource: 'status', name: 'theirs', oldObject: pod('theirs', 'n2'), object: pod('theirs', 'n2') })).catch((x) => x);
    expect(e.status).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden', details: { name: 'theirs', kind: 'pods' } });
  });

  it('refuses to be built without its lookups', () => {
    expect(() => new NodeRestriction({} as never)).toThrow(/pod getter/);
  });
});

describe('forbiddenNodeLabels', () => {
  it.each([
    [['kubernetes.io/hostname', 'topology.kubernetes.io/zone', 'node.kubernetes.io/instance-type', 'kubelet.kubernetes.io/x', 'foo.node.kubernetes.io/y', 'example.com/z', 'plain'], []],
    [['node-restriction.kubernetes.io/a', 'sub.node-restriction.kubernetes.io/b'], ['node-restriction.kubernetes.io/a', 'sub.node-restriction.kubernetes.io/b']],
    [['node-role.kubernetes.io/control-plane', 'k8s.io/x', 'foo.k8s.io/y'], ['foo.k8s.io/y', 'k8s.io/x', 'node-role.kubernetes.io/control-plane']],
  ])('%j -> %j', (labels, want) => {
    expect(forbiddenNodeLabels(labels)).toEqual(want);
  });
});
