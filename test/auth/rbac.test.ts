// RBAC against the real API server, etcd and kubectl: the bootstrap policy,
// bindings taking effect, `kubectl auth can-i` (SelfSubjectAccessReview and
// SelfSubjectRulesReview), SubjectAccessReview, escalation prevention, and
// the clusterrole-aggregation controller keeping `edit` current.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { startControllerManager, type ControllerManagerProcess } from '../controllers/harness.js';
import { Kubectl } from '../util/kubectl.js';

let api: ApiServerProcess;
let admin: Kubectl;
const as: Record<string, Kubectl> = {};

async function waitFor(what: string, f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await f().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${api.logs().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  api = await startApiServer({ args: ['--authorization-mode=RBAC'] });
  admin = new Kubectl(api.url);
  // The bootstrap policy is reconciled right after start.
  await waitFor('bootstrap policy', async () => (await admin.run(['get', 'clusterrolebinding', 'system:public-info-viewer'])).code === 0);
  await admin.ok(['create', 'namespace', 'a']);
  await admin.ok(['create', 'namespace', 'b']);
  for (const u of ['alice', 'bob', 'erin']) as[u] = new Kubectl(api.url, await api.kubeconfigFor(u));
  await admin.ok(['create', 'rolebinding', 'alice-view', '--clusterrole=view', '--user=alice', '-n', 'a']);
  await admin.ok(['create', 'rolebinding', 'bob-admin', '--clusterrole=admin', '--user=bob', '-n', 'a']);
  await admin.ok(['create', 'rolebinding', 'erin-edit', '--clusterrole=edit', '--user=erin', '-n', 'a']);
  await admin.ok(['run', 'web', '--image=busybox', '-n', 'a', '--restart=Never']);
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('RBAC', () => {
  it('a user bound to view in one namespace lists pods there, is 403 elsewhere and cannot create', async () => {
    await waitFor('alice can list', async () => (await as.alice.run(['get', 'pods', '-n', 'a'])).code === 0);
    expect(await as.alice.ok(['get', 'pods', '-n', 'a', '-o', 'name'])).toBe('pod/web\n');
    const other = await as.alice.run(['get', 'pods', '-n', 'b']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "b"');
    const create = await as.alice.run(['create', 'configmap', 'x', '-n', 'a']);
    expect(create.stderr).toContain('User "alice" cannot create resource "configmaps" in API group "" in the namespace "a"');
    const secrets = await as.alice.run(['get', 'secrets', '-n', 'a']);
    expect(secrets.stderr).toContain('cannot list resource "secrets"');
    // edit reads secrets, view does not.
    expect((await as.erin.run(['get', 'secrets', '-n', 'a'])).code).toBe(0);
  });

  it('kubectl auth can-i answers yes and no as kube prints them, for oneself and --as another', async () => {
    expect(await as.alice.run(['auth', 'can-i', 'list', 'pods', '-n', 'a'])).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await as.alice.run(['auth', 'can-i', 'create', 'pods', '-n', 'a'])).toMatchObject({ code: 1, stdout: 'no\n' });
    expect(await as.alice.run(['auth', 'can-i', 'list', 'pods', '-n', 'b'])).toMatchObject({ code: 1, stdout: 'no\n' });
    expect(await admin.run(['auth', 'can-i', 'create', 'pods'])).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await admin.run(['auth', 'can-i', 'list', 'pods', '--as=alice', '-n', 'a'])).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await admin.run(['auth', 'can-i', 'delete', 'pods', '--as=alice', '-n', 'a'])).toMatchObject({ code: 1, stdout: 'no\n' });
    expect(await as.alice.run(['auth', 'can-i', 'get', '/healthz'])).toMatchObject({ code: 0, stdout: 'yes\n' });
  });

  it('kubectl auth can-i --list shows the rules of the namespace', async () => {
    const out = await as.alice.ok(['auth', 'can-i', '--list', '-n', 'a']);
    const lines = out.trimEnd().split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(lines[0]).toEqual(['Resources', 'Non-Resource URLs', 'Resource Names', 'Verbs']);
    expect(lines).toContainEqual(['selfsubjectaccessreviews.authorization.k8s.io', '[]', '[]', '[create]']);
    expect(lines).toContainEqual(['selfsubjectrulesreviews.authorization.k8s.io', '[]', '[]', '[create]']);
    expect(lines).toContainEqual(['pods', '[]', '[]', '[get list watch]']);
    expect(lines).toContainEqual(['deployments.apps', '[]', '[]', '[get list watch]']);
    expect(lines).toContainEqual(['[/healthz]', '[]', '[get]']);
    expect(lines.some((l) => l[0] === 'secrets')).toBe(false);
    // In a namespace without bindings only the cluster-wide rules are left.
    const b = await as.alice.ok(['auth', 'can-i', '--list', '-n', 'b']);
    expect(b).not.toMatch(/^pods\s/m);
  });

  it('answers SubjectAccessReviews with kube\'s reason, and 403s them for those without the right', async () => {
    const sar = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'alice', resourceAttributes: { namespace: 'a', verb: 'get', resource: 'pods' } } };
    const r = await fetch(`${api.url}/apis/authorization.k8s.io/v1/subjectaccessreviews`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sar) });
    expect(r.status).toBe(201);
    const body = await r.json();
    expect(body.status).toEqual({ allowed: true, reason: 'RBAC: allowed by RoleBinding "alice-view/a" of ClusterRole "view" to User "alice"' });
    const denied = await fetch(`${api.url}/apis/authorization.k8s.io/v1/subjectaccessreviews`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...sar, spec: { ...sar.spec, resourceAttributes: { namespace: 'b', verb: 'get', resource: 'pods' } } }) });
    expect((await denied.json()).status).toEqual({ allowed: false });
    const invalid = await fetch(`${api.url}/apis/authorization.k8s.io/v1/subjectaccessreviews`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...sar, spec: { resourceAttributes: { verb: 'get', resource: 'pods' } } }) });
    expect(invalid.status).toBe(422);
    expect((await invalid.json()).message).toContain('spec.user: Invalid value: "": at least one of user or group must be specified');
    // --validate=false: kubectl validates a kind without a PATCH route against /openapi/v2, which Skiff does not serve.
    const byAlice = await as.alice.run(['create', '-f', '-', '-o', 'json', '--validate=false'], { input: JSON.stringify(sar) });
    expect(byAlice.stderr).toContain('User "alice" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope');
    // Nothing is stored: reading is not even a route.
    expect((await fetch(`${api.url}/apis/authorization.k8s.io/v1/subjectaccessreviews`)).status).toBe(405);
  });

  it('prevents escalation: admin binds view but not cluster-admin; edit cannot bind at all', async () => {
    await waitFor('bob is admin', async () => (await as.bob.run(['auth', 'can-i', 'create', 'rolebindings', '-n', 'a'])).code === 0);
    await as.bob.ok(['create', 'rolebinding', 'carol-view', '--clusterrole=view', '--user=carol', '-n', 'a']);
    const root = await as.bob.run(['create', 'rolebinding', 'carol-root', '--clusterrole=cluster-admin', '--user=carol', '-n', 'a']);
    expect(root.code).not.toBe(0);
    expect(root.stderr).toContain('rolebindings.rbac.authorization.k8s.io "carol-root" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:');
    const role = await as.bob.run(['create', 'role', 'nodes', '--verb=get', '--resource=nodes', '-n', 'a']);
    expect(role.stderr).toContain('is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}');
    await as.bob.ok(['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods', '-n', 'a']);
    const edit = await as.erin.run(['create', 'rolebinding', 'x', '--clusterrole=view', '--user=carol', '-n', 'a']);
    expect(edit.stderr).toContain('User "erin" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "a"');
  });

  it('prints kube\'s columns for roles and bindings', async () => {
    const wide = await admin.ok(['get', 'rolebinding', 'alice-view', '-n', 'a', '-o', 'wide']);
    const [header, row] = wide.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    expect(header).toEqual(['NAME', 'ROLE', 'AGE', 'USERS', 'GROUPS', 'SERVICEACCOUNTS']);
    expect(row[0]).toBe('alice-view');
    expect(row[1]).toBe('ClusterRole/view');
    expect(row[3]).toBe('alice');
    const crs = await admin.ok(['get', 'clusterrole', 'view', 'cluster-admin']);
    expect(crs.split('\n')[0]).toMatch(/^NAME\s+CREATED AT$/);
  });
});

describe('clusterrole-aggregation controller', () => {
  let cm: ControllerManagerProcess;
  beforeAll(async () => {
    cm = await startControllerManager(api.url, ['--controllers=clusterrole-aggregation-controller']);
  }, 60_000);
  afterAll(async () => {
    await cm?.stop();
  });

  it('adds a newly labelled ClusterRole\'s rules to edit (and admin) within seconds, and drops them when it goes', async () => {
    await admin.ok(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
        metadata: { name: 'widgets-edit', labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } },
        rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['create', 'delete'] }],
      }),
    });
    const hasWidgets = async (role: string) => ((await admin.json(['get', 'clusterrole', role])).rules ?? []).some((r: { resources?: string[] }) => r.resources?.includes('widgets'));
    await waitFor('edit aggregates widgets', () => hasWidgets('edit'));
    await waitFor('admin aggregates widgets through edit', () => hasWidgets('admin'));
    // kubectl sends a resource unknown to discovery as "widgets.example.com" in the core group, so ask with a SubjectAccessReview.
    const erinMay = async () => {
      const sar = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'erin', resourceAttributes: { namespace: 'a', verb: 'create', group: 'example.com', resource: 'widgets' } } };
      const r = await fetch(`${api.url}/apis/authorization.k8s.io/v1/subjectaccessreviews`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sar) });
      return (await r.json()).status.allowed === true;
    };
    await waitFor('erin may create widgets', erinMay);
    await admin.ok(['delete', 'clusterrole', 'widgets-edit']);
    await waitFor('edit drops widgets', async () => !(await hasWidgets('edit')));
    await waitFor('erin may no longer create widgets', async () => !(await erinMay()));
  });
});
