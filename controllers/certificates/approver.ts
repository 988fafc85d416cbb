// The csrapproving controller (pkg/controller/certificates/approver/sarapprove.go):
// approves a kubelet's client certificate request when a SubjectAccessReview
// says its creator may: create on certificatesigningrequests/nodeclient for a
// new node (kubeadm binds system:bootstrappers), /selfnodeclient for a node
// renewing its own certificate (kubeadm binds system:nodes). Anything else is
// left for an administrator (`kubectl certificate approve`).
//
// Beyond kube, for `skiff join` (README "Multi-node on VMs"), two requests a
// joined node makes for itself are approved when its creator may
// /selfnodeclient: its kubelet serving certificate (signer kubelet-serving,
// subject and requestor its own system:node:<name>, DNS names only its own
// name; the IP addresses are the ones the node claims, as it claims them in
// its Node's status, which is why kube leaves these to the administrator) and
// its kube-proxy's client certificate (signer kube-apiserver-client, CN
// system:kube-proxy, no groups, no SANs, created by a node).

import { isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { CertificateSigningRequest, KubeObject } from '../../api/types.js';
import { deepCopy } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';
import { approvalOf, kubeletClientProblem, kubeletServingProblem, requestOf, signers } from './csr.js';
import type { ParsedCSR } from '../../lib/pki.js';

/** Asks whether the CSR's creator may create certificatesigningrequests/<subresource>. */
export type CSRAuthorize = (csr: CertificateSigningRequest, subresource: string) => Promise<boolean>;

export interface ApproverOptions {
  client: Client;
  informers: InformerFactory;
  /** Defaults to a SubjectAccessReview through the client. */
  authorize?: CSRAuthorize;
}

interface Recognizer {
  subresource: 'nodeclient' | 'selfnodeclient';
  message: string;
  recognize(csr: CertificateSigningRequest, req: ParsedCSR): boolean;
}

const usagesOf = (csr: CertificateSigningRequest) => csr.spec.usages ?? [];
const isNodeClient = (csr: CertificateSigningRequest, req: ParsedCSR) => csr.spec.signerName === signers.kubeletClient && !kubeletClientProblem(req, usagesOf(csr));
const nodeNameOf = (cn: string) => (cn.startsWith('system:node:') ? cn.slice('system:node:'.length) : '');

export const recognizers: Recognizer[] = [
  {
    subresource: 'selfnodeclient', message: 'Auto approving self kubelet client certificate after SubjectAccessReview.',
    recognize: (csr, req) => csr.spec.username === req.cn && isNodeClient(csr, req),
  },
  { subresource: 'nodeclient', message: 'Auto approving kubelet client certificate after SubjectAccessReview.', recognize: isNodeClient },
  {
    subresource: 'selfnodeclient', message: 'Auto approving kubelet serving certificate of the node itself after SubjectAccessReview.',
    recognize: (csr, req) => csr.spec.signerName === signers.kubeletServing && csr.spec.username === req.cn && !kubeletServingProblem(req, usagesOf(csr))
      && req.dns.every((d) => d === nodeNameOf(req.cn)),
  },
  {
    subresource: 'selfnodeclient', message: 'Auto approving kube-proxy client certificate requested by a node after SubjectAccessReview.',
    recognize: (csr, req) => csr.spec.signerName === signers.apiserverClient && (csr.spec.groups ?? []).includes('system:nodes')
      && (csr.spec.username ?? '').startsWith('system:node:') && req.cn === 'system:kube-proxy' && req.o.length === 0
      && !req.dns.length && !req.ips.length && !req.emails.length && !req.uris.length
      && usagesOf(csr).includes('client auth') && usagesOf(csr).every((u) => ['digital signature', 'key encipherment', 'client auth'].includes(u)),
  },
];

export class CSRApprovingController extends QueueController {
  private readonly client: Client;
  private readonly informer: Informer<CertificateSigningRequest>;
  private readonly authorize: CSRAuthorize;

  constructor(o: ApproverOptions) {
    super('csrapproving', logger('csrapproving-controller'));
    this.client = o.client;
    this.informer = o.informers.informerFor<CertificateSigningRequest>(R.certificatesigningrequests);
    this.authorize = o.authorize ?? ((csr, sub) => subjectAccessReview(o.client, csr, sub));
    const enqueue = (c: CertificateSigningRequest) => this.queue.add(c.metadata.name!);
    this.informer.addEventHandler({ onAdd: enqueue, onUpdate: (_, c) => enqueue(c) });
  }

  async sync(name: string): Promise<void> {
    const cached = this.informer.lister.get(name);
    if (!cached || cached.status?.certificate) return;
    const { approved, denied } = approvalOf(cached);
    if (approved || denied) return;
    let req: ParsedCSR;
    try {
      req = requestOf(cached);
    } catch (e) {
      this.log.info('unable to parse csr', { csr: name, err: (e as Error).message });
      return;
    }
    const tried: string[] = [];
    for (const r of recognizers) {
      if (!r.recognize(cached, req)) continue;
      tried.push(r.subresource);
      if (!(await this.authorize(cached, r.subresource))) continue;
      const csr = deepCopy(cached);
      const conditions = [...(csr.status?.conditions ?? []), { type: 'Approved', status: 'True', reason: 'AutoApproved', message: r.message }];
      try {
        await this.client.resource<CertificateSigningRequest>(R.certificatesigningrequests).patch(name, 'merge',
          { metadata: { resourceVersion: csr.metadata.resourceVersion }, status: { conditions } }, { subresource: 'approval' });
        this.log.info('approved certificate signing request', { csr: name, signerName: csr.spec.signerName, requestor: csr.spec.username });
      } catch (e) {
        // A newer version comes through the informer and is looked at again.
        if (isConflict(e) || isNotFound(e)) return;
        throw e;
      }
      return;
    }
    // kube's IgnorableError: logged, not retried.
    if (tried.length) this.log.info('recognized csr but subject access review was not approved', { csr: name, as: tried });
  }
}

/** The SubjectAccessReview kube's approver sends for the CSR's creator. */
export async function subjectAccessReview(client: Client, csr: CertificateSigningRequest, subresource: string): Promise<boolean> {
  const review = await client.resource(R.subjectaccessreviews).create({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', metadata: {},
    spec: {
      user: csr.spec.username, uid: csr.spec.uid, groups: csr.spec.groups, extra: csr.spec.extra,
      resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verb: 'create', subresource },
    },
  } as KubeObject);
  return review.status?.allowed === true;
}
