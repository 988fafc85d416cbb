import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { CertificateSigningRequest } from '../../api/types.js';
import { createCA, createCSR } from '../../lib/pki.js';
import { FakeInformerFactory, RecordingClient } from '../testing/fake.js';
import { CSRApprovingController } from './approver.js';
import { CSRSigningController } from './signer.js';

async function csr(name: string, o: { cn: string; org?: string[]; sans?: string[]; signer: string; usages: string[]; user: string; groups: string[]; approved?: boolean; expirationSeconds?: number }): Promise<CertificateSigningRequest> {
  const { csr: pem } = await createCSR({ cn: o.cn, o: o.org, sans: o.sans });
  return {
    apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name, resourceVersion: '5' },
    spec: { request: Buffer.from(pem).toString('base64'), signerName: o.signer, usages: o.usages, username: o.user, groups: o.groups, expirationSeconds: o.expirationSeconds },
    status: o.approved ? { conditions: [{ type: 'Approved', status: 'True', reason: 'AutoApproved' }] } : {},
  };
}

const kubeletClient = (name: string, user: string, groups: string[]) => csr(name, {
  cn: 'system:node:n1', org: ['system:nodes'], signer: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], user, groups,
});

function approver(allowed: string[]) {
  const client = new RecordingClient();
  const informers = new FakeInformerFactory();
  const asked: string[] = [];
  const c = new CSRApprovingController({ client, informers, authorize: async (_, sub) => { asked.push(sub); return allowed.includes(sub); } });
  return { c, client, asked, informer: informers.informerFor<CertificateSigningRequest>(R.certificatesigningrequests) };
}

describe('csrapproving', () => {
  it('approves a new kubelet client certificate when its creator may create certificatesigningrequests/nodeclient', async () => {
    const a = approver(['nodeclient']);
    const req = await kubeletClient('node-csr-1', 'system:bootstrap:abcdef', ['system:bootstrappers', 'system:authenticated']);
    a.client.seed('certificatesigningrequests', req);
    a.informer.set(req);
    await a.c.sync('node-csr-1');
    expect(a.asked).toEqual(['nodeclient']);
    const [p] = a.client.of('patch');
    expect(p.patch).toEqual({ metadata: { resourceVersion: '5' }, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'Auto approving kubelet client certificate after SubjectAccessReview.' }] } });
  });

  it('asks selfnodeclient first for a node renewing its own certificate, and leaves it when the review says no', async () => {
    const a = approver([]);
    const req = await kubeletClient('renew', 'system:node:n1', ['system:nodes']);
    a.informer.set(req);
    await a.c.sync('renew');
    expect(a.asked).toEqual(['selfnodeclient', 'nodeclient']);
    expect(a.client.of('patch')).toEqual([]);
  });

  it('does not recognize a kubelet client request with other groups, SANs or usages', async () => {
    const a = approver(['nodeclient', 'selfnodeclient']);
    const bad = [
      await csr('org', { cn: 'system:node:n1', org: ['system:masters'], signer: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], user: 'system:bootstrap:x', groups: [] }),
      await csr('san', { cn: 'system:node:n1', org: ['system:nodes'], sans: ['10.0.0.1'], signer: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], user: 'system:bootstrap:x', groups: [] }),
      await csr('usage', { cn: 'system:node:n1', org: ['system:nodes'], signer: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth', 'server auth'], user: 'system:bootstrap:x', groups: [] }),
    ];
    for (const r of bad) {
      a.informer.set(r);
      await a.c.sync(r.metadata.name!);
    }
    expect(a.asked).toEqual([]);
    expect(a.client.of('patch')).toEqual([]);
  });

  it("approves a node's own serving certificate and its kube-proxy client certificate, not another node's or a bootstrapper's", async () => {
    const a = approver(['selfnodeclient']);
    const serving = await csr('serving', { cn: 'system:node:n1', org: ['system:nodes'], sans: ['n1', '192.168.1.5'], signer: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'], user: 'system:node:n1', groups: ['system:nodes'] });
    const foreign = await csr('foreign', { cn: 'system:node:n2', org: ['system:nodes'], sans: ['n2'], signer: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'], user: 'system:node:n1', groups: ['system:nodes'] });
    const otherName = await csr('othername', { cn: 'system:node:n1', org: ['system:nodes'], sans: ['kubernetes.default'], signer: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'], user: 'system:node:n1', groups: ['system:nodes'] });
    const proxy = await csr('proxy', { cn: 'system:kube-proxy', signer: 'kubernetes.io/kube-apiserver-client', usages: ['digital signature', 'client auth'], user: 'system:node:n1', groups: ['system:nodes'] });
    const proxyByBootstrapper = await csr('proxy-bs', { cn: 'system:kube-proxy', signer: 'kubernetes.io/kube-apiserver-client', usages: ['digital signature', 'client auth'], user: 'system:bootstrap:abcdef', groups: ['system:bootstrappers'] });
    for (const r of [serving, foreign, otherName, proxy, proxyByBootstrapper]) {
      a.informer.set(r);
      await a.c.sync(r.metadata.name!);
    }
    expect(a.client.of('patch').map((p) => p.name)).toEqual(['serving', 'proxy']);
  });

  it('leaves requests already approved, denied or issued', async () => {
    const a = approver(['nodeclient']);
    const done = await kubeletClient('done', 'system:bootstrap:abcdef', ['system:bootstrappers']);
    done.status = { conditions: [{ type: 'Denied', status: 'True' }] };
    a.informer.set(done);
    await a.c.sync('done');
    expect(a.asked).toEqual([]);
  });
});

describe('csrsigning', async () => {
  const ca = await createCA('test-ca');
  const signer = () => {
    const client = new RecordingClient();
    const informers = new FakeInformerFactory();
    const c = new CSRSigningController({ client, informers, ca, durationSeconds: 3600 * 24 });
    return { c, client, informer: informers.informerFor<CertificateSigningRequest>(R.certificatesigningrequests) };
  };

  it('issues an approved kubelet client request with the CA, for the shorter of its duration and the requested one', async () => {
    const s = signer();
    const req = await csr('ok', { cn: 'system:node:n1', org: ['system:nodes'], signer: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], user: 'u', groups: [], approved: true, expirationSeconds: 3600 });
    s.client.seed('certificatesigningrequests', req);
    s.informer.set(req);
    await s.c.sync('ok');
    const [p] = s.client.of('patch');
    const cert = new X509Certificate(Buffer.from((p.patch as any).status.certificate, 'base64').toString());
    expect(cert.subject).toBe('O=system:nodes\nCN=system:node:n1');
    expect(cert.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    const lifetime = Date.parse(cert.validTo) - Date.now();
    expect(lifetime).toBeLessThanOrEqual(3600_000);
    expect(lifetime).toBeGreaterThan(3000_000);
  });

  it('signs nothing unapproved, and fails a request its signer refuses', async () => {
    const s = signer();
    const pending = await csr('pending', { cn: 'system:node:n1', org: ['system:nodes'], signer: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], user: 'u', groups: [] });
    const bad = await csr('bad', { cn: 'system:node:n1', org: ['system:nodes'], signer: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth', 'server auth'], user: 'u', groups: [], approved: true });
    const other = await csr('other', { cn: 'x', signer: 'example.com/mine', usages: ['client auth'], user: 'u', groups: [], approved: true });
    for (const r of [pending, bad, other]) {
      s.client.seed('certificatesigningrequests', r);
      s.informer.set(r);
      await s.c.sync(r.metadata.name!);
    }
    const patches = s.client.of('patch');
    expect(patches.map((p) => p.name)).toEqual(['bad']);
    expect((patches[0].patch as any).status.conditions.at(-1)).toMatchObject({ type: 'Failed', status: 'True', reason: 'SignerValidationFailure' });
  });
});
