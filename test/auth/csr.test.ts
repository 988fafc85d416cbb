// certificates.k8s.io/v1 CertificateSigningRequest against the real API
// server (Node,RBAC) with the real kubectl: the creator's identity is written
// by the server, `kubectl get csr` prints kube's columns, `kubectl
// certificate approve|deny` go through /approval and need `approve` on the
// signer, issuing goes through /status and needs `sign`, and the
// kube-apiserver-client signer never issues system:masters.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCSR } from '../../lib/pki.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';

let api: ApiServerProcess;
let kubectl: Kubectl;

beforeAll(async () => {
  api = await startApiServer();
  kubectl = new Kubectl(api.url);
}, 60_000);
afterAll(async () => {
  await api?.stop();
});

async function manifest(name: string, o: { cn: string; org?: string[]; signer?: string; usages?: string[]; expirationSeconds?: number }): Promise<string> {
  const { csr } = await createCSR({ cn: o.cn, o: o.org });
  return JSON.stringify({
    apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name },
    spec: { request: Buffer.from(csr).toString('base64'), signerName: o.signer ?? 'kubernetes.io/kube-apiserver-client', usages: o.usages ?? ['client auth'], expirationSeconds: o.expirationSeconds },
  });
}

describe('CertificateSigningRequest', () => {
  it("records its creator, prints kube's columns, and is approved by kubectl certificate approve", async () => {
    const alice = new Kubectl(api.url, await api.kubeconfigFor('alice', ['dev']));
    await kubectl.ok(['create', 'clusterrole', 'csr-creator', '--verb=create,get', '--resource=certificatesigningrequests']);
    await kubectl.ok(['create', 'clusterrolebinding', 'alice-csr', '--clusterrole=csr-creator', '--user=alice']);
    await alice.ok(['create', '-f', '-'], { input: await manifest('alice-1', { cn: 'alice', expirationSeconds: 3600 }) });
    const stored = await kubectl.json(['get', 'csr', 'alice-1']);
    expect(stored.spec).toMatchObject({ username: 'alice', groups: ['dev', 'system:authenticated'], signerName: 'kubernetes.io/kube-apiserver-client', expirationSeconds: 3600 });
    expect(await kubectl.ok(['get', 'csr', 'alice-1'])).toMatch(/^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION\nalice-1\s+\d+s\s+kubernetes.io\/kube-apiserver-client\s+alice\s+60m\s+Pending\n$/);

    expect(await kubectl.ok(['certificate', 'approve', 'alice-1'])).toContain('certificatesigningrequest.certificates.k8s.io/alice-1 approved');
    const approved = await kubectl.json(['get', 'csr', 'alice-1']);
    expect(approved.status.conditions).toEqual([expect.objectContaining({ type: 'Approved', status: 'True', reason: 'KubectlApprove' })]);
    expect(approved.spec.username).toBe('alice');
    expect(await kubectl.ok(['get', 'csr', 'alice-1', '--no-headers'])).toMatch(/\sApproved\n$/);
  });

  it('needs approve on the signer to approve, and refuses Approved with Denied', async () => {
    await kubectl.ok(['create', '-f', '-'], { input: await manifest('bob-1', { cn: 'bob' }) });
    await kubectl.ok(['create', 'clusterrole', 'csr-approval', '--verb=get,update', '--resource=certificatesigningrequests,certificatesigningrequests/approval']);
    await kubectl.ok(['create', 'clusterrolebinding', 'bob-approval', '--clusterrole=csr-approval', '--user=bob']);
    const bob = new Kubectl(api.url, await api.kubeconfigFor('bob'));
    const r = await bob.run(['certificate', 'approve', 'bob-1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('certificatesigningrequests.certificates.k8s.io "bob-1" is forbidden: user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"');
    await kubectl.ok(['certificate', 'deny', 'bob-1']);
    // kubectl itself refuses to approve a denied request; the server refuses it too.
    const denied = await kubectl.json(['get', 'csr', 'bob-1']);
    denied.status.conditions.push({ type: 'Approved', status: 'True', reason: 'Both' });
    const both = await fetch(`${api.url}/apis/certificates.k8s.io/v1/certificatesigningrequests/bob-1/approval`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(denied) });
    expect(both.status).toBe(422);
    expect((await both.json()).message).toContain('Approved and Denied conditions are mutually exclusive');
  });

  it('refuses system:masters from the kube-apiserver-client signer, a request that is not a CSR, and a short duration', async () => {
    const masters = await kubectl.run(['create', '-f', '-'], { input: await manifest('masters', { cn: 'evil', org: ['system:masters'] }) });
    expect(masters.stderr).toContain('use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed');
    const notPem = JSON.parse(await manifest('garbage', { cn: 'x' }));
    notPem.spec.request = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64');
    const garbage = await kubectl.run(['create', '-f', '-'], { input: JSON.stringify(notPem) });
    expect(garbage.stderr).toContain('spec.request: Invalid value');
    expect(garbage.stderr).toContain('PEM block type must be CERTIFICATE REQUEST');
    const short = await kubectl.run(['create', '-f', '-'], { input: await manifest('short', { cn: 'x', expirationSeconds: 60 }) });
    expect(short.stderr).toContain('spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)');
  });

  it('keeps spec on update and takes the certificate only through /status', async () => {
    await kubectl.ok(['create', '-f', '-'], { input: await manifest('spec-1', { cn: 'carol' }) });
    const csr = await kubectl.json(['get', 'csr', 'spec-1']);
    csr.spec.username = 'mallory';
    csr.status = { certificate: Buffer.from('x').toString('base64') };
    await kubectl.ok(['replace', '-f', '-'], { input: JSON.stringify(csr) });
    const after = await kubectl.json(['get', 'csr', 'spec-1']);
    expect(after.spec.username).toBe('kubernetes-admin');
    expect(after.status?.certificate).toBeUndefined();
  });
});
