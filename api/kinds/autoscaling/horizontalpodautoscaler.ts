// autoscaling/v2 and autoscaling/v1 HorizontalPodAutoscaler: one object,
// stored as v2 (kube's storage version) and served at both versions
// (pkg/registry/autoscaling/horizontalpodautoscaler, pkg/apis/autoscaling/
// validation, pkg/apis/autoscaling/v2/defaults.go). v2 comes first in the
// list: it is the group's preferred version and R.horizontalpodautoscalers.

import { defineKind, entry, type Printer } from '../../kind.js';
import type { KubeObject, StatusCause } from '../../types.js';
import { ageCol, nameCol } from '../../printing.js';
import { field, isValidPathSegmentName } from '../../schemas/rules.js';
import { quantityError } from '../../quantity.js';
import { hpaV1ToV2, hpaV2ToV1 } from './conversion.js';

type Obj = Record<string, any>;

/** kube's DefaultCPUUtilization: an HPA that names no metric scales on CPU at 80%. */
export const defaultCPUUtilization = 80;

const base = { group: 'autoscaling', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', singular: 'horizontalpodautoscaler',
  shortNames: ['hpa'], namespaced: true, subresources: ['status'], hasStatus: true, categories: ['all'] } as const;
const v2 = entry({ ...base, version: 'v2', shortNames: [...base.shortNames], subresources: [...base.subresources], categories: [...base.categories] });
const v1 = entry({ ...base, version: 'v1', shortNames: [...base.shortNames], subresources: [...base.subresources], categories: [...base.categories] });

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

// GenerateHPAScaleUpRules / GenerateHPAScaleDownRules: a behavior that is given is completed with the
// defaults; scale-down's stabilization window stays unset (the controller's
// --horizontal-pod-autoscaler-downscale-stabilization applies).
function scaleUpRules(r: Obj | undefined): Obj {
  const out: Obj = isObj(r) ? r : {};
  out.stabilizationWindowSeconds ??= 0;
  out.selectPolicy ??= 'Max';
  out.policies ??= [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }];
  return out;
}
function scaleDownRules(r: Obj | undefined): Obj {
  const out: Obj = isObj(r) ? r : {};
  out.selectPolicy ??= 'Max';
  out.policies ??= [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  return out;
}

/** SetDefaults_HorizontalPodAutoscaler (v2). */
export function defaultHPAv2(obj: KubeObject): void {
  const spec = obj.spec;
  if (!isObj(spec)) return;
  spec.minReplicas ??= 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: defaultCPUUtilization } } }];
  }
  if (isObj(spec.behavior)) {
    spec.behavior.scaleUp = scaleUpRules(spec.behavior.scaleUp);
    spec.behavior.scaleDown = scaleDownRules(spec.behavior.scaleDown);
  }
}

function validateCrossVersionObjectReference(ref: Obj | undefined, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!ref?.kind) out.push(field.required(`${path}.kind`));
  else for (const m of isValidPathSegmentName(ref.kind)) out.push(field.invalid(`${path}.kind`, ref.kind, m));
  if (!ref?.name) out.push(field.required(`${path}.name`));
  else for (const m of isValidPathSegmentName(ref.name)) out.push(field.invalid(`${path}.name`, ref.name, m));
  return out;
}

function validateTarget(t: Obj | undefined, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!t?.type) return [field.required(`${path}.type`, 'must specify a metric target type')];
  if (!['Utilization', 'Value', 'AverageValue'].includes(t.type)) out.push(field.invalid(`${path}.type`, t.type, 'must be either Utilization, Value, or AverageValue'));
  if (t.value !== undefined && t.value !== null) {
    const e = quantityError(t.value);
    if (e) out.push(field.invalid(`${path}.value`, t.value, e));
    else if (!(Number(String(t.value).replace(/[a-zA-Z]+$/, '')) > 0)) out.push(field.invalid(`${path}.value`, t.value, 'must be positive'));
  }
  if (t.averageValue !== undefined && t.averageValue !== null) {
    const e = quantityError(t.averageValue);
    if (e) out.push(field.invalid(`${path}.averageValue`, t.averageValue, e));
    else if (!(Number(String(t.averageValue).replace(/[a-zA-Z]+$/, '')) > 0)) out.push(field.invalid(`${path}.averageValue`, t.averageValue, 'must be positive'));
  }
  if (typeof t.averageUtilization === 'number' && t.averageUtilization < 1) out.push(field.invalid(`${path}.averageUtilization`, t.averageUtilization, 'must be greater than 0'));
  const set = ['value', 'averageValue', 'averageUtilization'].filter((k) => t[k] !== undefined && t[k] !== null);
  if (!set.length) out.push(field.required(path, 'must set either a target raw value, a target average value, or a target average utilization'));
  return out;
}

const sourceField: Record<string, string> = { Object: 'object', Pods: 'pods', Resource: 'resource', ContainerResource: 'containerResource', External: 'external' };

function validateMetric(m: Obj, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const types = Object.keys(sourceField);
  if (!m?.type) return [field.required(`${path}.type`, 'must specify a metric source type')];
  if (!types.includes(m.type)) return [field.notSupported(`${path}.type`, m.type, types)];
  const given = Object.entries(sourceField).filter(([, f]) => m[f] !== undefined && m[f] !== null);
  const own = sourceField[m.type];
  if (m[own] === undefined || m[own] === null) out.push(field.required(`${path}.${own}`, `must populate information for the given metric source`));
  if (given.length > 1 || (given.length === 1 && given[0][1] !== own)) out.push(field.forbidden(path, 'must populate the given metric source only'));
  const src: Obj = m[own] ?? {};
  const sp = `${path}.${own}`;
  if (m.type === 'Resource' || m.type === 'ContainerResource') {
    if (!src.name) out.push(field.required(`${sp}.name`, 'must specify a resource name'));
    if (m.type === 'ContainerResource' && !src.container) out.push(field.required(`${sp}.container`, 'must specify a container'));
    out.push(...validateTarget(src.target, `${sp}.target`));
    if (src.target?.type === 'Value') out.push(field.invalid(`${sp}.target.type`, 'Value', 'must be either Utilization or AverageValue'));
  } else {
    if (!src.metric?.name) out.push(field.required(`${sp}.metric.name`, 'must specify a metric name'));
    if (m.type === 'Object') out.push(...validateCrossVersionObjectReference(src.describedObject, `${sp}.describedObject`));
    out.push(...validateTarget(src.target, `${sp}.target`));
  }
  return out;
}

function validateRules(r: Obj | undefined, path: string): StatusCause[] {
  if (!isObj(r)) return [];
  const out: StatusCause[] = [];
  const w = r.stabilizationWindowSeconds;
  if (typeof w === 'number' && w < 0) out.push(field.invalid(`${path}.stabilizationWindowSeconds`, w, 'must be greater than or equal to zero'));
  if (typeof w === 'number' && w > 3600) out.push(field.invalid(`${path}.stabilizationWindowSeconds`, w, 'must be less than or equal to 3600'));
  if (r.selectPolicy !== undefined && !['Max', 'Min', 'Disabled'].includes(r.selectPolicy)) out.push(field.notSupported(`${path}.selectPolicy`, r.selectPolicy, ['Disabled', 'Max', 'Min']));
  const policies: Obj[] = Array.isArray(r.policies) ? r.policies : [];
  if (!policies.length) out.push(field.required(`${path}.policies`, 'must specify at least one Policy'));
  policies.forEach((p, i) => {
    const pp = `${path}.policies[${i}]`;
    if (p?.type !== 'Pods' && p?.type !== 'Percent') out.push(field.invalid(`${pp}.type`, p?.type, 'must be either Pods or Percent'));
    if (!(p?.periodSeconds > 0)) out.push(field.invalid(`${pp}.periodSeconds`, p?.periodSeconds, 'must be greater than zero'));
    else if (p.periodSeconds > 1800) out.push(field.invalid(`${pp}.periodSeconds`, p.periodSeconds, 'must be less than or equal to 1800'));
    if (!(p?.value > 0)) out.push(field.invalid(`${pp}.value`, p?.value, 'must be greater than zero'));
  });
  return out;
}

/** ValidateHorizontalPodAutoscaler's spec rules, on the v2 form (kube validates the internal object, v2-shaped). */
export function validateHPAv2(obj: KubeObject): StatusCause[] {
  const spec: Obj = isObj(obj.spec) ? obj.spec : {};
  const out: StatusCause[] = [];
  const min = spec.minReplicas;
  if (typeof min === 'number' && min < 1) out.push(field.invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
  if (typeof spec.maxReplicas === 'number' && spec.maxReplicas < 1) out.push(field.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than 0'));
  if (typeof min === 'number' && typeof spec.maxReplicas === 'number' && spec.maxReplicas < min) {
    out.push(field.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  }
  out.push(...validateCrossVersionObjectReference(spec.scaleTargetRef, 'spec.scaleTargetRef'));
  (Array.isArray(spec.metrics) ? spec.metrics : []).forEach((m: Obj, i: number) => out.push(...validateMetric(m, `spec.metrics[${i}]`)));
  if (isObj(spec.behavior)) {
    out.push(...validateRules(spec.behavior.scaleUp, 'spec.behavior.scaleUp'));
    out.push(...validateRules(spec.behavior.scaleDown, 'spec.behavior.scaleDown'));
  }
  return out;
}

/** formatHPAMetrics: the TARGETS column, "cpu: 12%/50%", at most two then "+ N more...". */
export function formatHPAMetrics(specs: Obj[] | undefined, statuses: Obj[] | undefined): string {
  if (!Array.isArray(specs) || !specs.length) return '<none>';
  const st: Obj[] = Array.isArray(statuses) ? statuses : [];
  const q = (v: unknown) => (v === undefined || v === null ? '0' : String(v));
  const list = specs.map((spec, i) => {
    const s = st[i];
    switch (spec?.type) {
      case 'External':
      case 'Object': {
        const src = spec.type === 'External' ? 'external' : 'object';
        const t = spec[src]?.target ?? {};
        if (t.averageValue !== undefined && t.averageValue !== null) {
          const cur = s?.[src]?.current?.averageValue;
          return `${cur !== undefined && cur !== null ? String(cur) : '<unknown>'}/${q(t.averageValue)} (avg)`;
        }
        return `${s?.[src] ? q(s[src].current?.value) : '<unknown>'}/${q(t.value)}`;
      }
      case 'Pods':
        return `${s?.pods ? q(s.pods.current?.averageValue) : '<unknown>'}/${q(spec.pods?.target?.averageValue)}`;
      case 'Resource':
      case 'ContainerResource': {
        const src = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const t = spec[src]?.target ?? {};
        if (t.averageValue !== undefined && t.averageValue !== null) {
          return `${spec[src]?.name}: ${s?.[src] ? q(s[src].current?.averageValue) : '<unknown>'}/${q(t.averageValue)}`;
        }
        const u = s?.[src]?.current?.averageUtilization;
        const cur = typeof u === 'number' ? `${u}%` : '<unknown>';
        const target = typeof t.averageUtilization === 'number' ? `${t.averageUtilization}%` : '<auto>';
        return `${spec[src]?.name}: ${cur}/${target}`;
      }
      default:
        return '<unknown type>';
    }
  });
  if (list.length > 2) return `${list.slice(0, 2).join(', ')} + ${list.length - 2} more...`;
  return list.join(', ');
}

// printHorizontalPodAutoscaler, on the v2 form whichever version is served (kube prints the internal object).
const printer = (toV2: (o: KubeObject) => KubeObject): Printer => ({
  columns: [nameCol,
    ['Reference', 'string', 'scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.'],
    ['Targets', 'string', 'metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond. If not set, the default metric will be set to 80% average CPU utilization.'],
    ['MinPods', 'string', 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.'],
    ['MaxPods', 'string', 'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.'],
    ['Replicas', 'string', 'currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.'],
    ageCol],
  cells: (o, since) => {
    const h = toV2(o);
    const spec: Obj = h.spec ?? {};
    const ref: Obj = spec.scaleTargetRef ?? {};
    const min = typeof spec.minReplicas === 'number' ? String(spec.minReplicas) : '<unset>';
    return [h.metadata.name, `${ref.kind ?? ''}/${ref.name ?? ''}`, formatHPAMetrics(spec.metrics, h.status?.currentMetrics), min,
      spec.maxReplicas ?? 0, h.status?.currentReplicas ?? 0, since(h.metadata.creationTimestamp)];
  },
});

// HorizontalPodAutoscalerStrategy: a new object starts with an empty status; spec writes never touch it.
// v2's desiredReplicas is not omitempty: an empty status still says 0.
const strategy = { tracksGeneration: true, prepareForCreate: (o: KubeObject) => { o.status = { desiredReplicas: 0 }; } };

export default [
  defineKind({
    resource: v2,
    defaults: defaultHPAv2,
    validate: (obj) => validateHPAv2(obj),
    strategy,
    printer: printer((o) => o),
  }),
  defineKind({
    resource: v1,
    // v1's SetDefaults_HorizontalPodAutoscaler: minReplicas only; the stored (v2) form has the CPU target.
    defaults: (obj) => { if (isObj(obj.spec)) obj.spec.minReplicas ??= 1; },
    validate: (obj) => {
      const out: StatusCause[] = [];
      const cpu = obj.spec?.targetCPUUtilizationPercentage;
      if (typeof cpu === 'number' && cpu < 1) out.push(field.invalid('spec.targetCPUUtilizationPercentage', cpu, 'must be greater than 0'));
      return [...out, ...validateHPAv2(hpaV1ToV2(obj)).filter((c) => !c.field?.startsWith('spec.metrics'))];
    },
    strategy: { ...strategy, prepareForCreate: (o: KubeObject) => { o.status = { currentReplicas: 0, desiredReplicas: 0 }; } },
    printer: printer(hpaV1ToV2),
    // As kube's codec, which defaults the storage version when it decodes: a v1 HPA without a CPU target is 80% through either version.
    storageVersion: { resource: v2, toStorage: (o) => { const s = hpaV1ToV2(o); defaultHPAv2(s); return s; }, fromStorage: hpaV2ToV1 },
  }),
];
