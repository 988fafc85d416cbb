// What kube's certificates helpers (pkg/apis/certificates/v1 helpers,
// pkg/controller/certificates) say about a CertificateSigningRequest: its
// approval state, its parsed request, and whether it is a well-formed kubelet
// client or serving request.

import type { CertificateSigningRequest } from '../../api/types.js';
import { parseCSR, type ParsedCSR } from '../../lib/x509.js';

export const signers = {
  kubeletClient: 'kubernetes.io/kube-apiserver-client-kubelet',
  kubeletServing: 'kubernetes.io/kubelet-serving',
  apiserverClient: 'kubernetes.io/kube-apiserver-client',
  legacyUnknown: 'kubernetes.io/legacy-unknown',
} as const;

const hasTrue = (csr: CertificateSigningRequest, type: string) => (csr.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

/** GetCertApprovalCondition. */
export function approvalOf(csr: CertificateSigningRequest): { approved: boolean; denied: boolean } {
  return { approved: hasTrue(csr, 'Approved'), denied: hasTrue(csr, 'Denied') };
}

export const isFailed = (csr: CertificateSigningRequest) => hasTrue(csr, 'Failed');

export function requestOf(csr: CertificateSigningRequest): ParsedCSR {
  return parseCSR(Buffer.from(csr.spec.request ?? '', 'base64').toString('utf8'));
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
const kubeletClientUsages = [['key encipherment', 'digital signature', 'client auth'], ['digital signature', 'client auth']];
const kubeletServingUsages = [['key encipherment', 'digital signature', 'server auth'], ['digital signature', 'server auth']];

/** ValidateKubeletClientCSR: an error message, or undefined when the request is a kubelet client certificate. */
export function kubeletClientProblem(req: ParsedCSR, usages: string[]): string | undefined {
  if (!sameSet(req.o, ['system:nodes'])) return 'subject organization is not system:nodes';
  if (req.dns.length || req.emails.length || req.ips.length || req.uris.length) return 'DNS, email, IP or URI subjectAltNames are not allowed';
  if (!req.cn.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  if (!kubeletClientUsages.some((u) => sameSet(u, [...new Set(usages)]))) return `usages did not match [${kubeletClientUsages[0].join(' ')}]`;
  return undefined;
}

/** ValidateKubeletServingCSR. */
export function kubeletServingProblem(req: ParsedCSR, usages: string[]): string | undefined {
  if (!sameSet(req.o, ['system:nodes'])) return 'subject organization is not system:nodes';
  if (!req.dns.length && !req.ips.length) return 'DNS or IP subjectAltName is required';
  if (req.emails.length || req.uris.length) return 'email and URI subjectAltNames are not allowed';
  if (!req.cn.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  if (!kubeletServingUsages.some((u) => sameSet(u, [...new Set(usages)]))) return `usages did not match [${kubeletServingUsages[0].join(' ')}]`;
  return undefined;
}

/** The kube-apiserver-client signer's rule: client auth only, no server usages. */
export function apiserverClientProblem(usages: string[]): string | undefined {
  const allowed = ['digital signature', 'key encipherment', 'client auth'];
  const bad = usages.filter((u) => !allowed.includes(u));
  if (bad.length) return `invalid usage for client certificate: ${bad[0]}`;
  if (!usages.includes('client auth')) return 'missing required usage for client certificate: client auth';
  return undefined;
}
