// Defaults as kube-apiserver applies them on create and update (SetDefaults_*
// in k8s.io/kubernetes/pkg/apis/*/v1/defaults.go), plus the tolerations the
// DefaultTolerationSeconds admission plugin adds to every pod, which the node
// lifecycle controller relies on to evict pods from unreachable nodes.

import type { Container, ContainerPort, EndpointPort, EndpointSubset, EnvVar, KubeObject, PodSpec, Probe, ServicePort, SlicePort, Toleration, Volume } from './types.js';
import { kindOf, type ResourceInfo } from './kind.js';

type Defaulter = (obj: KubeObject) => void;

// Defaults run before validation, so a body of the wrong shape ("containers": "x")
// must pass through untouched for validation to report it, not crash here.
const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
const objects = <T>(x: unknown): T[] => (Array.isArray(x) ? x.filter(isObject) : []) as T[];

function setIfUnset<T extends object, K extends keyof T>(o: T, key: K, value: T[K]): void {
  if (isObject(o) && (o[key] === undefined || o[key] === null)) o[key] = value;
}

/** parent[key] as an object, created when absent; undefined when it holds something else. */
function objectAt(parent: Record<string, any>, key: string): Record<string, any> | undefined {
  if (parent[key] === undefined || parent[key] === null) parent[key] = {};
  return isObject(parent[key]) ? parent[key] : undefined;
}

/** Image without a tag (or with :latest) pulls Always, as SetDefaults_Container. */
function defaultPullPolicy(image: string | undefined): Container['imagePullPolicy'] {
  if (!image) return 'IfNotPresent';
  const ref = image.split('@')[0];
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  const tag = colon < 0 ? '' : ref.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Probe | undefined): void {
  if (!isObject(p)) return;
  setIfUnset(p, 'timeoutSeconds', 1);
  setIfUnset(p, 'periodSeconds', 10);
  setIfUnset(p, 'successThreshold', 1);
  setIfUnset(p, 'failureThreshold', 3);
  if (isObject(p.httpGet)) {
    setIfUnset(p.httpGet, 'path', '/');
    setIfUnset(p.httpGet, 'scheme', 'HTTP');
  }
}

function defaultContainer(c: Container): void {
  setIfUnset(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  setIfUnset(c, 'terminationMessagePath', '/dev/termination-log');
  setIfUnset(c, 'terminationMessagePolicy', 'File');
  for (const p of objects<ContainerPort>(c.ports)) setIfUnset(p, 'protocol', 'TCP');
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  for (const h of [c.lifecycle?.postStart, c.lifecycle?.preStop]) {
    if (isObject(h?.httpGet)) {
      setIfUnset(h.httpGet, 'path', '/');
      setIfUnset(h.httpGet, 'scheme', 'HTTP');
    }
  }
  for (const e of objects<EnvVar>(c.env)) {
    if (isObject(e.valueFrom?.fieldRef)) setIfUnset(e.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
}

const notReadyTaint = 'node.kubernetes.io/not-ready';
const unreachableTaint = 'node.kubernetes.io/unreachable';

/** admission/defaulttolerationseconds: tolerate not-ready/unreachable for 300s unless the pod already says otherwise. */
function defaultTolerations(spec: PodSpec): void {
  if (spec.tolerations !== undefined && spec.tolerations !== null && !Array.isArray(spec.tolerations)) return;
  const tolerations: Toleration[] = spec.tolerations ?? [];
  const tolerates = (key: string) =>
    tolerations.some((t) => isObject(t) && (t.effect === 'NoExecute' || !t.effect) && (t.key === key || (!t.key && t.operator === 'Exists')));
  for (const key of [notReadyTaint, unreachableTaint]) {
    if (!tolerates(key)) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

/** Pod spec defaults, shared by pods and the templates of workload kinds. */
export function defaultPodSpec(spec: PodSpec | undefined, { admission }: { admission: boolean }): void {
  if (!isObject(spec)) return;
  setIfUnset(spec, 'restartPolicy', 'Always');
  setIfUnset(spec, 'terminationGracePeriodSeconds', 30);
  setIfUnset(spec, 'dnsPolicy', 'ClusterFirst');
  setIfUnset(spec, 'schedulerName', 'default-scheduler');
  setIfUnset(spec, 'securityContext', {});
  setIfUnset(spec, 'enableServiceLinks', true);
  // v1's deprecated serviceAccount is an alias of serviceAccountName, read when the latter is empty and always written back (v1 conversion).
  if (!spec.serviceAccountName && typeof spec.serviceAccount === 'string' && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  for (const c of objects<Container>(spec.containers)) defaultContainer(c);
  for (const c of objects<Container>(spec.initContainers)) defaultContainer(c);
  for (const c of objects<Container>(spec.ephemeralContainers)) defaultContainer(c);
  for (const v of objects<Volume>(spec.volumes)) {
    if (isObject(v.configMap)) setIfUnset(v.configMap, 'defaultMode', 0o644);
    if (isObject(v.hostPath)) setIfUnset(v.hostPath, 'type', '');
  }
  // Admission plugins run on pods only; templates keep what the user wrote.
  if (admission) defaultTolerations(spec);
}

function defaultTemplate(spec: Record<string, any>): void {
  if (isObject(spec.template)) defaultPodSpec(spec.template.spec, { admission: false });
}

const defaulters: Record<string, Defaulter> = {
  Pod: (o) => {
    const spec = objectAt(o, 'spec');
    if (spec) defaultPodSpec(spec as PodSpec, { admission: true });
    // SetDefaults_Pod (pods only, not templates): a limit without its request requests the limit.
    for (const c of [...objects<Container>(spec?.containers), ...objects<Container>(spec?.initContainers)]) {
      if (!isObject(c.resources) || !isObject(c.resources.limits)) continue;
      // A requests value of the wrong type is left for validation to refuse.
      if (c.resources.requests !== undefined && c.resources.requests !== null && !isObject(c.resources.requests)) continue;
      const requests = isObject(c.resources.requests) ? c.resources.requests : (c.resources.requests = {});
      for (const [k, v] of Object.entries(c.resources.limits)) if (!(k in requests)) requests[k] = v;
    }
    // Upstream's PrepareForCreate starts every pod Pending; clients read the phase.
    const status = objectAt(o, 'status');
    if (status) setIfUnset(status, 'phase', 'Pending');
  },
  Service: (o) => {
    const spec = objectAt(o, 'spec');
    if (!spec) return;
    setIfUnset(spec, 'type', 'ClusterIP');
    if (spec.type !== 'ExternalName') {
      setIfUnset(spec, 'sessionAffinity', 'None');
      setIfUnset(spec, 'internalTrafficPolicy', 'Cluster');
    }
    if (spec.sessionAffinity === 'ClientIP') {
      const clientIP = objectAt(objectAt(spec, 'sessionAffinityConfig') ?? {}, 'clientIP');
      if (clientIP) setIfUnset(clientIP, 'timeoutSeconds', 10800);
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setIfUnset(spec, 'externalTrafficPolicy', 'Cluster');
    for (const p of objects<ServicePort>(spec.ports)) {
      setIfUnset(p, 'protocol', 'TCP');
      setIfUnset(p, 'targetPort', p.port);
    }
    const status = objectAt(o, 'status');
    if (status) objectAt(status, 'loadBalancer');
  },
  ReplicaSet: (o) => {
    const spec = objectAt(o, 'spec');
    if (!spec) return;
    setIfUnset(spec, 'replicas', 1);
    defaultTemplate(spec);
  },
  Deployment: (o) => {
    const spec = objectAt(o, 'spec');
    if (!spec) return;
    setIfUnset(spec, 'replicas', 1);
    const strategy = objectAt(spec, 'strategy');
    if (strategy) {
      setIfUnset(strategy, 'type', 'RollingUpdate');
      const ru = strategy.type === 'RollingUpdate' ? objectAt(strategy, 'rollingUpdate') : undefined;
      if (ru) {
        setIfUnset(ru, 'maxUnavailable', '25%');
        setIfUnset(ru, 'maxSurge', '25%');
      }
    }
    setIfUnset(spec, 'revisionHistoryLimit', 10);
    setIfUnset(spec, 'progressDeadlineSeconds', 600);
    defaultTemplate(spec);
  },
  Namespace: (o) => {
    const status = objectAt(o, 'status');
    if (status) setIfUnset(status, 'phase', 'Active');
  },
  Endpoints: (o) => {
    for (const s of objects<EndpointSubset>(o.subsets)) for (const p of objects<EndpointPort>(s.ports)) setIfUnset(p, 'protocol', 'TCP');
  },
  // SetDefaults_EndpointPort; endpoints is not omitempty, so an absent list is Go's nil and reads as null.
  EndpointSlice: (o) => {
    if (o.endpoints === undefined) o.endpoints = null;
    for (const p of objects<SlicePort>(o.ports)) {
      setIfUnset(p, 'name', '');
      setIfUnset(p, 'protocol', 'TCP');
    }
  },
  // core/v1 has no SetDefaults_Event or _ConfigMap; Node and Lease only need a spec to exist.
  Node: (o) => {
    objectAt(o, 'spec');
  },
  Lease: (o) => {
    objectAt(o, 'spec');
  },
  // SetDefaults_Secret, plus v1's conversion: the write-only stringData overwrites data's keys and is never stored.
  Secret: (o) => {
    const sd = o.stringData;
    if (sd === null || (isObject(sd) && Object.values(sd).every((v) => typeof v === 'string'))) {
      const data = sd && Object.keys(sd).length ? objectAt(o, 'data') : undefined;
      if (data) for (const [k, v] of Object.entries(sd as Record<string, string>)) data[k] = Buffer.from(v, 'utf8').toString('base64');
      delete o.stringData;
    }
    if (o.type === undefined || o.type === null || o.type === '') o.type = 'Opaque';
  },
  RoleBinding: (o) => defaultRBACBinding(o),
  ClusterRoleBinding: (o) => defaultRBACBinding(o),
};

/** Fill in defaults in place. */
export function applyDefaults(resource: ResourceInfo, obj: KubeObject): void {
  (kindOf(resource).defaults ?? defaulters[resource.kind])?.(obj);
}

/** rbac/v1 SetDefaults_RoleBinding, _ClusterRoleBinding and _Subject: the roleRef, User and Group subjects are of the rbac group unless said otherwise. */
function defaultRBACBinding(o: KubeObject): void {
  const group = 'rbac.authorization.k8s.io';
  if (isObject(o.roleRef) && !o.roleRef.apiGroup) o.roleRef.apiGroup = group;
  for (const s of objects<{ kind?: string; apiGroup?: string }>(o.subjects)) {
    if (!s.apiGroup && (s.kind === 'User' || s.kind === 'Group')) s.apiGroup = group;
  }
}
