// certificates.k8s.io/v1 CertificateSigningRequest (pkg/registry/certificates/certificates,
// pkg/apis/certificates/validation, printCertificateSigningRequest).

import type { KubeObject, StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { isDNS1123Subdomain } from '../../labels.js';
import { field } from '../../schemas/rules.js';
import type * as Pki from '../../../lib/x509.js';
import { age, ageCol, humanDuration, nameCol } from '../../printing.js';
import { metaTime } from '../../time.js';

// The X.509 stack is loaded by the API server only (KindDefinition.load).
let pkiModule: typeof Pki | undefined;
function pki(): typeof Pki {
  if (!pkiModule) throw new Error('CertificateSigningRequest validation used before the kind was loaded');
  return pkiModule;
}

const bytesValue = '[]byte{...}';
const decodeB64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : '');
const approvalTypes = ['Approved', 'Denied'];

function validateCSR(obj: KubeObject, old: KubeObject | undefined, subresource?: string): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = obj.spec ?? {};
  if (!old) {
    if (!spec.request) out.push(field.required('spec.request'));
    else {
      try { pki().parseCSR(decodeB64(spec.request)); } catch (e) { out.push(field.invalid('spec.request', bytesValue, (e as Error).message)); }
    }
    const signer: string = spec.signerName ?? '';
    if (!signer) out.push(field.required('spec.signerName'));
    else {
      const [domain, ...path] = signer.split('/');
      if (!path.length || !path.join('/')) out.push(field.invalid('spec.signerName', signer, 'must be a fully qualified domain and path of the form \'example.com/signer-name\''));
      else if (isDNS1123Subdomain(domain).length || !domain.includes('.')) out.push(field.invalid('spec.signerName', signer, 'should be a domain with at least two segments separated by dots'));
    }
    if (spec.expirationSeconds != null && spec.expirationSeconds < 600) out.push(field.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
    const usages: string[] = spec.usages ?? [];
    if (!usages.length) out.push(field.required('spec.usages', 'usages must be provided'));
    const seen = new Set<string>();
    usages.forEach((u, i) => {
      if (!pki().knownKeyUsages.includes(u)) out.push(field.notSupported(`spec.usages[${i}]`, u, pki().knownKeyUsages));
      if (seen.has(u)) out.push(field.duplicate(`spec.usages[${i}]`, u));
      seen.add(u);
    });
  }
  const conditions: { type?: string; status?: string }[] = obj.status?.conditions ?? [];
  const types = new Set<string>();
  conditions.forEach((c, i) => {
    const f = `status.conditions[${i}]`;
    if (!c.type) out.push(field.required(`${f}.type`));
    if (!c.status) out.push(field.required(`${f}.status`));
    else if (!['True', 'False', 'Unknown'].includes(c.status)) out.push(field.notSupported(`${f}.status`, c.status, ['False', 'True', 'Unknown']));
    else if (['Approved', 'Denied', 'Failed'].includes(c.type ?? '') && c.status !== 'True') out.push(field.notSupported(`${f}.status`, c.status, ['True']));
    if (c.type && ['Approved', 'Denied', 'Failed'].includes(c.type)) {
      if (types.has(c.type)) out.push(field.duplicate(`${f}.type`, c.type));
      types.add(c.type);
    }
  });
  if (types.has('Approved') && types.has('Denied')) out.push(field.invalid('status.conditions', 'Approved', 'Approved and Denied conditions are mutually exclusive'));
  const cert = obj.status?.certificate;
  if (cert) {
    const text = decodeB64(cert);
    if (!text.includes('-----BEGIN CERTIFICATE-----')) out.push(field.invalid('status.certificate', '<certificate data>', 'must contain at least one CERTIFICATE PEM block'));
  }
  if (old) {
    const oldCert = old.status?.certificate;
    if (oldCert && cert !== oldCert) out.push(field.invalid('status.certificate', '<certificate data>', 'updates may not modify existing certificate content'));
    if (subresource === 'approval') {
      for (const t of approvalTypes) {
        if ((old.status?.conditions ?? []).some((c: { type?: string }) => c.type === t) && !types.has(t)) out.push(field.forbidden('status.conditions', `updates may not remove a condition of type "${t}"`));
      }
    }
  }
  return out;
}

// csrStrategy, csrStatusStrategy and csrApprovalStrategy: the spec never changes after create
// (username and groups are the creator's, set by admission); /approval writes only the Approved and Denied
// conditions, /status everything else (the certificate), so approving and issuing stay separate powers.
const isApproval = (c: { type?: string }) => c.type === 'Approved' || c.type === 'Denied';
function csrPrepareForUpdate(obj: KubeObject, old: KubeObject, subresource?: string): void {
  obj.spec = structuredClone(old.spec);
  if (subresource !== 'status' && subresource !== 'approval') return;
  const oldConds: { type?: string }[] = old.status?.conditions ?? [];
  const newConds: { type?: string }[] = obj.status?.conditions ?? [];
  const conditions = subresource === 'approval'
    ? [...newConds.filter(isApproval), ...oldConds.filter((c) => !isApproval(c))]
    : [...oldConds.filter(isApproval), ...newConds.filter((c) => !isApproval(c))];
  const status = subresource === 'approval' ? { ...(old.status ?? {}) } : { ...(obj.status ?? {}) };
  if (conditions.length) status.conditions = conditions.map((c: any) => {
    // populateConditionTimestamps: a condition without times gets now; an unchanged one keeps its old times.
    const before: any = oldConds.find((o) => o.type === c.type);
    const stamp = metaTime();
    const same = before && before.status === c.status && before.reason === c.reason && before.message === c.message;
    return { ...c, lastUpdateTime: c.lastUpdateTime ?? (same ? before.lastUpdateTime : stamp), lastTransitionTime: c.lastTransitionTime ?? (before?.status === c.status ? before.lastTransitionTime ?? stamp : stamp) };
  });
  else delete status.conditions;
  obj.status = status;
}

/** extractCSRStatus: Denied wins over Approved, else Pending; then Failed and Issued. */
function csrCondition(csr: KubeObject): string {
  const has = (t: string) => (csr.status?.conditions ?? []).some((c: { type?: string }) => c.type === t);
  let out = has('Denied') ? 'Denied' : has('Approved') ? 'Approved' : 'Pending';
  if (has('Failed')) out += ',Failed';
  if (csr.status?.certificate) out += ',Issued';
  return out;
}

export default defineKind({
  async load() { pkiModule ??= await import('../../../lib/x509.js'); },
  resource: entry({ group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest', plural: 'certificatesigningrequests', singular: 'certificatesigningrequest', shortNames: ['csr'], namespaced: false,
    subresources: ['status', 'approval'], hasStatus: true }),

  validate: (obj, { old, subresource }) => validateCSR(obj, old, subresource),

  strategy: { prepareForCreate: (csr) => { csr.status = {}; }, prepareForUpdate: csrPrepareForUpdate },

  printer: {
    columns: [nameCol, ageCol,
      ['SignerName', 'string', 'signerName indicates the requested signer, and is a qualified name.'],
      ['Requestor', 'string', 'request contains an x509 certificate signing request encoded in a "CERTIFICATE REQUEST" PEM block. When serialized as JSON or YAML, the data is additionally base64-encoded.'],
      ['RequestedDuration', 'string', 'expirationSeconds is the requested duration of validity of the issued certificate.'],
      ['Condition', 'string', 'conditions applied to the request. Known conditions are "Approved", "Denied", and "Failed".']],
    cells: (c, since) => [c.metadata.name, age(c, since), c.spec?.signerName ?? '', c.spec?.username ?? '',
      c.spec?.expirationSeconds != null ? humanDuration(c.spec.expirationSeconds * 1000) : '<none>', csrCondition(c)],
  },
});
