// The Node authorizer, NodeRestriction and Pod Security admission against the
// real API server, through the real kubectl: what a kubelet's identity may
// read and write, and what a namespace's Pod Security labels refuse or warn.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { tlsDispatcher } from '../util/pki.js';
import { waitFor } from '../util/ports.js';

let api: ApiServerProcess;
let admin: Kubectl;

const yaml = (o: unknown) => JSON.stringify(o);
const pod = (name: string, namespace: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

beforeAll(async () => {
  // As kubeadm's API server: Node then RBAC, whose bootstrap policy binds nothing to system:nodes but
  // discovery. ServiceAccount admission is off: no controller makes default ServiceAccounts here.
  api = await startApiServer({ args: ['--authorization-mode=Node,RBAC', '--disable-admission-plugins=ServiceAccount'] });
  admin = new Kubectl(api.url);
});
afterAll(async () => {
  await api?.stop();
});

describe('Pod Security admission', () => {
  it('refuses a hostPath pod in a namespace labelled enforce=baseline with kube\'s message', async () => {
    await admin.ok(['create', 'namespace', 'psa-baseline']);
    await admin.ok(['label', 'namespace', 'psa-baseline', 'pod-security.kubernetes.io/enforce=baseline']);
    const r = await admin.run(['apply', '-f', '-'], { input: yaml(pod('host', 'psa-baseline', { volumes: [{ name: 'host', hostPath: { path: '/' } }] })) });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('Error from server (Forbidden): error when creating "STDIN": pods "host" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "host")');
    // A pod baseline allows is created as before.
    await admin.ok(['apply', '-f', '-'], { input: yaml(pod('plain', 'psa-baseline')) });
  });

  it('lets a pod through under warn=restricted, with kubectl\'s Warning line', async () => {
    await admin.ok(['create', 'namespace', 'psa-warn']);
    await admin.ok(['label', 'namespace', 'psa-warn', 'pod-security.kubernetes.io/warn=restricted']);
    const r = await admin.run(['apply', '-f', '-'], { input: yaml(pod('web', 'psa-warn')) });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pod/web created');
    expect(r.stderr).toContain('Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
      + 'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
      + 'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")');
  });

  it('warns, without refusing, about a Deployment whose template the namespace would refuse', async () => {
    await admin.ok(['create', 'namespace', 'psa-deploy']);
    await admin.ok(['label', 'namespace', 'psa-deploy', 'pod-security.kubernetes.io/enforce=baseline', 'pod-security.kubernetes.io/warn=baseline']);
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'hostnet', namespace: 'psa-deploy' },
      spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] } } },
    };
    const r = await admin.run(['apply', '-f', '-'], { input: yaml(deployment) });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Warning: would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)');
  });

  it('warns about existing pods when a namespace\'s enforce level is raised, and refuses an invalid level', async () => {
    await admin.ok(['create', 'namespace', 'psa-raise']);
    await admin.ok(['apply', '-f', '-'], { input: yaml(pod('hp', 'psa-raise', { volumes: [{ name: 'host', hostPath: { path: '/tmp' } }] })) });
    const r = await admin.run(['label', 'namespace', 'psa-raise', 'pod-security.kubernetes.io/enforce=baseline']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Warning: existing pods in namespace "psa-raise" violate the new PodSecurity enforce level "baseline:latest"');
    expect(r.stderr).toContain('Warning: hp: hostPath volumes');
    const bad = await admin.run(['label', 'namespace', 'psa-raise', '--overwrite', 'pod-security.kubernetes.io/enforce=strict']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The Namespace "psa-raise" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted');
  });
});

describe('a kubelet\'s identity', () => {
  let n1: Kubectl;

  beforeAll(async () => {
    n1 = new Kubectl(api.url, await api.kubeconfigFor('system:node:n1', ['system:nodes']));
    await admin.ok(['create', 'namespace', 'node-ns']);
    await admin.ok(['-n', 'node-ns', 'create', 'secret', 'generic', 'used', '--from-literal=k=v']);
    await admin.ok(['-n', 'node-ns', 'create', 'secret', 'generic', 'unused', '--from-literal=k=v']);
    await admin.ok(['apply', '-f', '-'], { input: yaml(pod('mine', 'node-ns', { nodeName: 'n1', volumes: [{ name: 's', secret: { secretName: 'used' } }] })) });
    await admin.ok(['apply', '-f', '-'], { input: yaml(pod('theirs', 'node-ns', { nodeName: 'n2' })) });
  });

  it('reads a secret a pod bound to its node uses, and no other', async () => {
    // The graph follows pods through a watch: the new binding shows up shortly.
    await waitFor('node n1 reads secret used', async () => (await n1.run(['-n', 'node-ns', 'get', 'secret', 'used'])).code === 0, 20_000);
    const r = await n1.run(['-n', 'node-ns', 'get', 'secret', 'unused']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('secrets "unused" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "node-ns"');
    expect(r.stderr).toContain("no relationship found between node 'n1' and this object");
    const list = await n1.run(['-n', 'node-ns', 'get', 'secrets']);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toContain('cannot list resource "secrets"');
  });

  it('updates the status of its own pods but not of another node\'s', async () => {
    // As the kubelet writes status: a merge patch of pods/status (kubectl patch would read pods/status first, which no node may).
    const conn = await api.connectionFor('system:node:n1', ['system:nodes']);
    const patchStatus = (name: string) => fetch(`${api.url}/api/v1/namespaces/node-ns/pods/${name}/status`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }),
      dispatcher: tlsDispatcher(conn),
    } as RequestInit);
    const own = await patchStatus('mine');
    expect(own.status).toBe(200);
    expect((await own.json()).status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'False' }));
    const other = await patchStatus('theirs');
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({
      kind: 'Status', reason: 'Forbidden', code: 403, details: { name: 'theirs', kind: 'pods' },
      message: 'pods "theirs" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself',
    });
  });

  it('deletes only its own pods, and registers only its own Node', async () => {
    const r = await n1.run(['-n', 'node-ns', 'delete', 'pod', 'theirs', '--grace-period=0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('pods "theirs" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself');
    const node = (name: string) => yaml({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
    await n1.ok(['create', '-f', '-'], { input: node('n1') });
    const other = await n1.run(['create', '-f', '-'], { input: node('n2') });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
    const label = await n1.run(['label', 'node', 'n1', 'node-restriction.kubernetes.io/secure=true']);
    expect(label.code).not.toBe(0);
    expect(label.stderr).toContain('nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/secure');
  });
});
