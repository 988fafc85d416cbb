// Kubernetes object shapes, as far as Skiff serves them. Field names and
// optionality follow the upstream Go types (k8s.io/api); anything Skiff does
// not interpret is still carried through as JSON.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

/** Any stored object: the apiserver treats kinds generically through this. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: any;
  status?: any;
  [extra: string]: any;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  object: T;
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: ListMeta;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

// ---- core/v1 ----------------------------------------------------------------

export type ResourceList = Record<string, string>;

export interface ResourceRequirements {
  limits?: ResourceList;
  requests?: ResourceList;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { apiVersion?: string; fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: { containerName?: string; resource: string };
  };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface ExecAction { command?: string[] }
export interface HTTPGetAction { path?: string; port: number | string; host?: string; scheme?: 'HTTP' | 'HTTPS'; httpHeaders?: { name: string; value: string }[] }
export interface TCPSocketAction { port: number | string; host?: string }

export interface Probe {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export interface LifecycleHandler { exec?: ExecAction; httpGet?: HTTPGetAction; sleep?: { seconds: number } }

export interface VolumeMount { name: string; mountPath: string; readOnly?: boolean; subPath?: string }

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: { prefix?: string; configMapRef?: { name: string; optional?: boolean } }[];
  resources?: ResourceRequirements;
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { postStart?: LifecycleHandler; preStop?: LifecycleHandler };
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  securityContext?: { runAsUser?: number; runAsGroup?: number; privileged?: boolean };
  stdin?: boolean;
  tty?: boolean;
}

/** A key of a ConfigMap or Secret projected to a relative path, with its own file mode. */
export interface KeyToPath { key: string; path: string; mode?: number }
export interface SecretVolumeSource { secretName?: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean }
export interface DownwardAPIVolumeFile {
  path: string;
  fieldRef?: { apiVersion?: string; fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string };
  mode?: number;
}
export interface DownwardAPIVolumeSource { items?: DownwardAPIVolumeFile[]; defaultMode?: number }
export interface ConfigMapProjection { name: string; items?: KeyToPath[]; optional?: boolean }
export interface SecretProjection { name: string; items?: KeyToPath[]; optional?: boolean }
export interface DownwardAPIProjection { items?: DownwardAPIVolumeFile[] }
export interface ServiceAccountTokenProjection { audience?: string; expirationSeconds?: number; path: string }
/** One source of a projected volume: exactly one field is set. */
export interface VolumeProjection {
  serviceAccountToken?: ServiceAccountTokenProjection;
  configMap?: ConfigMapProjection;
  secret?: SecretProjection;
  downwardAPI?: DownwardAPIProjection;
}
export interface ProjectedVolumeSource { sources?: VolumeProjection[]; defaultMode?: number }

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  hostPath?: { path: string; type?: string };
  secret?: SecretVolumeSource;
  downwardAPI?: DownwardAPIVolumeSource;
  projected?: ProjectedVolumeSource;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: TaintEffect | '';
  tolerationSeconds?: number;
}

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
export interface Taint { key: string; value?: string; effect: TaintEffect; timeAdded?: string }

export interface NodeSelectorRequirement { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'; values?: string[] }
export interface NodeSelectorTerm { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] }
export interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: NodeSelectorTerm[] };
  preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; preference: NodeSelectorTerm }[];
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelector | null;
  namespaces?: string[];
  topologyKey: string;
  namespaceSelector?: LabelSelector | null;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}
export interface WeightedPodAffinityTerm { weight: number; podAffinityTerm: PodAffinityTerm }
export interface PodAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}
export interface Affinity { nodeAffinity?: NodeAffinity; podAffinity?: PodAffinity; podAntiAffinity?: PodAffinity }
export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  labelSelector?: LabelSelector | null;
  minDomains?: number;
  nodeAffinityPolicy?: 'Honor' | 'Ignore';
  nodeTaintsPolicy?: 'Honor' | 'Ignore';
  matchLabelKeys?: string[];
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  terminationGracePeriodSeconds?: number;
  activeDeadlineSeconds?: number;
  dnsPolicy?: string;
  nodeSelector?: Record<string, string>;
  serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName, kept equal to it by the server. */
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  nodeName?: string;
  hostNetwork?: boolean;
  hostname?: string;
  subdomain?: string;
  affinity?: Affinity;
  topologySpreadConstraints?: TopologySpreadConstraint[];
  schedulerName?: string;
  tolerations?: Toleration[];
  priority?: number;
  securityContext?: Record<string, unknown>;
  enableServiceLinks?: boolean;
  /** Added only through the pods/ephemeralcontainers subresource; never restarted. */
  ephemeralContainers?: EphemeralContainer[];
  hostPID?: boolean;
  hostIPC?: boolean;
  shareProcessNamespace?: boolean;
}

/** A container added to a running pod (kubectl debug); targetContainerName shares that container's process namespace. */
export interface EphemeralContainer extends Container {
  targetContainerName?: string;
  stdinOnce?: boolean;
}

export interface PodCondition {
  type: 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready' | string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode: number; signal?: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string; containerID?: string };
}

export interface ContainerStatus {
  name: string;
  state?: ContainerState;
  lastState?: ContainerState;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started?: boolean;
}

export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  conditions?: PodCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  ephemeralContainerStatuses?: ContainerStatus[];
  qosClass?: string;
}

export interface Pod extends KubeObject { spec: PodSpec; status?: PodStatus }

export interface PodTemplateSpec { metadata?: ObjectMeta; spec: PodSpec }

export interface ServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  selector?: Record<string, string>;
  ports?: ServicePort[];
  clusterIP?: string;
  clusterIPs?: string[];
  externalIPs?: string[];
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalName?: string;
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  publishNotReadyAddresses?: boolean;
}
export interface Service extends KubeObject { spec: ServiceSpec; status?: { loadBalancer?: Record<string, unknown> } }

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: string; namespace?: string; name: string; uid?: string; resourceVersion?: string };
}
export interface EndpointPort { name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }
export interface EndpointSubset { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: EndpointPort[] }
export interface Endpoints extends KubeObject { subsets?: EndpointSubset[] }

/** discovery.k8s.io/v1: a Go nil slice (endpoints, ports) reads as null, not []. */
export interface EndpointConditions { ready?: boolean; serving?: boolean; terminating?: boolean }
export interface SliceEndpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind: string; namespace?: string; name: string; uid?: string; resourceVersion?: string };
  hints?: { forZones?: { name: string }[]; forNodes?: { name: string }[] };
}
export interface SlicePort { name?: string; port?: number; protocol?: 'TCP' | 'UDP' | 'SCTP'; appProtocol?: string }
export interface EndpointSlice extends KubeObject {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: SliceEndpoint[] | null;
  ports?: SlicePort[] | null;
}

export interface NodeCondition {
  type: 'Ready' | 'MemoryPressure' | 'DiskPressure' | 'PIDPressure' | 'NetworkUnavailable' | string;
  status: 'True' | 'False' | 'Unknown';
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}
export interface NodeSpec { unschedulable?: boolean; taints?: Taint[]; podCIDR?: string; podCIDRs?: string[]; providerID?: string }
export interface NodeStatus {
  capacity?: ResourceList;
  allocatable?: ResourceList;
  conditions?: NodeCondition[];
  addresses?: { type: 'InternalIP' | 'ExternalIP' | 'Hostname' | string; address: string }[];
  daemonEndpoints?: { kubeletEndpoint?: { Port: number } };
  nodeInfo?: Record<string, string>;
  images?: { names: string[]; sizeBytes?: number }[];
}
export interface Node extends KubeObject { spec: NodeSpec; status?: NodeStatus }

export interface Namespace extends KubeObject { spec?: { finalizers?: string[] }; status?: { phase?: 'Active' | 'Terminating' } }

export interface ConfigMap extends KubeObject { data?: Record<string, string>; binaryData?: Record<string, string>; immutable?: boolean }

export interface ObjectReference { kind?: string; namespace?: string; name?: string; uid?: string; apiVersion?: string; resourceVersion?: string; fieldPath?: string }

/** core/v1 Secret: data values are base64 (Go []byte); stringData is write-only, merged into data by the server. */
export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  immutable?: boolean;
}

export interface ServiceAccount extends KubeObject {
  secrets?: ObjectReference[];
  imagePullSecrets?: { name?: string }[];
  automountServiceAccountToken?: boolean;
}

/** authentication.k8s.io/v1 TokenRequest, the body of serviceaccounts/token. */
export interface BoundObjectReference { kind?: string; apiVersion?: string; name?: string; uid?: string }
export interface TokenRequest extends KubeObject {
  spec: { audiences?: string[] | null; expirationSeconds?: number | null; boundObjectRef?: BoundObjectReference | null };
  status?: { token: string; expirationTimestamp: string };
}

export interface Event extends KubeObject {
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  source?: { component?: string; host?: string };
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string | null;
  count?: number;
  type?: 'Normal' | 'Warning';
  reportingComponent?: string;
  reportingInstance?: string;
}

// ---- apps/v1 ----------------------------------------------------------------

export interface ReplicaSetSpec { replicas?: number; minReadySeconds?: number; selector: LabelSelector; template: PodTemplateSpec }
export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: { type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }[];
}
export interface ReplicaSet extends KubeObject { spec: ReplicaSetSpec; status?: ReplicaSetStatus }

export interface DeploymentStrategy {
  type?: 'RollingUpdate' | 'Recreate';
  rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string };
}
export interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  strategy?: DeploymentStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}
export interface DeploymentCondition {
  type: 'Available' | 'Progressing' | 'ReplicaFailure' | string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}
export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
}
export interface Deployment extends KubeObject { spec: DeploymentSpec; status?: DeploymentStatus }

export interface Scale extends KubeObject { spec: { replicas?: number }; status?: { replicas: number; selector?: string } }

// ---- coordination.k8s.io/v1 -------------------------------------------------

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
export interface Lease extends KubeObject { spec: LeaseSpec }

// ---- helpers ----------------------------------------------------------------

export function objectKey(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : `${o.metadata.name}`;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function controllerOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

/** Objects from caches and listers are shared: copy before changing one. */
export function deepCopy<T>(o: T): T {
  return structuredClone(o);
}

/** rbac.authorization.k8s.io/v1. */
export interface PolicyRule { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }
export interface RBACSubject { kind: string; apiGroup?: string; name: string; namespace?: string }
export interface RoleRef { apiGroup: string; kind: string; name: string }
export interface Role extends KubeObject { rules?: PolicyRule[] | null }
export interface ClusterRole extends KubeObject { rules?: PolicyRule[] | null; aggregationRule?: { clusterRoleSelectors?: LabelSelector[] } | null }
export interface RoleBinding extends KubeObject { subjects?: RBACSubject[] | null; roleRef: RoleRef }
export type ClusterRoleBinding = RoleBinding;

/** certificates.k8s.io/v1 CertificateSigningRequest: request and certificate are base64 (Go []byte). */
export interface CSRCondition {
  type: 'Approved' | 'Denied' | 'Failed' | string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}
export interface CertificateSigningRequest extends KubeObject {
  spec: {
    request: string;
    signerName: string;
    expirationSeconds?: number;
    usages?: string[];
    username?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
  };
  status?: { conditions?: CSRCondition[]; certificate?: string };
}
