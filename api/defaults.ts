// Defaults as kube-apiserver applies them on create and update (SetDefaults_*
// in k8s.io/kubernetes/pkg/apis/*/v1/defaults.go): each kind's own in its
// module (KindDefinition.defaults); here the pod spec's, which pods and every
// workload's template share, plus the tolerations the DefaultTolerationSeconds
// admission plugin adds to every pod, which the node lifecycle controller
// relies on to evict pods from unreachable nodes, and the helpers kinds'
// defaulters use.

import type { Container, ContainerPort, EnvVar, KubeObject, PodSpec, Probe, Toleration, Volume } from './types.js';
import { kindOf, type ResourceInfo } from './kind.js';

// Defaults run before validation, so a body of the wrong shape ("containers": "x")
// must pass through untouched for validation to report it, not crash here.
export const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
export const objects = <T>(x: unknown): T[] => (Array.isArray(x) ? x.filter(isObject) : []) as T[];

export function setIfUnset<T extends object, K extends keyof T>(o: T, key: K, value: T[K]): void {
  if (isObject(o) && (o[key] === undefined || o[key] === null)) o[key] = value;
}

/** parent[key] as an object, created when absent; undefined when it holds something else. */
export function objectAt(parent: Record<string, any>, key: string): Record<string, any> | undefined {
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

/** A workload's pod template (spec.template.spec), as its SetDefaults_<Kind> defaults it. */
export function defaultTemplate(spec: Record<string, any>): void {
  if (isObject(spec.template)) defaultPodSpec(spec.template.spec, { admission: false });
}

/** Fill in defaults in place: the kind's SetDefaults_<Kind> (KindDefinition.defaults). */
export function applyDefaults(resource: ResourceInfo, obj: KubeObject): void {
  kindOf(resource).defaults?.(obj);
}
