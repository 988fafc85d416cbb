// The csrsigning controller (pkg/controller/certificates/signer): issues the
// certificate of an approved request for the signers it serves, with the
// cluster CA (--cluster-signing-cert-file, --cluster-signing-key-file), for
// min(--cluster-signing-duration, spec.expirationSeconds). A request its
// signer's rules refuse gets a Failed condition instead, as kube's.

import { isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { CertificateSigningRequest } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { signCSR, verifyCSR, type KeyPair } from '../../lib/pki.js';
import { QueueController } from '../controller.js';
import { apiserverClientProblem, approvalOf, isFailed, kubeletClientProblem, kubeletServingProblem, requestOf, signers } from './csr.js';

export interface SignerOptions {
  client: Client;
  informers: InformerFactory;
  ca: KeyPair;
  /** --cluster-signing-duration, default a year. */
  durationSeconds?: number;
}

/** Each signer's validation (isRequestForSignerFn): a reason to fail the request, or undefined. */
const validators: Record<string, (csr: CertificateSigningRequest) => string | undefined> = {
  [signers.kubeletClient]: (csr) => kubeletClientProblem(requestOf(csr), csr.spec.usages ?? []),
  [signers.kubeletServing]: (csr) => kubeletServingProblem(requestOf(csr), csr.spec.usages ?? []),
  [signers.apiserverClient]: (csr) => apiserverClientProblem(csr.spec.usages ?? []),
};

export class CSRSigningController extends QueueController {
  private readonly client: Client;
  private readonly informer: Informer<CertificateSigningRequest>;
  private readonly ca: KeyPair;
  private readonly durationSeconds: number;

  constructor(o: SignerOptions) {
    super('csrsigning', logger('csrsigning-controller'));
    if (!o.ca.cert.includes('BEGIN CERTIFICATE') || !o.ca.key.includes('PRIVATE KEY')) throw new Error('csrsigning needs the cluster CA certificate and key (PEM)');
    this.client = o.client;
    this.ca = o.ca;
    this.durationSeconds = o.durationSeconds ?? 365 * 24 * 3600;
    this.informer = o.informers.informerFor<CertificateSigningRequest>(R.certificatesigningrequests);
    const enqueue = (c: CertificateSigningRequest) => this.queue.add(c.metadata.name!);
    this.informer.addEventHandler({ onAdd: enqueue, onUpdate: (_, c) => enqueue(c) });
  }

  async sync(name: string): Promise<void> {
    const csr = this.informer.lister.get(name);
    if (!csr || csr.status?.certificate || isFailed(csr) || !approvalOf(csr).approved) return;
    const validate = validators[csr.spec.signerName];
    if (!validate) return; // another signer's request
    let problem: string | undefined;
    try {
      problem = validate(csr);
      if (!problem && !(await verifyCSR(Buffer.from(csr.spec.request, 'base64').toString('utf8')))) problem = 'the request is not signed by its own key';
    } catch (e) {
      problem = `unable to parse csr: ${(e as Error).message}`;
    }
    const status = problem
      ? { conditions: [...(csr.status?.conditions ?? []), { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: problem }] }
      : { certificate: Buffer.from(await signCSR(this.ca, Buffer.from(csr.spec.request, 'base64').toString('utf8'), {
        usages: csr.spec.usages ?? [],
        durationSeconds: Math.min(this.durationSeconds, csr.spec.expirationSeconds ?? Infinity),
      })).toString('base64') };
    try {
      await this.client.resource<CertificateSigningRequest>(R.certificatesigningrequests).patch(name, 'merge',
        { metadata: { resourceVersion: csr.metadata.resourceVersion }, status }, { subresource: 'status' });
      this.log.info(problem ? 'refused certificate signing request' : 'signed certificate signing request', { csr: name, signerName: csr.spec.signerName, ...(problem ? { reason: problem } : {}) });
    } catch (e) {
      if (isConflict(e) || isNotFound(e)) return;
      throw e;
    }
  }
}
