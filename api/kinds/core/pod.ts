// core/v1 Pod (pkg/registry/core/pod, pkg/apis/core/validation ValidatePod*,
// SetDefaults_Pod, printPod).

import { isDeepStrictEqual } from 'node:util';
import type { Container, KubeObject, PodSpec } from '../../types.js';
import { defineKind, entry, fieldString as str } from '../../kind.js';
import { defaultPodSpec, isObject, objectAt, objects, setIfUnset } from '../../defaults.js';
import { field, validatePodSpec } from '../../schemas/rules.js';
import { validateEphemeralContainersUpdate, validateNoEphemeralOnCreate } from '../../schemas/ephemeral.js';
import { normalizePodSpec } from '../../normalize.js';
import { podQOSClass } from '../../qos.js';
import { age, ageCol, nameCol, orNone } from '../../printing.js';
import { metaTime } from '../../time.js';

/** ValidatePodUpdate: only images, activeDeadlineSeconds and added tolerations may change. */
function validatePodUpdate(obj: KubeObject, old: KubeObject) {
  const next = structuredClone(obj.spec ?? {}) as PodSpec;
  const prev = old.spec as PodSpec;
  if (!prev) return [];
  next.containers?.forEach((c, i) => { if (prev.containers?.[i]) c.image = prev.containers[i].image; });
  next.initContainers?.forEach((c, i) => { if (prev.initContainers?.[i]) c.image = prev.initContainers[i].image; });
  next.activeDeadlineSeconds = prev.activeDeadlineSeconds;
  const oldTols = prev.tolerations ?? [];
  if (oldTols.every((t) => (next.tolerations ?? []).some((n) => isDeepStrictEqual({ ...n, tolerationSeconds: undefined }, { ...t, tolerationSeconds: undefined })))) {
    next.tolerations = prev.tolerations;
  }
  const clean = (s: PodSpec) => JSON.parse(JSON.stringify(s));
  if (isDeepStrictEqual(clean(next), clean(prev))) return [];
  return [field.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)')];
}

/** printPod: the STATUS column's reason, from init containers, then containers, then deletion. */
function podCells(pod: KubeObject, since: (t?: string | null) => string): unknown[] {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  let restarts = 0;
  let lastRestart = 0;
  let ready = 0;
  let reason: string = status.reason || status.phase || '';
  const noteRestart = (cs: any) => {
    restarts += cs.restartCount ?? 0;
    const t = Date.parse(cs.lastState?.terminated?.finishedAt ?? '');
    if (t > lastRestart) lastRestart = t;
  };
  if (status.conditions?.some((c: any) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';
  let initializing = false;
  const inits: any[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    noteRestart(c);
    const term = c.state?.terminated;
    const wait = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (term) reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    else if (wait?.reason && wait.reason !== 'PodInitializing') reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    initializing = true;
    break;
  }
  const initialized = status.conditions?.some((c: any) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = 0;
    let hasRunning = false;
    const cs: any[] = status.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      noteRestart(c);
      const wait = c.state?.waiting;
      const term = c.state?.terminated;
      if (wait?.reason) reason = wait.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';
  const restartsStr = restarts !== 0 && lastRestart ? `${restarts} (${since(new Date(lastRestart).toISOString())} ago)` : String(restarts);
  const gates: { conditionType: string }[] = spec.readinessGates ?? [];
  const gatesStr = gates.length
    ? `${gates.filter((g) => status.conditions?.some((c: any) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
    : '<none>';
  return [
    pod.metadata.name, `${ready}/${(spec.containers ?? []).length}`, reason, restartsStr, age(pod, since),
    orNone(status.podIPs?.[0]?.ip ?? status.podIP), orNone(spec.nodeName), orNone(status.nominatedNodeName), gatesStr,
  ];
}

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', shortNames: ['po'], namespaced: true,
    subresources: ['status', 'binding', 'log', 'exec', 'portforward', 'eviction', 'attach', 'ephemeralcontainers', 'proxy'], hasStatus: true, categories: ['all'] }),
  zeroValue: () => ({ metadata: {}, spec: { containers: null }, status: {} }),

  defaults(o) {
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

  validate(obj, { old, subresource }) {
    const out = validatePodSpec(obj.spec, 'spec');
    // Status and other subresource writes keep the stored spec; only the main resource's update rules apply on it.
    if (old && !subresource) out.push(...validatePodUpdate(obj, old));
    if (!old) out.push(...validateNoEphemeralOnCreate(obj.spec));
    if (old && subresource === 'ephemeralcontainers') out.push(...validateEphemeralContainersUpdate(obj, old));
    return out;
  },

  strategy: {
    returnDeletedObject: true,
    // A bound pod lingers for its grace period while the kubelet stops it; a repeated delete may shorten it, never lengthen it.
    markForDeletion: (pod, options) => {
      const meta = pod.metadata;
      const bound = !!pod.spec?.nodeName && !['Succeeded', 'Failed'].includes(pod.status?.phase);
      let grace = bound ? (options.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) : 0;
      if (meta.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, meta.deletionGracePeriodSeconds);
      if (grace <= 0) return false;
      if (meta.deletionGracePeriodSeconds !== grace) {
        meta.deletionTimestamp = metaTime(Date.now() + grace * 1000);
        meta.deletionGracePeriodSeconds = grace;
      }
      return true;
    },
    prepareForCreate: (p) => { p.status = { phase: 'Pending' }; },
    // podStrategy.PrepareForCreate sets qosClass once; a status write that leaves it out keeps it (podStatusStrategy).
    afterDefaults: (p, old) => {
      const status = p.status && typeof p.status === 'object' && !Array.isArray(p.status) ? p.status : undefined;
      if (!old) p.status = { ...status, qosClass: podQOSClass(p.spec) };
      else if (status && !status.qosClass && old.status?.qosClass) status.qosClass = old.status.qosClass;
    },
  },

  normalize: (p) => normalizePodSpec(p.spec),
  proxyLocation: 'pod',

  printer: {
    columns: [nameCol,
      ['Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'],
      ['Status', 'string', 'The aggregate status of the containers in this pod.'],
      ['Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'],
      ageCol,
      ['IP', 'string', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1],
      ['Node', 'string', 'NodeName indicates in which node this pod is scheduled.', 1],
      ['Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', 1],
      ['Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1]],
    cells: podCells,
  },

  // pod's ToSelectableFields.
  selectableFields: (o) => ({
    'spec.nodeName': str(o.spec?.nodeName),
    'spec.restartPolicy': str(o.spec?.restartPolicy),
    'spec.schedulerName': str(o.spec?.schedulerName),
    'spec.serviceAccountName': str(o.spec?.serviceAccountName),
    'spec.hostNetwork': String(o.spec?.hostNetwork === true),
    'status.phase': str(o.status?.phase),
    'status.podIP': str(o.status?.podIPs?.[0]?.ip ?? o.status?.podIP),
    'status.nominatedNodeName': str(o.status?.nominatedNodeName),
  }),
});
