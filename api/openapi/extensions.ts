// What Kubernetes' published OpenAPI carries and the generated client drops:
// the list and map semantics of k8s.io/api's struct tags (patchStrategy,
// patchMergeKey, +listType, +listMapKeys, +mapType/+structType=atomic) and the
// +enum values, and which strings are resource.Quantity. generate.ts folds this table into kube-v1.32.json, so the
// definitions are the one place strategic merge patch, server-side apply and
// validation read them from. Keyed by definition, then property ('' is the
// definition itself). Lists not named here are atomic, as kube's default.

type Ext = Record<string, unknown>;

const C = 'io.k8s.api.core.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

/** patchStrategy:"merge" patchMergeKey:key, +listType=map +listMapKeys=key[,more]. */
function mapList(key: string, more: string[] = [], strategy = 'merge'): Ext {
  return { 'x-kubernetes-patch-strategy': strategy, 'x-kubernetes-patch-merge-key': key, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key, ...more] };
}
/** patchStrategy:"merge", +listType=set: a merged set of primitives. */
const mergedSet: Ext = { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' };
const atomic: Ext = { 'x-kubernetes-map-type': 'atomic' };
const enumOf = (...values: string[]): Ext => ({ enum: values });
// resource.Quantity, which the client types as a plain string: a map of them, or one.
const QUANTITY = { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity' };
const quantities: Ext = { additionalProperties: QUANTITY };
const quantity: Ext = { type: undefined, format: undefined, allOf: [QUANTITY] };

const protocol = enumOf('SCTP', 'TCP', 'UDP');
const anyJSON: Ext = { type: undefined };
const container: Record<string, Ext> = {
  ports: mapList('containerPort', ['protocol']),
  env: mapList('name'),
  volumeMounts: mapList('mountPath'),
  volumeDevices: mapList('devicePath'),
  terminationMessagePolicy: enumOf('FallbackToLogsOnError', 'File'),
  imagePullPolicy: enumOf('Always', 'IfNotPresent', 'Never'),
};
const conditions = { conditions: mapList('type') };

export const kubeExtensions: Record<string, Record<string, Ext>> = {
  [`${META}ObjectMeta`]: { finalizers: mergedSet, ownerReferences: mapList('uid') },
  [`${META}LabelSelector`]: { '': atomic },
  [`${C}ObjectFieldSelector`]: { '': atomic },
  [`${C}ConfigMapKeySelector`]: { '': atomic },
  [`${C}SecretKeySelector`]: { '': atomic },
  [`${C}ResourceFieldSelector`]: { '': atomic, divisor: quantity },
  [`${C}ResourceRequirements`]: { limits: quantities, requests: quantities },
  [`${C}VolumeResourceRequirements`]: { limits: quantities, requests: quantities },
  [`${C}ContainerStatus`]: { allocatedResources: quantities },
  [`${C}PersistentVolumeSpec`]: { capacity: quantities },
  [`${C}PersistentVolumeClaimStatus`]: { capacity: quantities, allocatedResources: quantities },
  [`${C}ResourceQuotaSpec`]: { hard: quantities },
  [`${C}ResourceQuotaStatus`]: { hard: quantities, used: quantities },
  [`${C}LimitRangeItem`]: { max: quantities, min: quantities, default: quantities, defaultRequest: quantities, maxLimitRequestRatio: quantities },
  [`${C}EmptyDirVolumeSource`]: { sizeLimit: quantity },
  'io.k8s.api.node.v1.Overhead': { podFixed: quantities },
  'io.k8s.api.storage.v1.CSIStorageCapacity': { capacity: quantity, maximumVolumeSize: quantity },
  'io.k8s.api.autoscaling.v2.MetricTarget': { value: quantity, averageValue: quantity },
  'io.k8s.api.autoscaling.v2.MetricValueStatus': { value: quantity, averageValue: quantity },
  [`${C}NodeSelector`]: { '': atomic },
  [`${C}NodeSelectorTerm`]: { '': atomic },
  [`${C}Container`]: container,
  [`${C}EphemeralContainer`]: container,
  [`${C}ContainerPort`]: { protocol },
  [`${C}HTTPGetAction`]: { scheme: enumOf('HTTP', 'HTTPS') },
  [`${C}Toleration`]: { operator: enumOf('Equal', 'Exists'), effect: enumOf('', 'NoExecute', 'NoSchedule', 'PreferNoSchedule') },
  [`${C}NodeSelectorRequirement`]: { operator: enumOf('DoesNotExist', 'Exists', 'Gt', 'In', 'Lt', 'NotIn') },
  [`${C}PodSpec`]: {
    volumes: mapList('name', [], 'merge,retainKeys'),
    containers: mapList('name'),
    initContainers: mapList('name'),
    ephemeralContainers: mapList('name'),
    imagePullSecrets: mapList('name'),
    hostAliases: mapList('ip'),
    topologySpreadConstraints: mapList('topologyKey', ['whenUnsatisfiable']),
    schedulingGates: mapList('name'),
    resourceClaims: mapList('name', [], 'merge,retainKeys'),
    nodeSelector: atomic,
    overhead: quantities,
    restartPolicy: enumOf('Always', 'Never', 'OnFailure'),
    dnsPolicy: enumOf('ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'),
  },
  [`${C}PodStatus`]: {
    ...conditions,
    podIPs: mapList('ip'),
    hostIPs: mapList('ip'),
    resourceClaimStatuses: mapList('name', [], 'merge,retainKeys'),
    phase: enumOf('Failed', 'Pending', 'Running', 'Succeeded', 'Unknown'),
    qosClass: enumOf('BestEffort', 'Burstable', 'Guaranteed'),
  },
  [`${C}ServiceSpec`]: {
    ports: mapList('port', ['protocol']),
    selector: atomic,
    type: enumOf('ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'),
    sessionAffinity: enumOf('ClientIP', 'None'),
    externalTrafficPolicy: enumOf('Cluster', 'Local'),
    internalTrafficPolicy: enumOf('Cluster', 'Local'),
    ipFamilyPolicy: enumOf('PreferDualStack', 'RequireDualStack', 'SingleStack'),
  },
  [`${C}ServicePort`]: { protocol },
  [`${C}EndpointPort`]: { '': atomic, protocol },
  [`${C}EndpointAddress`]: { '': atomic },
  [`${C}ServiceStatus`]: conditions,
  [`${C}ServiceAccount`]: { secrets: mapList('name') },
  [`${C}NodeSpec`]: { podCIDRs: mergedSet },
  [`${C}Taint`]: { effect: enumOf('NoExecute', 'NoSchedule', 'PreferNoSchedule') },
  [`${C}NodeStatus`]: { ...conditions, addresses: mapList('type'), capacity: quantities, allocatable: quantities },
  [`${C}NamespaceStatus`]: { ...conditions, phase: enumOf('Active', 'Terminating') },
  'io.k8s.api.apps.v1.DeploymentSpec': { strategy: { 'x-kubernetes-patch-strategy': 'retainKeys' } },
  'io.k8s.api.apps.v1.DeploymentStrategy': { type: enumOf('Recreate', 'RollingUpdate') },
  'io.k8s.api.apps.v1.DeploymentStatus': conditions,
  'io.k8s.api.apps.v1.ReplicaSetStatus': conditions,
  'io.k8s.api.discovery.v1.EndpointSlice': { addressType: enumOf('FQDN', 'IPv4', 'IPv6') },
  'io.k8s.api.discovery.v1.Endpoint': { addresses: { 'x-kubernetes-list-type': 'set' } },
  'io.k8s.api.discovery.v1.EndpointPort': { '': atomic, protocol },
  'io.k8s.api.rbac.v1.RoleRef': { '': atomic },
  'io.k8s.api.rbac.v1.Subject': { '': atomic },
  'io.k8s.api.certificates.v1.CertificateSigningRequestStatus': conditions,
  'io.k8s.api.networking.v1.HTTPIngressPath': { pathType: enumOf('Exact', 'ImplementationSpecific', 'Prefix') },
  'io.k8s.api.networking.v1.NetworkPolicyPort': { protocol },
  'io.k8s.api.scheduling.v1.PriorityClass': { preemptionPolicy: enumOf('Never', 'PreemptLowerPriority') },
  // apiextensions' JSON, JSONSchemaPropsOrBool and JSONSchemaPropsOrArray hold any JSON value (kube publishes
  // them with no type); the client calls them objects, which would refuse `additionalProperties: false`.
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps': {
    additionalItems: anyJSON, additionalProperties: anyJSON, default: anyJSON, example: anyJSON, items: anyJSON,
    enum: { items: { 'x-kubernetes-preserve-unknown-fields': true } },
    dependencies: { additionalProperties: { 'x-kubernetes-preserve-unknown-fields': true } },
  },
};
