// CertificateSigningRequest admission (plugin/pkg/admission/certificates):
// the creator's identity written into spec (kube's csrStrategy does it from
// the request's user), CertificateApproval (approving needs `approve` on the
// signer), CertificateSigning (issuing needs `sign` on the signer) and
// CertificateSubjectRestriction (no system:masters certificates from the
// kube-apiserver-client signer).

import { isDeepStrictEqual } from 'node:util';
import { errors } from '../../api/errors.js';
import { parseCSR } from '../../lib/x509.js';
import type { AdmissionAttributes, AdmissionPlugin, Authorizer } from '../auth/types.js';

const csrs = (a: AdmissionAttributes) => a.resource.plural === 'certificatesigningrequests' && a.resource.group === 'certificates.k8s.io';

/** Not a named plugin in kube: the strategy's PrepareForCreate, which needs the request's user. */
export class CSRUserInfo implements AdmissionPlugin {
  readonly name = 'CertificateSigningRequestUserInfo';
  admit(a: AdmissionAttributes): void {
    if (!csrs(a) || a.operation !== 'CREATE' || !a.object) return;
    const spec = (a.object.spec ??= {});
    spec.username = a.user.username;
    if (a.user.uid) spec.uid = a.user.uid; else delete spec.uid;
    if (a.user.groups.length) spec.groups = [...a.user.groups]; else delete spec.groups;
    if (a.user.extra && Object.keys(a.user.extra).length) spec.extra = structuredClone(a.user.extra); else delete spec.extra;
  }
}

/** certificates.IsAuthorizedForSignerName: the exact signer name, or its "<domain>/*" wildcard. */
export async function authorizedForSigner(authorizer: Authorizer, a: AdmissionAttributes, verb: string, signerName: string): Promise<boolean> {
  const ask = async (name: string) => (await authorizer.authorize({
    user: a.user, verb, resourceRequest: true, path: '', apiGroup: 'certificates.k8s.io', apiVersion: '*', resource: 'signers', subresource: '', namespace: '', name,
  })).decision === 'Allow';
  if (await ask(signerName)) return true;
  const slash = signerName.indexOf('/');
  return slash > 0 && ask(`${signerName.slice(0, slash)}/*`);
}

const forbidden = (a: AdmissionAttributes, why: string) => errors.forbiddenResource(a.resource.plural, a.resource.group, a.name, why);

export class CertificateApproval implements AdmissionPlugin {
  readonly name = 'CertificateApproval';
  constructor(private readonly authorizer: Authorizer) {}
  async validate(a: AdmissionAttributes): Promise<void> {
    if (!csrs(a) || a.operation !== 'UPDATE' || a.subresource !== 'approval' || !a.object) return;
    const signer = a.object.spec?.signerName ?? '';
    if (!(await authorizedForSigner(this.authorizer, a, 'approve', signer))) throw forbidden(a, `user not permitted to approve requests with signerName "${signer}"`);
  }
}

export class CertificateSigning implements AdmissionPlugin {
  readonly name = 'CertificateSigning';
  constructor(private readonly authorizer: Authorizer) {}
  async validate(a: AdmissionAttributes): Promise<void> {
    if (!csrs(a) || a.operation !== 'UPDATE' || a.subresource !== 'status' || !a.object) return;
    // Only a change of the issued certificate (or its failure) is signing; a no-op status write is not.
    if (isDeepStrictEqual(a.object.status ?? {}, a.oldObject?.status ?? {})) return;
    const signer = a.object.spec?.signerName ?? '';
    if (!(await authorizedForSigner(this.authorizer, a, 'sign', signer))) throw forbidden(a, `user not permitted to sign requests with signerName "${signer}"`);
  }
}

export class CertificateSubjectRestriction implements AdmissionPlugin {
  readonly name = 'CertificateSubjectRestriction';
  validate(a: AdmissionAttributes): void {
    if (!csrs(a) || a.operation !== 'CREATE' || !a.object) return;
    if (a.object.spec?.signerName !== 'kubernetes.io/kube-apiserver-client') return;
    let groups: string[] = [];
    try {
      groups = parseCSR(Buffer.from(a.object.spec.request ?? '', 'base64').toString('utf8')).o;
    } catch {
      return; // validation refuses a request that does not parse
    }
    if (groups.includes('system:masters')) throw forbidden(a, 'use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed');
  }
}
