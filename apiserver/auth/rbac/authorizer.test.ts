import { afterEach, describe, expect, it } from 'vitest';
import { R, resources } from '../../../api/resources.js';
import type { KubeObject } from '../../../api/types.js';
import { isStatusError } from '../../../api/errors.js';
import { MemoryStorage } from '../../storage/memory.js';
import { Store } from '../../registry/store.js';
import { AdmissionChain } from '../../admission/chain.js';
import type { Attributes, UserInfo } from '../types.js';
import { RBACAuthorizer } from './authorizer.js';
import { ensureBootstrapPolicy } from './bootstrap.js';
import { RBACEscalation } from './escalation.js';

const prefix = '/registry';

function cluster() {
  const storage = new MemoryStorage();
  const stores = new Map<string, Store>();
  for (const r of resources) if (!r.ephemeral) stores.set(r.plural, new Store(r, storage, prefix, async () => 'Active'));
  const storeOf = (p: string) => stores.get(p)!;
  const rbac = new RBACAuthorizer({ storage, etcdPrefix: prefix });
  return { storage, storeOf, rbac };
}

let running: RBACAuthorizer[] = [];
afterEach(() => {
  for (const r of running) r.stop();
  running = [];
});

async function started(c: ReturnType<typeof cluster>): Promise<RBACAuthorizer> {
  c.rbac.start();
  running.push(c.rbac);
  await c.rbac.ready();
  return c.rbac;
}

const user = (username: string, ...groups: string[]): UserInfo => ({ username, groups: [...groups, 'system:authenticated'] });

function res(u: UserInfo, verb: string, group: string, resource: string, namespace = '', extra: Partial<Attributes> = {}): Attributes {
  return { user: u, verb, resourceRequest: true, path: '', apiGroup: group, apiVersion: 'v1', resource, subresource: '', namespace, name: '', ...extra };
}
function url(u: UserInfo, verb: string, path: string): Attributes {
  return { user: u, verb, resourceRequest: false, path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
}

const rbac = 'rbac.authorization.k8s.io/v1';
const roleBinding = (ns: string, name: string, roleKind: string, role: string, subjects: object[]): KubeObject =>
  ({ apiVersion: rbac, kind: 'RoleBinding', metadata: { name, namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role }, subjects });
const clusterRoleBinding = (name: string, role: string, subjects: object[]): KubeObject =>
  ({ apiVersion: rbac, kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects });

async function until(f: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition never held');
}

const allowed = async (a: RBACAuthorizer, at: Attributes) => (await a.authorize(at)).decision === 'Allow';

describe('RBACAuthorizer', () => {
  it('allows through ClusterRoleBindings everywhere and RoleBindings only in their namespace, with kube\'s reasons', async () => {
    const c = cluster();
    await c.storeOf('clusterroles').create(undefined, { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'pod-reader' }, rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }] });
    await c.storeOf('roles').create('a', { apiVersion: rbac, kind: 'Role', metadata: { name: 'cm-writer', namespace: 'a' }, rules: [{ verbs: ['create'], apiGroups: [''], resources: ['configmaps'] }] });
    await c.storeOf('rolebindings').create('a', roleBinding('a', 'read', 'ClusterRole', 'pod-reader', [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }]));
    await c.storeOf('rolebindings').create('a', roleBinding('a', 'write', 'Role', 'cm-writer', [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' }]));
    await c.storeOf('clusterrolebindings').create(undefined, clusterRoleBinding('bots', 'pod-reader', [{ kind: 'ServiceAccount', name: 'bot', namespace: 'tools' }]));
    const a = await started(c);
    const alice = user('alice');
    expect(await a.authorize(res(alice, 'list', '', 'pods', 'a'))).toEqual({ decision: 'Allow', reason: 'RBAC: allowed by RoleBinding "read/a" of ClusterRole "pod-reader" to User "alice"' });
    expect(await allowed(a, res(alice, 'list', '', 'pods', 'b'))).toBe(false);
    expect(await allowed(a, res(alice, 'list', '', 'pods'))).toBe(false);
    expect(await allowed(a, res(alice, 'create', '', 'pods', 'a'))).toBe(false);
    expect(await allowed(a, res(user('bob', 'devs'), 'create', '', 'configmaps', 'a'))).toBe(true);
    expect(await allowed(a, res(user('bob', 'devs'), 'create', '', 'configmaps', 'b'))).toBe(false);
    const bot = { username: 'system:serviceaccount:tools:bot', groups: ['system:serviceaccounts', 'system:serviceaccounts:tools', 'system:authenticated'] };
    expect(await a.authorize(res(bot, 'get', '', 'pods', 'anywhere'))).toEqual({ decision: 'Allow', reason: 'RBAC: allowed by ClusterRoleBinding "bots" of ClusterRole "pod-reader" to ServiceAccount "bot/tools"' });
    expect(await a.authorize(res(user('eve'), 'get', '', 'pods', 'a'))).toEqual({ decision: 'NoOpinion', reason: '' });
  });

  it('a binding to a missing role denies with the lister\'s error as the reason', async () => {
    const c = cluster();
    await c.storeOf('clusterrolebindings').create(undefined, clusterRoleBinding('dangling', 'nope', [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }]));
    const a = await started(c);
    expect(await a.authorize(res(user('alice'), 'get', '', 'pods', 'x'))).toEqual({ decision: 'NoOpinion', reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "nope" not found' });
    expect((await a.rulesFor(user('alice'), 'x')).evaluationError).toBe('clusterrole.rbac.authorization.k8s.io "nope" not found');
  });

  it('sees new bindings, role changes and deletions from the watch, without reading storage per request', async () => {
    const c = cluster();
    const a = await started(c);
    const alice = user('alice');
    const at = res(alice, 'delete', 'apps', 'deployments', 'n');
    expect(await allowed(a, at)).toBe(false);
    await c.storeOf('clusterroles').create(undefined, { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'r' }, rules: [{ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'] }] });
    await c.storeOf('rolebindings').create('n', roleBinding('n', 'b', 'ClusterRole', 'r', [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }]));
    await until(async () => allowed(a, res(alice, 'get', 'apps', 'deployments', 'n')));
    expect(await allowed(a, at)).toBe(false);
    await c.storeOf('clusterroles').update(undefined, 'r', (cur) => ({ ...cur!, rules: [{ verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'] }] }));
    await until(async () => allowed(a, at));
    // Storage that fails every read: answers still come from the cache.
    const original = c.storage.get.bind(c.storage);
    c.storage.get = () => Promise.reject(new Error('no reads allowed'));
    c.storage.list = () => Promise.reject(new Error('no reads allowed'));
    expect(await allowed(a, at)).toBe(true);
    c.storage.get = original;
    await c.storeOf('rolebindings').delete('n', 'b');
    await until(async () => !(await allowed(a, at)));
  });

  it('rulesFor lists cluster-wide and namespace rules, split into resource and non-resource rules', async () => {
    const c = cluster();
    await c.storeOf('clusterroles').create(undefined, { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'urls' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }] });
    await c.storeOf('roles').create('a', { apiVersion: rbac, kind: 'Role', metadata: { name: 'r', namespace: 'a' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['one'] }] });
    await c.storeOf('clusterrolebindings').create(undefined, clusterRoleBinding('urls', 'urls', [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:authenticated' }]));
    await c.storeOf('rolebindings').create('a', roleBinding('a', 'r', 'Role', 'r', [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }]));
    const a = await started(c);
    expect(await a.rulesFor(user('alice'), 'a')).toEqual({
      resourceRules: [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['one'] }],
      nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }],
      incomplete: false,
    });
    expect((await a.rulesFor(user('alice'), 'b')).resourceRules).toEqual([]);
  });
});

describe('bootstrap policy', () => {
  async function bootstrapped() {
    const c = cluster();
    await ensureBootstrapPolicy(c.storeOf);
    return { ...c, a: await started(c) };
  }
  const bind = async (c: ReturnType<typeof cluster>, ns: string, role: string, who: string) =>
    c.storeOf('rolebindings').create(ns, roleBinding(ns, `${who}-${role}`, 'ClusterRole', role, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: who }]));

  it('view reads but cannot read secrets or write; edit can; admin can manage RoleBindings; edit cannot', async () => {
    const c = await bootstrapped();
    await bind(c, 'a', 'view', 'viewer');
    await bind(c, 'a', 'edit', 'editor');
    await bind(c, 'a', 'admin', 'boss');
    const { a } = c;
    await until(async () => allowed(a, res(user('boss'), 'get', '', 'pods', 'a')));
    const viewer = user('viewer');
    expect(await allowed(a, res(viewer, 'list', '', 'pods', 'a'))).toBe(true);
    expect(await allowed(a, res(viewer, 'get', '', 'pods', 'a', { subresource: 'log' }))).toBe(true);
    expect(await allowed(a, res(viewer, 'list', 'discovery.k8s.io', 'endpointslices', 'a'))).toBe(true);
    expect(await allowed(a, res(viewer, 'get', '', 'secrets', 'a'))).toBe(false);
    expect(await allowed(a, res(viewer, 'create', '', 'pods', 'a'))).toBe(false);
    expect(await allowed(a, res(viewer, 'list', '', 'pods', 'b'))).toBe(false);
    const editor = user('editor');
    expect(await allowed(a, res(editor, 'get', '', 'secrets', 'a'))).toBe(true);
    expect(await allowed(a, res(editor, 'create', 'apps', 'deployments', 'a'))).toBe(true);
    expect(await allowed(a, res(editor, 'create', 'rbac.authorization.k8s.io', 'rolebindings', 'a'))).toBe(false);
    expect(await allowed(a, res(user('boss'), 'create', 'rbac.authorization.k8s.io', 'rolebindings', 'a'))).toBe(true);
  });

  it('gives the components and every user what kube gives them', async () => {
    const { a } = await bootstrapped();
    const scheduler = user('system:kube-scheduler');
    expect(await allowed(a, res(scheduler, 'create', '', 'pods', 'x', { subresource: 'binding' }))).toBe(true);
    expect(await allowed(a, res(scheduler, 'create', '', 'bindings', 'x'))).toBe(true);
    expect(await allowed(a, res(scheduler, 'update', 'coordination.k8s.io', 'leases', 'kube-system', { name: 'kube-scheduler' }))).toBe(true);
    expect(await allowed(a, res(scheduler, 'delete', '', 'nodes'))).toBe(false);
    const proxy = user('system:kube-proxy');
    expect(await allowed(a, res(proxy, 'list', '', 'services'))).toBe(true);
    expect(await allowed(a, res(proxy, 'watch', 'discovery.k8s.io', 'endpointslices'))).toBe(true);
    expect(await allowed(a, res(proxy, 'list', '', 'secrets'))).toBe(false);
    const kcm = user('system:kube-controller-manager');
    expect(await allowed(a, res(kcm, 'create', '', 'pods', 'x'))).toBe(true);
    expect(await allowed(a, res(kcm, 'delete', 'rbac.authorization.k8s.io', 'roles', 'x'))).toBe(true);
    expect(await allowed(a, res(kcm, 'escalate', 'rbac.authorization.k8s.io', 'clusterroles'))).toBe(true);
    expect(await allowed(a, res(kcm, 'create', '', 'serviceaccounts', 'x'))).toBe(true);
    expect(await allowed(a, res(kcm, 'update', 'coordination.k8s.io', 'leases', 'kube-system', { name: 'kube-controller-manager' }))).toBe(true);
    const anyone = user('someone');
    expect(await allowed(a, res(anyone, 'create', 'authorization.k8s.io', 'selfsubjectaccessreviews'))).toBe(true);
    expect(await allowed(a, url(anyone, 'get', '/apis/apps/v1'))).toBe(true);
    expect(await allowed(a, res(anyone, 'list', '', 'pods', 'default'))).toBe(false);
    const anonymous = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
    expect(await allowed(a, url(anonymous, 'get', '/healthz'))).toBe(true);
    expect(await allowed(a, url(anonymous, 'get', '/version'))).toBe(true);
    expect(await allowed(a, url(anonymous, 'get', '/api'))).toBe(false);
    // The Node authorizer speaks for kubelets: system:node's binding has no subjects.
    expect(await allowed(a, res(user('system:node:n1', 'system:nodes'), 'get', '', 'secrets', 'x'))).toBe(false);
    expect(await allowed(a, res(user('admin', 'system:masters'), 'delete', '', 'nodes'))).toBe(true);
  });

  it('reconciles: adds what is missing, keeps additions, leaves autoupdate=false alone', async () => {
    const c = cluster();
    await ensureBootstrapPolicy(c.storeOf);
    const crs = c.storeOf('clusterroles');
    await crs.update(undefined, 'system:basic-user', (cur) => ({ ...cur!, rules: [{ verbs: ['get'], apiGroups: ['x'], resources: ['extra'] }] }));
    await crs.update(undefined, 'system:discovery', (cur) => ({ ...cur!, metadata: { ...cur!.metadata, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'false' } }, rules: [] }));
    await c.storeOf('clusterrolebindings').update(undefined, 'system:basic-user', (cur) => ({ ...cur!, subjects: [] }));
    await ensureBootstrapPolicy(c.storeOf);
    const basic = await crs.get(undefined, 'system:basic-user');
    expect(basic.rules[0]).toEqual({ verbs: ['get'], apiGroups: ['x'], resources: ['extra'] });
    expect(basic.rules).toContainEqual({ verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'] });
    expect((await crs.get(undefined, 'system:discovery')).rules).toEqual([]);
    expect((await c.storeOf('clusterrolebindings').get(undefined, 'system:basic-user')).subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:authenticated' }]);
  });
});

describe('RBACEscalation', () => {
  async function setup() {
    const c = cluster();
    await ensureBootstrapPolicy(c.storeOf);
    for (const [who, role] of [['alice', 'edit'], ['boss', 'admin']]) {
      await c.storeOf('rolebindings').create('a', roleBinding('a', who, 'ClusterRole', role, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: who }]));
    }
    const a = await started(c);
    const chain = new AdmissionChain([new RBACEscalation(a)]);
    const write = (u: UserInfo, plural: string, ns: string | undefined, obj: KubeObject) =>
      c.storeOf(plural).create(ns, obj, { admission: chain.forRequest({ user: u, operation: 'CREATE', resource: resources.find((r) => r.plural === plural)!, namespace: ns }) });
    return { c, a, write };
  }
  const reason = (e: unknown) => (isStatusError(e) ? `${e.code} ${e.status.message}` : String(e));

  it('refuses a Role with rules its author lacks, in kube\'s words, and allows one within them', async () => {
    const { write } = await setup();
    const alice = user('alice');
    const err = await write(alice, 'roles', 'a', { apiVersion: rbac, kind: 'Role', metadata: { name: 'big' }, rules: [{ verbs: ['create', 'delete'], apiGroups: [''], resources: ['nodes'] }, { verbs: ['get'], apiGroups: [''], resources: ['pods'] }] }).catch(reason);
    expect(err).toBe('403 roles.rbac.authorization.k8s.io "big" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["create" "delete"]}');
    await expect(write(alice, 'roles', 'a', { apiVersion: rbac, kind: 'Role', metadata: { name: 'small' }, rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }] })).resolves.toBeTruthy();
  });

  it('lets admin bind view but not cluster-admin; bind permission or system:masters pass', async () => {
    const { c, write } = await setup();
    const boss = user('boss');
    const rb = (name: string, role: string) => roleBinding('a', name, 'ClusterRole', role, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'carol' }]);
    await expect(write(boss, 'rolebindings', 'a', rb('carol-view', 'view'))).resolves.toBeTruthy();
    const err = await write(boss, 'rolebindings', 'a', rb('carol-root', 'cluster-admin')).catch(reason);
    expect(err).toMatch(/^403 rolebindings\.rbac\.authorization\.k8s\.io "carol-root" is forbidden: user "boss" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n/);
    expect(err).toContain('{NonResourceURLs:["*"], Verbs:["*"]}');
    expect(await write(boss, 'rolebindings', 'a', rb('carol-ghost', 'ghost')).catch(reason)).toBe('404 clusterroles.rbac.authorization.k8s.io "ghost" not found');
    await expect(write(user('root', 'system:masters'), 'rolebindings', 'a', rb('carol-root', 'cluster-admin'))).resolves.toBeTruthy();
    // `bind` on cluster-admin by name is enough, as kube's BindingAuthorized.
    await c.storeOf('clusterroles').create(undefined, { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'binder' }, rules: [{ verbs: ['bind'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['cluster-admin'] }] });
    await c.storeOf('rolebindings').create('a', roleBinding('a', 'boss-binder', 'ClusterRole', 'binder', [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'boss' }]));
    await until(async () => (await write(boss, 'rolebindings', 'a', rb('carol-root2', 'cluster-admin')).then(() => true, () => false)));
  });

  it('needs * on *.* to set an aggregationRule; escalate on clusterroles bypasses the rule check', async () => {
    const { c, write } = await setup();
    await c.storeOf('clusterrolebindings').create(undefined, clusterRoleBinding('alice-edit', 'edit', [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }]));
    const alice = user('alice');
    await until(async () => (await c.rbac.rulesFor(alice, '')).resourceRules.length > 0);
    const agg = { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: 'y' } }] }, rules: [] };
    expect(await write(alice, 'clusterroles', undefined, agg as KubeObject).catch(reason)).toBe('403 clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule');
    const kcm = user('system:kube-controller-manager');
    await expect(write(kcm, 'clusterroles', undefined, { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: 'wide' }, rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] })).resolves.toBeTruthy();
  });
});

describe('resource table', () => {
  it('serves the RBAC kinds as stored kinds and the reviews as create-only', () => {
    expect(R.clusterroles.verbs).toContain('watch');
    expect(R.selfsubjectaccessreviews).toMatchObject({ verbs: ['create'], ephemeral: true, namespaced: false });
    expect(R.localsubjectaccessreviews).toMatchObject({ ephemeral: true, namespaced: true });
  });
});
