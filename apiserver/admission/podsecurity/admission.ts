// The PodSecurity admission plugin (k8s.io/pod-security-admission/admission and
// kube's in-tree plugin/pkg/admission/security/podsecurity): a namespace's
// pod-security.kubernetes.io/{enforce,audit,warn}[-version] labels pick the
// Pod Security Standard its pods are held to. enforce refuses a pod (create,
// or an update that changes what the checks read) with kube's 403; warn adds
// "would violate PodSecurity ..." warnings; workload templates are warned
// about, never refused; raising a namespace's enforce level warns about the
// pods already there. No label means privileged. Audit annotations are not
// produced (Skiff has no audit log).

import { errors, isNotFound, type StatusError } from '../../../api/errors.js';
import type { ResourceInfo } from '../../../api/resources.js';
import type { KubeObject, ObjectMeta } from '../../../api/types.js';
import { logger } from '../../../lib/log.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../../auth/types.js';
import type { Spec } from './helpers.js';
import {
  aggregate, compareLevels, evaluatePod, forbiddenDetail, forbiddenReason, fullyPrivileged, levelVersionString, parseLevel, parseVersion,
  policyToEvaluate, privilegedPolicy, sameLevelVersion, type AggregateResult, type LevelVersion, type Policy,
} from './policy.js';

const log = logger('apiserver');

/** PodSecurityConfiguration (pod-security.admission.config.k8s.io/v1), as --admission-control-config-file gives it. */
export interface PodSecurityConfiguration {
  defaults?: { enforce?: string; 'enforce-version'?: string; audit?: string; 'audit-version'?: string; warn?: string; 'warn-version'?: string };
  exemptions?: { usernames?: string[]; runtimeClasses?: string[]; namespaces?: string[] };
}

export interface PodSecurityOptions {
  /** The namespace object, undefined when there is none. Read through a cache of namespaceCacheMs. */
  getNamespace(name: string): Promise<KubeObject | undefined>;
  /** The pods of a namespace, checked when its enforce level rises. */
  listPods(namespace: string): Promise<KubeObject[]>;
  configuration?: PodSecurityConfiguration;
  /** How long a namespace's labels are trusted without reading them again. */
  namespaceCacheMs?: number;
  /** Clock for the cache, replaceable in tests. */
  now?: () => number;
}

/** Resources whose objects carry a pod template (DefaultPodSpecExtractor). */
const podSpecResources = new Set(['/pods', '/replicationcontrollers', '/podtemplates', 'apps/replicasets', 'apps/deployments', 'apps/statefulsets', 'apps/daemonsets', 'batch/jobs', 'batch/cronjobs']);

/** Pod subresources that cannot change what the checks read. */
const ignoredPodSubresources = new Set(['exec', 'attach', 'binding', 'eviction', 'log', 'portforward', 'proxy', 'status']);

const namespaceMaxPodsToCheck = 3000;
const namespacePodCheckTimeoutMs = 1000;

const groupResource = (r: ResourceInfo) => `${r.group}/${r.plural}`;

/** The configuration's defaults as a policy; invalid values are a configuration error, as kube refuses to start. */
export function defaultPolicy(c: PodSecurityConfiguration | undefined): Policy {
  const d = c?.defaults ?? {};
  const lv = (level: string | undefined, version: string | undefined, name: string): LevelVersion => {
    const l = parseLevel(level ?? 'privileged');
    if (l.error) throw new Error(`PodSecurityConfiguration defaults.${name}: ${l.error}`);
    const v = parseVersion(version ?? 'latest');
    if (v.error) throw new Error(`PodSecurityConfiguration defaults.${name}-version: ${v.error}`);
    return { level: l.level, version: v.version };
  };
  return { enforce: lv(d.enforce, d['enforce-version'], 'enforce'), audit: lv(d.audit, d['audit-version'], 'audit'), warn: lv(d.warn, d['warn-version'], 'warn') };
}

export class PodSecurity implements AdmissionPlugin {
  readonly name = 'PodSecurity';
  private readonly defaults: Policy;
  private readonly exemptUsers: Set<string>;
  private readonly exemptNamespaces: Set<string>;
  private readonly exemptRuntimeClasses: Set<string>;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly namespaces = new Map<string, { at: number; ns: KubeObject }>();

  constructor(private readonly o: PodSecurityOptions) {
    if (typeof o?.getNamespace !== 'function' || typeof o.listPods !== 'function') throw new Error('PodSecurity requires a namespace getter and a pod lister');
    this.defaults = o.configuration ? defaultPolicy(o.configuration) : privilegedPolicy;
    this.exemptUsers = new Set(o.configuration?.exemptions?.usernames ?? []);
    this.exemptNamespaces = new Set(o.configuration?.exemptions?.namespaces ?? []);
    this.exemptRuntimeClasses = new Set(o.configuration?.exemptions?.runtimeClasses ?? []);
    this.cacheMs = o.namespaceCacheMs ?? 1000;
    this.now = o.now ?? Date.now;
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
    const gr = groupResource(a.resource);
    if (gr === '/namespaces') return this.validateNamespace(a);
    if (gr === '/pods') return this.validatePod(a);
    if (podSpecResources.has(gr)) return this.validatePodController(a);
  }

  private async validateNamespace(a: AdmissionAttributes): Promise<void> {
    if (a.subresource || !a.object) return;
    const name = a.object.metadata.name ?? a.name;
    // This write changes what later pods are held to: read the namespace afresh next time.
    this.namespaces.delete(name);
    const next = policyToEvaluate(a.object.metadata.labels, this.defaults);
    if (a.operation === 'CREATE') {
      if (next.causes.length) throw errors.invalid('Namespace', name, next.causes);
      return;
    }
    const prev = policyToEvaluate(a.oldObject?.metadata.labels, this.defaults);
    // Invalid labels are refused only when they are new, so a namespace stuck with them can still be fixed.
    if (next.causes.length && (!prev.causes.length || JSON.stringify(next.causes) !== JSON.stringify(prev.causes))) {
      throw errors.invalid('Namespace', name, next.causes);
    }
    const was = prev.policy.enforce;
    const now = next.policy.enforce;
    if (sameLevelVersion(now, was) || now.level === 'privileged') return;
    if (now.version === was.version && compareLevels(now.level, was.level) < 1) return;
    if (this.exemptNamespaces.has(name)) return;
    for (const w of await this.evaluatePodsInNamespace(name, now)) warn(a, w);
  }

  private async validatePod(a: AdmissionAttributes): Promise<void> {
    if (ignoredPodSubresources.has(a.subresource)) return;
    if (this.exempt(a)) return;
    const policy = await this.namespacePolicy(a.namespace, true);
    if (!policy || (!policy.causes && fullyPrivileged(policy.policy))) return;
    const pod = a.object;
    if (!pod) throw errors.badRequest('failed to decode pod');
    if (a.operation === 'UPDATE' && a.oldObject && !isSignificantPodUpdate(pod, a.oldObject)) return;
    this.evaluate(a, policy.policy, pod.metadata, pod.spec, true);
  }

  private async validatePodController(a: AdmissionAttributes): Promise<void> {
    if (a.subresource || this.exempt(a) || !a.object) return;
    let policy: Awaited<ReturnType<PodSecurity['namespacePolicy']>>;
    try {
      policy = await this.namespacePolicy(a.namespace, false);
    } catch (e) {
      // A workload is never refused by Pod Security; kube only notes the failure in its audit annotations.
      log.debug('PodSecurity cannot read namespace for a workload', { namespace: a.namespace, error: (e as Error).message });
      return;
    }
    if (!policy) return;
    if (!policy.causes && policy.policy.warn.level === 'privileged' && policy.policy.audit.level === 'privileged') return;
    const template = podTemplateOf(a.resource, a.object);
    if (!template) return;
    this.evaluate(a, policy.policy, template.metadata ?? {}, template.spec ?? {}, false);
  }

  /** EvaluatePod: enforce (pods only) refuses; warn adds a warning unless the request is refused anyway. */
  private evaluate(a: AdmissionAttributes, policy: Policy, meta: ObjectMeta, spec: Spec, enforce: boolean): void {
    if (spec?.runtimeClassName && this.exemptRuntimeClasses.has(spec.runtimeClassName)) return;
    const results = new Map<string, AggregateResult>();
    const run = (lv: LevelVersion) => {
      const key = levelVersionString(lv);
      let r = results.get(key);
      if (!r) results.set(key, (r = aggregate(evaluatePod(lv, meta, spec))));
      return r;
    };
    if (enforce) {
      const r = run(policy.enforce);
      if (!r.allowed) throw forbidden(a, `violates PodSecurity "${levelVersionString(policy.enforce)}": ${forbiddenDetail(r)}`);
    }
    const w = run(policy.warn);
    if (!w.allowed) warn(a, `would violate PodSecurity "${levelVersionString(policy.warn)}": ${forbiddenDetail(w)}`);
  }

  private async evaluatePodsInNamespace(namespace: string, enforce: LevelVersion): Promise<string[]> {
    const deadline = this.now() + namespacePodCheckTimeoutMs;
    let pods: KubeObject[];
    try {
      pods = await this.o.listPods(namespace);
    } catch (e) {
      log.warn('PodSecurity cannot list pods', { namespace, error: (e as Error).message });
      return ['failed to list pods while checking new PodSecurity enforce level'];
    }
    const prioritized = this.prioritizePods(pods);
    const total = prioritized.length;
    const toCheck = prioritized.slice(0, namespaceMaxPodsToCheck);
    const counts = new Map<string, { podName: string; podCount: number }>();
    const order: string[] = [];
    let checked = toCheck.length;
    for (let i = 0; i < toCheck.length; i++) {
      const pod = toCheck[i];
      const r = aggregate(evaluatePod(enforce, pod.metadata, pod.spec));
      if (!r.allowed) {
        const warning = forbiddenReason(r);
        const name = pod.metadata.name ?? '';
        const c = counts.get(warning);
        if (!c) {
          counts.set(warning, { podName: name, podCount: 1 });
          order.push(warning);
        } else {
          if (name < c.podName) c.podName = name;
          c.podCount++;
        }
      }
      if (this.now() > deadline) {
        checked = i + 1;
        break;
      }
    }
    const warnings: string[] = [];
    if (checked < total) warnings.push(`new PodSecurity enforce level only checked against the first ${checked} of ${total} existing pods`);
    if (order.length) warnings.push(`existing pods in namespace "${namespace}" violate the new PodSecurity enforce level "${levelVersionString(enforce)}"`);
    const decorated = order.map((w) => {
      const c = counts.get(w)!;
      if (c.podCount === 1) return `${c.podName}: ${w}`;
      if (c.podCount === 2) return `${c.podName} (and 1 other pod): ${w}`;
      return `${c.podName} (and ${c.podCount - 1} other pods): ${w}`;
    });
    return [...warnings, ...decorated.sort()];
  }

  /** One pod per controller first, the other replicas after; pods of exempt runtime classes not at all. */
  private prioritizePods(pods: KubeObject[]): KubeObject[] {
    const first: KubeObject[] = [];
    const duplicates: KubeObject[] = [];
    const seen = new Set<string>();
    for (const p of pods) {
      if (p.spec?.runtimeClassName && this.exemptRuntimeClasses.has(p.spec.runtimeClassName)) continue;
      const controller = p.metadata.ownerReferences?.find((r) => r.controller);
      if (!controller) first.push(p);
      else if (seen.has(controller.uid)) duplicates.push(p);
      else {
        seen.add(controller.uid);
        first.push(p);
      }
    }
    return [...first, ...duplicates];
  }

  private exempt(a: AdmissionAttributes): boolean {
    return (!!a.namespace && this.exemptNamespaces.has(a.namespace)) || (!!a.user.username && this.exemptUsers.has(a.user.username));
  }

  /**
   * The namespace's policy. For pods a namespace that cannot be read is an
   * internal error, as kube answers; causes is set when its labels are invalid.
   */
  private async namespacePolicy(namespace: string, pods: boolean): Promise<{ policy: Policy; causes: boolean } | undefined> {
    let ns: KubeObject | undefined;
    try {
      ns = await this.namespace(namespace);
    } catch (e) {
      if (!isNotFound(e)) log.warn('PodSecurity cannot read namespace', { namespace, error: (e as Error).message });
    }
    if (!ns) {
      if (pods) throw errors.internal(`failed to lookup namespace "${namespace}"`);
      return undefined;
    }
    const { policy, causes } = policyToEvaluate(ns.metadata.labels, this.defaults);
    return { policy, causes: causes.length > 0 };
  }

  private async namespace(name: string): Promise<KubeObject | undefined> {
    const cached = this.namespaces.get(name);
    const now = this.now();
    if (cached && now - cached.at < this.cacheMs) return cached.ns;
    const ns = await this.o.getNamespace(name);
    if (ns) this.namespaces.set(name, { at: now, ns });
    else this.namespaces.delete(name);
    return ns;
  }
}

/** The pod template of a workload object, or undefined when it has none. */
function podTemplateOf(r: ResourceInfo, o: KubeObject): { metadata?: ObjectMeta; spec?: Spec } | undefined {
  switch (groupResource(r)) {
    case '/podtemplates': return o.template;
    case 'batch/cronjobs': return o.spec?.jobTemplate?.spec?.template;
    default: return o.spec?.template;
  }
}

/**
 * isSignificantPodUpdate: only changes the checks can see are evaluated;
 * the other fields of a running pod are immutable. Container counts, images,
 * per-container seccomp annotations and new or changed ephemeral containers.
 */
export function isSignificantPodUpdate(pod: KubeObject, old: KubeObject): boolean {
  const cs = (p: KubeObject, k: string): Spec[] => p.spec?.[k] ?? [];
  if (cs(pod, 'containers').length !== cs(old, 'containers').length) return true;
  if (cs(pod, 'initContainers').length !== cs(old, 'initContainers').length) return true;
  const significant = (c: Spec, oc: Spec) => {
    if (c.image !== oc.image) return true;
    const key = `container.seccomp.security.alpha.kubernetes.io/${c.name}`;
    return pod.metadata.annotations?.[key] !== old.metadata.annotations?.[key];
  };
  for (const k of ['containers', 'initContainers']) {
    const olds = cs(old, k);
    if (cs(pod, k).some((c, i) => significant(c, olds[i]))) return true;
  }
  for (const c of cs(pod, 'ephemeralContainers')) {
    const oc = cs(old, 'ephemeralContainers').find((x) => x.name === c.name);
    if (!oc || significant(c, oc)) return true;
  }
  return false;
}

/** A warning once per request, as kube's recorder keeps them: the store validates again on every retry of a write. */
function warn(a: AdmissionAttributes, message: string): void {
  if (!a.warnings.includes(message)) a.warnings.push(message);
}

/** admission.NewForbidden for the request's resource: `pods "x" is forbidden: violates PodSecurity ...`. */
function forbidden(a: AdmissionAttributes, why: string): StatusError {
  return errors.forbiddenResource(a.resource.plural, a.resource.group, a.name, why);
}
