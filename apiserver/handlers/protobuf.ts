// Decoding of kube's protobuf request bodies ("k8s\0" + runtime.Unknown
// wrapping the object's generated.proto message). kubectl 1.32 sends its typed
// `create` generators (namespace, configmap, service, deployment, secret,
// serviceaccount, token) as
// protobuf; Skiff answers in JSON, so only decoding is needed, and only for
// the messages those generators fill. Field numbers are upstream's
// (k8s.io/api/*/generated.proto); unknown fields are skipped.

import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';

/** A field: JSON name and type; "[]" prefix repeats, "map" is map<string,string>, "map:Quantity" maps to messages. */
type Field = [string, string];
type Message = Record<number, Field>;

const messages: Record<string, Message> = {
  Unknown: { 1: ['typeMeta', 'TypeMeta'], 2: ['raw', 'bytes'], 3: ['contentEncoding', 'string'], 4: ['contentType', 'string'] },
  TypeMeta: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] },
  ObjectMeta: {
    1: ['name', 'string'], 2: ['generateName', 'string'], 3: ['namespace', 'string'], 5: ['uid', 'string'],
    6: ['resourceVersion', 'string'], 7: ['generation', 'int'], 11: ['labels', 'map'], 12: ['annotations', 'map'],
    13: ['ownerReferences', '[]OwnerReference'], 14: ['finalizers', '[]string'],
  },
  OwnerReference: { 1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['controller', 'bool'], 7: ['blockOwnerDeletion', 'bool'] },
  Namespace: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'NamespaceSpec'] },
  NamespaceSpec: { 1: ['finalizers', '[]string'] },
  ConfigMap: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'map'], 3: ['binaryData', 'map:bytes'], 4: ['immutable', 'bool'] },
  Service: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'ServiceSpec'] },
  ServiceSpec: {
    1: ['ports', '[]ServicePort'], 2: ['selector', 'map'], 3: ['clusterIP', 'string'], 4: ['type', 'string'], 5: ['externalIPs', '[]string'],
    7: ['sessionAffinity', 'string'], 8: ['loadBalancerIP', 'string'], 10: ['externalName', 'string'], 11: ['externalTrafficPolicy', 'string'],
    18: ['clusterIPs', '[]string'], 17: ['ipFamilyPolicy', 'string'], 19: ['ipFamilies', '[]string'], 22: ['internalTrafficPolicy', 'string'],
  },
  ServicePort: { 1: ['name', 'string'], 2: ['protocol', 'string'], 3: ['port', 'int'], 4: ['targetPort', 'IntOrString'], 5: ['nodePort', 'int'], 6: ['appProtocol', 'string'] },
  IntOrString: { 1: ['type', 'int'], 2: ['intVal', 'int'], 3: ['strVal', 'string'] },
  Deployment: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'DeploymentSpec'] },
  DeploymentSpec: {
    1: ['replicas', 'int!'], 2: ['selector', 'LabelSelector'], 3: ['template', 'PodTemplateSpec'], 4: ['strategy', 'DeploymentStrategy'],
    5: ['minReadySeconds', 'int'], 6: ['revisionHistoryLimit', 'int!'], 7: ['paused', 'bool'], 9: ['progressDeadlineSeconds', 'int!'],
  },
  DeploymentStrategy: { 1: ['type', 'string'] },
  LabelSelector: { 1: ['matchLabels', 'map'], 2: ['matchExpressions', '[]LabelSelectorRequirement'] },
  LabelSelectorRequirement: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', '[]string'] },
  PodTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  Container: {
    1: ['name', 'string'], 2: ['image', 'string'], 3: ['command', '[]string'], 4: ['args', '[]string'], 5: ['workingDir', 'string'],
    6: ['ports', '[]ContainerPort'], 7: ['env', '[]EnvVar'], 8: ['resources', 'ResourceRequirements'], 9: ['volumeMounts', '[]VolumeMount'],
    10: ['livenessProbe', 'Probe'], 11: ['readinessProbe', 'Probe'], 12: ['lifecycle', 'Lifecycle'], 13: ['terminationMessagePath', 'string'], 14: ['imagePullPolicy', 'string'],
    15: ['securityContext', 'SecurityContext'], 16: ['stdin', 'bool'], 17: ['stdinOnce', 'bool'], 18: ['tty', 'bool'], 19: ['envFrom', '[]EnvFromSource'],
    20: ['terminationMessagePolicy', 'string'], 22: ['startupProbe', 'Probe'], 24: ['restartPolicy', 'string!'],
  },
  ContainerPort: { 1: ['name', 'string'], 2: ['hostPort', 'int'], 3: ['containerPort', 'int'], 4: ['protocol', 'string'], 5: ['hostIP', 'string'] },
  EnvVar: { 1: ['name', 'string'], 2: ['value', 'string'], 3: ['valueFrom', 'EnvVarSource'] },
  ResourceRequirements: { 1: ['limits', 'map:Quantity'], 2: ['requests', 'map:Quantity'] },
  Quantity: { 1: ['string', 'string'] },
  // rbac.authorization.k8s.io/v1 (`kubectl create role|clusterrole|rolebinding|clusterrolebinding`).
  Role: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', '[]PolicyRule'] },
  ClusterRole: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', '[]PolicyRule'], 3: ['aggregationRule', 'AggregationRule'] },
  AggregationRule: { 1: ['clusterRoleSelectors', '[]LabelSelector'] },
  PolicyRule: { 1: ['verbs', '[]string'], 2: ['apiGroups', '[]string'], 3: ['resources', '[]string'], 4: ['resourceNames', '[]string'], 5: ['nonResourceURLs', '[]string'] },
  RoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', '[]Subject'], 3: ['roleRef', 'RoleRef'] },
  Subject: { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] },
  RoleRef: { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] },
  // authorization.k8s.io/v1 (`kubectl auth can-i`).
  SubjectAccessReview: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'SubjectAccessReviewSpec'] },
  SubjectAccessReviewSpec: { 1: ['resourceAttributes', 'ResourceAttributes'], 2: ['nonResourceAttributes', 'NonResourceAttributes'], 3: ['user', 'string'], 4: ['groups', '[]string'], 6: ['uid', 'string'] },
  SelfSubjectAccessReview: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'SelfSubjectAccessReviewSpec'] },
  SelfSubjectAccessReviewSpec: { 1: ['resourceAttributes', 'ResourceAttributes'], 2: ['nonResourceAttributes', 'NonResourceAttributes'] },
  ResourceAttributes: { 1: ['namespace', 'string'], 2: ['verb', 'string'], 3: ['group', 'string'], 4: ['version', 'string'], 5: ['resource', 'string'], 6: ['subresource', 'string'], 7: ['name', 'string'] },
  NonResourceAttributes: { 1: ['path', 'string'], 2: ['verb', 'string'] },
  SelfSubjectRulesReview: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'SelfSubjectRulesReviewSpec'] },
  SelfSubjectRulesReviewSpec: { 1: ['namespace', 'string'] },
  Secret: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'map:bytes'], 3: ['type', 'string'], 4: ['stringData', 'map'], 5: ['immutable', 'bool!'] },
  ServiceAccount: { 1: ['metadata', 'ObjectMeta'], 2: ['secrets', '[]ObjectReference'], 3: ['imagePullSecrets', '[]LocalObjectReference'], 4: ['automountServiceAccountToken', 'bool!'] },
  ObjectReference: { 1: ['kind', 'string'], 2: ['namespace', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['resourceVersion', 'string'], 7: ['fieldPath', 'string'] },
  LocalObjectReference: { 1: ['name', 'string'] },
  // authentication.k8s.io/v1, the body `kubectl create token` sends.
  TokenRequest: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'TokenRequestSpec'] },
  TokenRequestSpec: { 1: ['audiences', '[]string'], 3: ['boundObjectRef', 'BoundObjectReference'], 4: ['expirationSeconds', 'int!'] },
  BoundObjectReference: { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] },
  // authentication.k8s.io/v1: `kubectl auth whoami` sends a SelfSubjectReview as protobuf.
  SelfSubjectReview: { 1: ['metadata', 'ObjectMeta'] },
  TokenReview: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'TokenReviewSpec'] },
  TokenReviewSpec: { 1: ['token', 'string'], 2: ['audiences', '[]string'] },
  // core/v1 Pod: kubectl debug creates its pods (--copy-to, node/<name>) as protobuf, copying a whole pod spec.
  // "inline:" messages are Go's embedded structs, whose fields JSON puts in the parent.
  Pod: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  PodSpec: {
    1: ['volumes', '[]Volume'], 2: ['containers', '[]Container'], 3: ['restartPolicy', 'string'], 4: ['terminationGracePeriodSeconds', 'int!'],
    5: ['activeDeadlineSeconds', 'int!'], 6: ['dnsPolicy', 'string'], 7: ['nodeSelector', 'map'], 8: ['serviceAccountName', 'string'], 9: ['serviceAccount', 'string'],
    10: ['nodeName', 'string'], 11: ['hostNetwork', 'bool'], 12: ['hostPID', 'bool'], 13: ['hostIPC', 'bool'], 14: ['securityContext', 'PodSecurityContext'],
    15: ['imagePullSecrets', '[]LocalObjectReference'], 16: ['hostname', 'string'], 17: ['subdomain', 'string'], 18: ['affinity', 'Affinity'], 19: ['schedulerName', 'string'],
    20: ['initContainers', '[]Container'], 21: ['automountServiceAccountToken', 'bool!'], 22: ['tolerations', '[]Toleration'], 24: ['priorityClassName', 'string'],
    25: ['priority', 'int!'], 27: ['shareProcessNamespace', 'bool!'], 29: ['runtimeClassName', 'string!'], 30: ['enableServiceLinks', 'bool!'], 31: ['preemptionPolicy', 'string!'],
    33: ['topologySpreadConstraints', '[]TopologySpreadConstraint'], 34: ['ephemeralContainers', '[]EphemeralContainer'], 35: ['setHostnameAsFQDN', 'bool!'], 37: ['hostUsers', 'bool!'],
  },
  EphemeralContainer: { 1: ['', 'inline:Container'], 2: ['targetContainerName', 'string'] },
  VolumeMount: { 1: ['name', 'string'], 2: ['readOnly', 'bool'], 3: ['mountPath', 'string'], 4: ['subPath', 'string'], 5: ['mountPropagation', 'string!'], 6: ['subPathExpr', 'string'] },
  Volume: { 1: ['name', 'string'], 2: ['', 'inline:VolumeSource'] },
  VolumeSource: {
    1: ['hostPath', 'HostPathVolumeSource'], 2: ['emptyDir', 'EmptyDirVolumeSource'], 6: ['secret', 'SecretVolumeSource'], 10: ['persistentVolumeClaim', 'PersistentVolumeClaimVolumeSource'],
    16: ['downwardAPI', 'DownwardAPIVolumeSource'], 19: ['configMap', 'ConfigMapVolumeSource'], 26: ['projected', 'ProjectedVolumeSource'],
  },
  HostPathVolumeSource: { 1: ['path', 'string'], 2: ['type', 'string!'] },
  EmptyDirVolumeSource: { 1: ['medium', 'string'], 2: ['sizeLimit', 'Quantity'] },
  SecretVolumeSource: { 1: ['secretName', 'string'], 2: ['items', '[]KeyToPath'], 3: ['defaultMode', 'int!'], 4: ['optional', 'bool!'] },
  ConfigMapVolumeSource: { 1: ['', 'inline:LocalObjectReference'], 2: ['items', '[]KeyToPath'], 3: ['defaultMode', 'int!'], 4: ['optional', 'bool!'] },
  PersistentVolumeClaimVolumeSource: { 1: ['claimName', 'string'], 2: ['readOnly', 'bool'] },
  KeyToPath: { 1: ['key', 'string'], 2: ['path', 'string'], 3: ['mode', 'int!'] },
  DownwardAPIVolumeSource: { 1: ['items', '[]DownwardAPIVolumeFile'], 2: ['defaultMode', 'int!'] },
  DownwardAPIVolumeFile: { 1: ['path', 'string'], 2: ['fieldRef', 'ObjectFieldSelector'], 3: ['resourceFieldRef', 'ResourceFieldSelector'], 4: ['mode', 'int!'] },
  ObjectFieldSelector: { 1: ['apiVersion', 'string'], 2: ['fieldPath', 'string'] },
  ResourceFieldSelector: { 1: ['containerName', 'string'], 2: ['resource', 'string'], 3: ['divisor', 'Quantity'] },
  ProjectedVolumeSource: { 1: ['sources', '[]VolumeProjection'], 2: ['defaultMode', 'int!'] },
  VolumeProjection: { 1: ['secret', 'SecretProjection'], 2: ['downwardAPI', 'DownwardAPIProjection'], 3: ['configMap', 'ConfigMapProjection'], 4: ['serviceAccountToken', 'ServiceAccountTokenProjection'] },
  SecretProjection: { 1: ['', 'inline:LocalObjectReference'], 2: ['items', '[]KeyToPath'], 4: ['optional', 'bool!'] },
  ConfigMapProjection: { 1: ['', 'inline:LocalObjectReference'], 2: ['items', '[]KeyToPath'], 4: ['optional', 'bool!'] },
  DownwardAPIProjection: { 1: ['items', '[]DownwardAPIVolumeFile'] },
  ServiceAccountTokenProjection: { 1: ['audience', 'string'], 2: ['expirationSeconds', 'int!'], 3: ['path', 'string'] },
  Toleration: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['value', 'string'], 4: ['effect', 'string'], 5: ['tolerationSeconds', 'int!'] },
  PodSecurityContext: {
    2: ['runAsUser', 'int!'], 3: ['runAsNonRoot', 'bool!'], 4: ['supplementalGroups', '[]int'], 5: ['fsGroup', 'int!'], 6: ['runAsGroup', 'int!'],
    9: ['fsGroupChangePolicy', 'string!'], 10: ['seccompProfile', 'SeccompProfile'],
  },
  SecurityContext: {
    1: ['capabilities', 'Capabilities'], 2: ['privileged', 'bool!'], 4: ['runAsUser', 'int!'], 5: ['runAsNonRoot', 'bool!'], 6: ['readOnlyRootFilesystem', 'bool!'],
    7: ['allowPrivilegeEscalation', 'bool!'], 8: ['runAsGroup', 'int!'], 9: ['procMount', 'string!'], 11: ['seccompProfile', 'SeccompProfile'],
  },
  Capabilities: { 1: ['add', '[]string'], 2: ['drop', '[]string'] },
  SeccompProfile: { 1: ['type', 'string'], 2: ['localhostProfile', 'string!'] },
  Probe: {
    1: ['', 'inline:ProbeHandler'], 2: ['initialDelaySeconds', 'int'], 3: ['timeoutSeconds', 'int'], 4: ['periodSeconds', 'int'], 5: ['successThreshold', 'int'],
    6: ['failureThreshold', 'int'], 7: ['terminationGracePeriodSeconds', 'int!'],
  },
  ProbeHandler: { 1: ['exec', 'ExecAction'], 2: ['httpGet', 'HTTPGetAction'], 3: ['tcpSocket', 'TCPSocketAction'] },
  LifecycleHandler: { 1: ['exec', 'ExecAction'], 2: ['httpGet', 'HTTPGetAction'], 3: ['tcpSocket', 'TCPSocketAction'], 4: ['sleep', 'SleepAction'] },
  Lifecycle: { 1: ['postStart', 'LifecycleHandler'], 2: ['preStop', 'LifecycleHandler'] },
  ExecAction: { 1: ['command', '[]string'] },
  HTTPGetAction: { 1: ['path', 'string'], 2: ['port', 'IntOrString'], 3: ['host', 'string'], 4: ['scheme', 'string'], 5: ['httpHeaders', '[]HTTPHeader'] },
  HTTPHeader: { 1: ['name', 'string'], 2: ['value', 'string'] },
  TCPSocketAction: { 1: ['port', 'IntOrString'], 2: ['host', 'string'] },
  SleepAction: { 1: ['seconds', 'int'] },
  EnvVarSource: { 1: ['fieldRef', 'ObjectFieldSelector'], 2: ['resourceFieldRef', 'ResourceFieldSelector'], 3: ['configMapKeyRef', 'KeySelector'], 4: ['secretKeyRef', 'KeySelector'] },
  KeySelector: { 1: ['', 'inline:LocalObjectReference'], 2: ['key', 'string'], 3: ['optional', 'bool!'] },
  EnvFromSource: { 1: ['prefix', 'string'], 2: ['configMapRef', 'EnvSource'], 3: ['secretRef', 'EnvSource'] },
  EnvSource: { 1: ['', 'inline:LocalObjectReference'], 2: ['optional', 'bool!'] },
  Affinity: { 1: ['nodeAffinity', 'NodeAffinity'], 2: ['podAffinity', 'PodAffinity'], 3: ['podAntiAffinity', 'PodAffinity'] },
  NodeAffinity: { 1: ['requiredDuringSchedulingIgnoredDuringExecution', 'NodeSelector'], 2: ['preferredDuringSchedulingIgnoredDuringExecution', '[]PreferredSchedulingTerm'] },
  NodeSelector: { 1: ['nodeSelectorTerms', '[]NodeSelectorTerm'] },
  NodeSelectorTerm: { 1: ['matchExpressions', '[]LabelSelectorRequirement'], 2: ['matchFields', '[]LabelSelectorRequirement'] },
  PreferredSchedulingTerm: { 1: ['weight', 'int'], 2: ['preference', 'NodeSelectorTerm'] },
  PodAffinity: { 1: ['requiredDuringSchedulingIgnoredDuringExecution', '[]PodAffinityTerm'], 2: ['preferredDuringSchedulingIgnoredDuringExecution', '[]WeightedPodAffinityTerm'] },
  PodAffinityTerm: { 1: ['labelSelector', 'LabelSelector'], 2: ['namespaces', '[]string'], 3: ['topologyKey', 'string'], 4: ['namespaceSelector', 'LabelSelector'], 5: ['matchLabelKeys', '[]string'], 6: ['mismatchLabelKeys', '[]string'] },
  WeightedPodAffinityTerm: { 1: ['weight', 'int'], 2: ['podAffinityTerm', 'PodAffinityTerm'] },
  // certificates.k8s.io/v1: `kubectl certificate approve|deny` PUT the whole object to /approval as protobuf.
  // Condition times (metav1.Time messages) are skipped: the server stamps them (populateConditionTimestamps).
  CertificateSigningRequest: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'CertificateSigningRequestSpec'], 3: ['status', 'CertificateSigningRequestStatus'] },
  CertificateSigningRequestSpec: { 1: ['request', 'bytes'], 2: ['username', 'string'], 3: ['uid', 'string'], 4: ['groups', '[]string'], 5: ['usages', '[]string'], 7: ['signerName', 'string'], 8: ['expirationSeconds', 'int!'] },
  CertificateSigningRequestStatus: { 1: ['conditions', '[]CertificateSigningRequestCondition'], 2: ['certificate', 'bytes'] },
  CertificateSigningRequestCondition: { 1: ['type', 'string'], 6: ['status', 'string'], 2: ['reason', 'string'], 3: ['message', 'string'] },
  // batch/v1 (`kubectl create job`, also --from=cronjob/X).
  Job: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'JobSpec'] },
  JobSpec: {
    1: ['parallelism', 'int!'], 2: ['completions', 'int!'], 3: ['activeDeadlineSeconds', 'int!'], 4: ['selector', 'LabelSelector'], 5: ['manualSelector', 'bool!'],
    6: ['template', 'PodTemplateSpec'], 7: ['backoffLimit', 'int!'], 8: ['ttlSecondsAfterFinished', 'int!'], 9: ['completionMode', 'string!'], 10: ['suspend', 'bool!'],
    11: ['podFailurePolicy', 'PodFailurePolicy'], 12: ['backoffLimitPerIndex', 'int!'], 13: ['maxFailedIndexes', 'int!'], 14: ['podReplacementPolicy', 'string!'], 15: ['managedBy', 'string!'],
  },
  PodFailurePolicy: { 1: ['rules', '[]PodFailurePolicyRule'] },
  PodFailurePolicyRule: { 1: ['action', 'string'], 2: ['onExitCodes', 'PodFailurePolicyOnExitCodesRequirement'], 3: ['onPodConditions', '[]PodFailurePolicyOnPodConditionsPattern'] },
  PodFailurePolicyOnExitCodesRequirement: { 1: ['containerName', 'string!'], 2: ['operator', 'string'], 3: ['values', '[]int'] },
  PodFailurePolicyOnPodConditionsPattern: { 1: ['type', 'string'], 2: ['status', 'string'] },
  // core/v1 ResourceQuota (`kubectl create quota`).
  ResourceQuota: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'ResourceQuotaSpec'] },
  ResourceQuotaSpec: { 1: ['hard', 'map:Quantity'], 2: ['scopes', '[]string'], 3: ['scopeSelector', 'ScopeSelector'] },
  ScopeSelector: { 1: ['matchExpressions', '[]ScopedResourceSelectorRequirement'] },
  ScopedResourceSelectorRequirement: { 1: ['scopeName', 'string'], 2: ['operator', 'string'], 3: ['values', '[]string'] },
  // autoscaling/v1 (`kubectl autoscale`).
  HorizontalPodAutoscaler: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'HorizontalPodAutoscalerSpec'] },
  HorizontalPodAutoscalerSpec: { 1: ['scaleTargetRef', 'CrossVersionObjectReference'], 2: ['minReplicas', 'int!'], 3: ['maxReplicas', 'int'], 4: ['targetCPUUtilizationPercentage', 'int!'] },
  CrossVersionObjectReference: { 1: ['kind', 'string'], 2: ['name', 'string'], 3: ['apiVersion', 'string'] },
  TopologySpreadConstraint: {
    1: ['maxSkew', 'int'], 2: ['topologyKey', 'string'], 3: ['whenUnsatisfiable', 'string'], 4: ['labelSelector', 'LabelSelector'], 5: ['minDomains', 'int!'],
    6: ['nodeAffinityPolicy', 'string!'], 7: ['nodeTaintsPolicy', 'string!'], 8: ['matchLabelKeys', '[]string'],
  },
};

const kinds: Record<string, string> = { Pod: 'Pod', Namespace: 'Namespace', ConfigMap: 'ConfigMap', Service: 'Service', Deployment: 'Deployment', Secret: 'Secret', ServiceAccount: 'ServiceAccount', TokenRequest: 'TokenRequest',
  Role: 'Role', ClusterRole: 'ClusterRole', RoleBinding: 'RoleBinding', ClusterRoleBinding: 'RoleBinding',
  SubjectAccessReview: 'SubjectAccessReview', LocalSubjectAccessReview: 'SubjectAccessReview', SelfSubjectAccessReview: 'SelfSubjectAccessReview', SelfSubjectRulesReview: 'SelfSubjectRulesReview',
  SelfSubjectReview: 'SelfSubjectReview', TokenReview: 'TokenReview', CertificateSigningRequest: 'CertificateSigningRequest', Job: 'Job', ResourceQuota: 'ResourceQuota', HorizontalPodAutoscaler: 'HorizontalPodAutoscaler' };

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  }
  bytes(): Buffer {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** An int32 sent as a 64-bit varint two's complement comes back as a huge positive number. */
const toInt32 = (n: number) => (n >= 2 ** 63 ? n - 2 ** 64 : n > 2 ** 31 - 1 && n < 2 ** 32 ? n - 2 ** 32 : n);

function decodeScalar(type: string, wire: number, r: Reader): unknown {
  switch (type) {
    case 'string': return r.bytes().toString('utf8');
    case 'bytes': return r.bytes().toString('base64');
    case 'bool': return r.varint() !== 0;
    default: return toInt32(r.varint());
  }
}

function decodeMapEntry(buf: Buffer, valueType: string): [string, unknown] {
  const r = new Reader(buf);
  let key = '';
  let value: unknown = valueType === 'string' ? '' : undefined;
  while (!r.done()) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    if (field === 1) key = r.bytes().toString('utf8');
    else if (field === 2) value = messages[valueType] ? decodeMessage(r.bytes(), valueType) : decodeScalar(valueType, tag & 7, r);
    else r.skip(tag & 7);
  }
  if (valueType === 'Quantity') value = (value as { string?: string } | undefined)?.string;
  return [key, value];
}

/** Zero values are what Go's omitempty leaves out of JSON; "int!" marks pointer fields where 0 is meaningful. */
function isEmpty(v: unknown, type: string): boolean {
  if (type.endsWith('!')) return false;
  if (v === '' || v === 0 || v === false) return true;
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

export function decodeMessage(buf: Buffer, name: string): Record<string, unknown> {
  const spec = messages[name];
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (!r.done()) {
    const tag = r.varint();
    const wire = tag & 7;
    const f = spec[Math.floor(tag / 8)];
    if (!f) {
      r.skip(wire);
      continue;
    }
    const [json, rawType] = f;
    const repeated = rawType.startsWith('[]');
    const type = rawType.replace(/^\[\]/, '').replace(/!$/, '');
    if (type.startsWith('map')) {
      const [k, v] = decodeMapEntry(r.bytes(), type.split(':')[1] ?? 'string');
      ((out[json] ??= {}) as Record<string, unknown>)[k] = v;
      continue;
    }
    if (repeated && wire === 2 && type === 'int') {
      // A packed repeated scalar: one length-delimited run of varints.
      const packed = new Reader(r.bytes());
      while (!packed.done()) ((out[json] ??= []) as unknown[]).push(toInt32(packed.varint()));
      continue;
    }
    if (type.startsWith('inline:')) {
      Object.assign(out, decodeMessage(r.bytes(), type.slice('inline:'.length)));
      continue;
    }
    let value = messages[type] ? decodeMessage(r.bytes(), type) : decodeScalar(type, wire, r);
    // resource.Quantity is a message holding its string form; JSON has the string.
    if (type === 'Quantity') value = (value as { string?: string }).string ?? '0';
    if (type === 'IntOrString') {
      const io = value as { type?: number; intVal?: number; strVal?: string };
      value = io.type === 1 ? io.strVal : io.intVal;
      if (value === undefined) continue;
    }
    if (repeated) ((out[json] ??= []) as unknown[]).push(value);
    else if (!isEmpty(value, rawType)) out[json] = value;
  }
  return out;
}

const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The object in a protobuf request body, as the JSON it would have been. */
export function decodeProtobufObject(body: Buffer): KubeObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(magic)) throw errors.badRequest('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  try {
    const unknown = decodeMessage(body.subarray(4), 'Unknown') as { typeMeta?: { apiVersion?: string; kind?: string }; raw?: string };
    const kind = unknown.typeMeta?.kind ?? '';
    const message = kinds[kind];
    if (!message) throw errors.unsupportedMediaType(`application/vnd.kubernetes.protobuf (for kind ${kind || 'unknown'}; send JSON)`);
    const obj = decodeMessage(Buffer.from(unknown.raw ?? '', 'base64'), message) as KubeObject;
    return { apiVersion: unknown.typeMeta?.apiVersion, kind, ...obj, metadata: obj.metadata ?? {} };
  } catch (e) {
    if ((e as { status?: unknown }).status) throw e;
    throw errors.badRequest(`unable to decode protobuf body: ${(e as Error).message}`);
  }
}
