// certificates.k8s.io/v1 definitions: CertificateSigningRequest, with
// upstream's field descriptions shortened. request and certificate are Go
// []byte (base64 in JSON).

import { int32, list, obj, ref, str, strList, type Schema } from './dsl.js';
import { metaNames } from './meta.js';

const c = 'io.k8s.api.certificates.v1.';

export const certificatesSchemas: Record<string, Schema> = {
  [c + 'CertificateSigningRequestSpec']: obj('CertificateSigningRequestSpec contains the certificate request.', {
    request: str('request contains an x509 certificate signing request encoded in a "CERTIFICATE REQUEST" PEM block. When serialized as JSON or YAML, the data is additionally base64-encoded.', { format: 'byte', 'x-kubernetes-list-type': 'atomic' }),
    signerName: str('signerName indicates the requested signer, and is a qualified name. Well-known Kubernetes signers are "kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving" and "kubernetes.io/legacy-unknown".'),
    expirationSeconds: int32('expirationSeconds is the requested duration of validity of the issued certificate. The certificate signer may issue a certificate with a different validity duration. The minimum valid value is 600 (10 minutes).'),
    usages: strList('usages specifies a set of key usages requested in the issued certificate. Requests for TLS client certificates typically request: "digital signature", "key encipherment", "client auth". Requests for TLS serving certificates typically request: "key encipherment", "digital signature", "server auth".'),
    username: str('username contains the name of the user that created the CertificateSigningRequest. Populated by the API server on creation and immutable.'),
    uid: str('uid contains the uid of the user that created the CertificateSigningRequest. Populated by the API server on creation and immutable.'),
    groups: strList('groups contains group membership of the user that created the CertificateSigningRequest. Populated by the API server on creation and immutable.'),
    extra: { type: 'object', description: 'extra contains extra attributes of the user that created the CertificateSigningRequest. Populated by the API server on creation and immutable.', additionalProperties: { type: 'array', items: { type: 'string', default: '' } } },
  }, ['request', 'signerName']),
  [c + 'CertificateSigningRequestCondition']: obj('CertificateSigningRequestCondition describes a condition of a CertificateSigningRequest object', {
    type: str('type of the condition. Known conditions are "Approved", "Denied", and "Failed".'),
    status: str('status of the condition, one of True, False, Unknown. Approved, Denied, and Failed conditions may not be "False" or "Unknown".'),
    reason: str('reason indicates a brief reason for the request state'),
    message: str('message contains a human readable message with details about the request state'),
    lastUpdateTime: ref(metaNames.Time, 'lastUpdateTime is the time of the last update to this condition'),
    lastTransitionTime: ref(metaNames.Time, 'lastTransitionTime is the time the condition last transitioned from one status to another.'),
  }, ['type', 'status']),
  [c + 'CertificateSigningRequestStatus']: obj('CertificateSigningRequestStatus contains conditions used to indicate approved/denied/failed status of the request, and the issued certificate.', {
    conditions: list(c + 'CertificateSigningRequestCondition', 'conditions applied to the request. Known conditions are "Approved", "Denied", and "Failed".', 'type'),
    certificate: str('certificate is populated with an issued certificate by the signer after an Approved condition is present. This field is set via the /status subresource. Once populated, this field is immutable.', { format: 'byte', 'x-kubernetes-list-type': 'atomic' }),
  }),
};

export const certificatesKinds: Record<string, { description: string; properties: Record<string, Schema>; required?: string[] }> = {
  CertificateSigningRequest: {
    description: 'CertificateSigningRequest objects provide a mechanism to obtain x509 certificates by submitting a certificate signing request, and having it asynchronously approved and issued.',
    properties: {
      spec: ref(c + 'CertificateSigningRequestSpec', 'spec contains the certificate request, and is immutable after creation. Only the request, signerName, expirationSeconds, and usages fields can be set on creation. Other fields are derived by Kubernetes and cannot be modified by users.'),
      status: ref(c + 'CertificateSigningRequestStatus', 'status contains information about whether the request is approved or denied, and the certificate issued by the signer, or the failure condition indicating signer failure.'),
    },
    required: ['spec'],
  },
};
