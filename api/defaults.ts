// Defaults as kube-apiserver applies them on create and update (SetDefaults_*
// in k8s.io/kubernetes/pkg/apis/*/v1/defaults.go), plus the tolerations the
// DefaultTolerationSeconds admission plugin adds to every pod, which the node
// lifecycle controller relies on to evict pods from unreachable nodes.

import type { Container, KubeObject, PodSpec, Probe, ServicePort, Toleration } from './types.js';
import type { ResourceInfo } from './resources.js';

type Defaulter = (obj: KubeObject) => void;

function setIfUnset<T extends object, K extends keyof T>(o: T, key: K, value: T[K]): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
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
  if (!p) return;
  setIfUnset(p, 'timeoutSeconds', 1);
  setIfUnset(p, 'periodSeconds', 10);
  setIfUnset(p, 'successThreshold', 1);
  setIfUnset(p, 'failureThreshold', 3);
  if (p.httpGet) {
    setIfUnset(p.httpGet, 'path', '/');
    setIfUnset(p.httpGet, 'scheme', 'HTTP');
  }
}

function defaultContainer(c: Container): void {
  setIfUnset(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  setIfUnset(c, 'terminationMessagePath', '/dev/termination-log');
  setIfUnset(c, 'terminationMessagePolicy', 'File');
  for (const p of c.ports ?? []) setIfUnset(p, 'protocol', 'TCP');
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  for (const h of [c.lifecycle?.postStart, c.lifecycle?.preStop]) {
    if (h?.httpGet) {
      setIfUnset(h.httpGet, 'path', '/');
      setIfUnset(h.httpGet, 'scheme', 'HTTP');
    }
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef) setIfUnset(e.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
}

const notReadyTaint = 'node.kubernetes.io/not-ready';
const unreachableTaint = 'node.kubernetes.io/unreachable';

/** admission/defaulttolerationseconds: tolerate not-ready/unreachable for 300s unless the pod already says otherwise. */
function defaultTolerations(spec: PodSpec): void {
  const tolerations: Toleration[] = spec.tolerations ?? [];
  const tolerates = (key: string) =>
    tolerations.some((t) => (t.effect === 'NoExecute' || !t.effect) && (t.key === key || (!t.key && t.operator === 'Exists')));
  for (const key of [notReadyTaint, unreachableTaint]) {
    if (!tolerates(key)) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

/** Pod spec defaults, shared by pods and the templates of workload kinds. */
export function defaultPodSpec(spec: PodSpec | undefined, { admission }: { admission: boolean }): void {
  if (!spec) return;
  setIfUnset(spec, 'restartPolicy', 'Always');
  setIfUnset(spec, 'terminationGracePeriodSeconds', 30);
  setIfUnset(spec, 'dnsPolicy', 'ClusterFirst');
  setIfUnset(spec, 'schedulerName', 'default-scheduler');
  setIfUnset(spec, 'securityContext', {});
  setIfUnset(spec, 'enableServiceLinks', true);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) {
    if (v.configMap) setIfUnset(v.configMap, 'defaultMode', 0o644);
    if (v.hostPath) setIfUnset(v.hostPath, 'type', '');
  }
  // Admission plugins run on pods only; templates keep what the user wrote.
  if (admission) defaultTolerations(spec);
}

function defaultTemplate(obj: KubeObject): void {
  defaultPodSpec(obj.spec?.template?.spec, { admission: false });
}

const defaulters: Record<string, Defaulter> = {
  Pod: (o) => {
    o.spec ??= { containers: [] };
    defaultPodSpec(o.spec, { admission: true });
    // Upstream's PrepareForCreate sets phase Pending and QOS; the phase is what clients look at.
    o.status ??= {};
    setIfUnset(o.status, 'phase', 'Pending');
  },
  Service: (o) => {
    o.spec ??= {};
    const spec = o.spec;
    setIfUnset(spec, 'type', 'ClusterIP');
    if (spec.type !== 'ExternalName') {
      setIfUnset(spec, 'sessionAffinity', 'None');
      setIfUnset(spec, 'internalTrafficPolicy', 'Cluster');
    }
    if (spec.sessionAffinity === 'ClientIP') {
      spec.sessionAffinityConfig ??= {};
      spec.sessionAffinityConfig.clientIP ??= {};
      setIfUnset(spec.sessionAffinityConfig.clientIP, 'timeoutSeconds', 10800);
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setIfUnset(spec, 'externalTrafficPolicy', 'Cluster');
    for (const p of (spec.ports ?? []) as ServicePort[]) {
      setIfUnset(p, 'protocol', 'TCP');
      setIfUnset(p, 'targetPort', p.port);
    }
    o.status ??= { loadBalancer: {} };
  },
  ReplicaSet: (o) => {
    o.spec ??= {};
    setIfUnset(o.spec, 'replicas', 1);
    defaultTemplate(o);
  },
  Deployment: (o) => {
    o.spec ??= {};
    const spec = o.spec;
    setIfUnset(spec, 'replicas', 1);
    spec.strategy ??= {};
    setIfUnset(spec.strategy, 'type', 'RollingUpdate');
    if (spec.strategy.type === 'RollingUpdate') {
      spec.strategy.rollingUpdate ??= {};
      setIfUnset(spec.strategy.rollingUpdate, 'maxUnavailable', '25%');
      setIfUnset(spec.strategy.rollingUpdate, 'maxSurge', '25%');
    }
    setIfUnset(spec, 'revisionHistoryLimit', 10);
    setIfUnset(spec, 'progressDeadlineSeconds', 600);
    defaultTemplate(o);
  },
  Namespace: (o) => {
    o.status ??= {};
    setIfUnset(o.status, 'phase', 'Active');
  },
  Endpoints: (o) => {
    for (const s of o.subsets ?? []) for (const p of s.ports ?? []) setIfUnset(p, 'protocol', 'TCP');
  },
  // core/v1 has no SetDefaults_Event or _ConfigMap; Node and Lease only need a spec to exist.
  Node: (o) => {
    o.spec ??= {};
  },
  Lease: (o) => {
    o.spec ??= {};
  },
};

/** Fill in defaults in place. */
export function applyDefaults(resource: ResourceInfo, obj: KubeObject): void {
  defaulters[resource.kind]?.(obj);
}
