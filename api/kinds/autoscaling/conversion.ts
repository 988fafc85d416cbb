// autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler, as kube's
// pkg/apis/autoscaling/v1/conversion.go: v1 carries only the CPU utilization
// target; every other v2 metric, the current metrics, the conditions and the
// behavior ride in v1 as JSON annotations, so an object written through v2 and
// updated through v1 loses nothing. v1's annotation metrics have v1's own
// (v2beta1-shaped) MetricSpec, not v2's.

import type { KubeObject } from '../../types.js';

export const metricSpecsAnnotation = 'autoscaling.alpha.kubernetes.io/metrics';
export const metricStatusesAnnotation = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const conditionsAnnotation = 'autoscaling.alpha.kubernetes.io/conditions';
export const behaviorAnnotation = 'autoscaling.alpha.kubernetes.io/behavior';
const roundTrip = [metricSpecsAnnotation, metricStatusesAnnotation, conditionsAnnotation, behaviorAnnotation];

type Obj = Record<string, any>;

const set = (o: Obj, k: string, v: unknown) => { if (v !== undefined && v !== null) o[k] = v; };

function isCPUUtilization(m: Obj): boolean {
  return m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization';
}

// ---- v2 -> v1 ----

function metricSpecToV1(m: Obj): Obj {
  const out: Obj = { type: m.type };
  const t: Obj = m.resource?.target ?? m.containerResource?.target ?? m.pods?.target ?? m.object?.target ?? m.external?.target ?? {};
  switch (m.type) {
    case 'Resource':
      out.resource = { name: m.resource?.name };
      set(out.resource, 'targetAverageUtilization', t.averageUtilization);
      set(out.resource, 'targetAverageValue', t.averageValue);
      break;
    case 'ContainerResource':
      out.containerResource = { name: m.containerResource?.name, container: m.containerResource?.container };
      set(out.containerResource, 'targetAverageUtilization', t.averageUtilization);
      set(out.containerResource, 'targetAverageValue', t.averageValue);
      break;
    case 'Pods':
      out.pods = { metricName: m.pods?.metric?.name, targetAverageValue: t.averageValue };
      set(out.pods, 'selector', m.pods?.metric?.selector);
      break;
    case 'Object':
      out.object = { target: m.object?.describedObject, metricName: m.object?.metric?.name, targetValue: t.value };
      set(out.object, 'selector', m.object?.metric?.selector);
      set(out.object, 'averageValue', t.averageValue);
      break;
    case 'External':
      out.external = { metricName: m.external?.metric?.name };
      set(out.external, 'metricSelector', m.external?.metric?.selector);
      set(out.external, 'targetValue', t.value);
      set(out.external, 'targetAverageValue', t.averageValue);
      break;
  }
  return out;
}

function metricStatusToV1(m: Obj): Obj {
  const out: Obj = { type: m.type };
  const c: Obj = m.resource?.current ?? m.containerResource?.current ?? m.pods?.current ?? m.object?.current ?? m.external?.current ?? {};
  switch (m.type) {
    case 'Resource':
      out.resource = { name: m.resource?.name, currentAverageValue: c.averageValue };
      set(out.resource, 'currentAverageUtilization', c.averageUtilization);
      break;
    case 'ContainerResource':
      out.containerResource = { name: m.containerResource?.name, container: m.containerResource?.container, currentAverageValue: c.averageValue };
      set(out.containerResource, 'currentAverageUtilization', c.averageUtilization);
      break;
    case 'Pods':
      out.pods = { metricName: m.pods?.metric?.name, currentAverageValue: c.averageValue };
      set(out.pods, 'selector', m.pods?.metric?.selector);
      break;
    case 'Object':
      out.object = { target: m.object?.describedObject, metricName: m.object?.metric?.name, currentValue: c.value };
      set(out.object, 'selector', m.object?.metric?.selector);
      set(out.object, 'averageValue', c.averageValue);
      break;
    case 'External':
      out.external = { metricName: m.external?.metric?.name, currentValue: c.value };
      set(out.external, 'metricSelector', m.external?.metric?.selector);
      set(out.external, 'currentAverageValue', c.averageValue);
      break;
  }
  return out;
}

/** A stored (v2) HPA as autoscaling/v1 serves it. */
export function hpaV2ToV1(src: KubeObject): KubeObject {
  const o = structuredClone(src);
  const spec: Obj = o.spec ?? {};
  const status: Obj | undefined = o.status;
  const annotations: Record<string, string> = { ...(o.metadata?.annotations ?? {}) };
  for (const k of roundTrip) delete annotations[k];

  const v1spec: Obj = { scaleTargetRef: spec.scaleTargetRef };
  set(v1spec, 'minReplicas', spec.minReplicas);
  v1spec.maxReplicas = spec.maxReplicas;
  const metrics: Obj[] = Array.isArray(spec.metrics) ? spec.metrics : [];
  const cpu = metrics.find(isCPUUtilization);
  set(v1spec, 'targetCPUUtilizationPercentage', cpu?.resource?.target?.averageUtilization);
  const others = metrics.filter((m) => !isCPUUtilization(m)).map(metricSpecToV1);
  if (others.length) annotations[metricSpecsAnnotation] = JSON.stringify(others);
  if (spec.behavior) annotations[behaviorAnnotation] = JSON.stringify(spec.behavior);

  let v1status: Obj | undefined;
  if (status) {
    v1status = {};
    set(v1status, 'observedGeneration', status.observedGeneration);
    set(v1status, 'lastScaleTime', status.lastScaleTime);
    v1status.currentReplicas = status.currentReplicas ?? 0;
    v1status.desiredReplicas = status.desiredReplicas ?? 0;
    const current: Obj[] = Array.isArray(status.currentMetrics) ? status.currentMetrics : [];
    const cpuNow = current.find((m) => m?.type === 'Resource' && m.resource?.name === 'cpu');
    set(v1status, 'currentCPUUtilizationPercentage', cpuNow?.resource?.current?.averageUtilization);
    if (current.length) annotations[metricStatusesAnnotation] = JSON.stringify(current.map(metricStatusToV1));
    if (Array.isArray(status.conditions) && status.conditions.length) annotations[conditionsAnnotation] = JSON.stringify(status.conditions);
  }
  o.apiVersion = 'autoscaling/v1';
  o.kind = 'HorizontalPodAutoscaler';
  o.metadata = { ...o.metadata };
  if (Object.keys(annotations).length) o.metadata.annotations = annotations;
  else delete o.metadata.annotations;
  o.spec = v1spec;
  if (v1status) o.status = v1status;
  return o;
}

// ---- v1 -> v2 ----

function target(kind: 'Utilization' | 'AverageValue' | 'Value', fields: Obj): Obj {
  const t: Obj = { type: kind };
  for (const [k, v] of Object.entries(fields)) set(t, k, v);
  return t;
}

function metricSpecToV2(m: Obj): Obj {
  const out: Obj = { type: m?.type };
  switch (m?.type) {
    case 'Resource': {
      const r = m.resource ?? {};
      const util = r.targetAverageUtilization;
      out.resource = { name: r.name, target: target(util !== undefined && util !== null ? 'Utilization' : 'AverageValue', { averageUtilization: util, averageValue: r.targetAverageValue }) };
      break;
    }
    case 'ContainerResource': {
      const r = m.containerResource ?? {};
      const util = r.targetAverageUtilization;
      out.containerResource = { name: r.name, container: r.container, target: target(util !== undefined && util !== null ? 'Utilization' : 'AverageValue', { averageUtilization: util, averageValue: r.targetAverageValue }) };
      break;
    }
    case 'Pods':
      out.pods = { metric: withSelector({ name: m.pods?.metricName }, m.pods?.selector), target: target('AverageValue', { averageValue: m.pods?.targetAverageValue }) };
      break;
    case 'Object': {
      const ob = m.object ?? {};
      out.object = { describedObject: ob.target, metric: withSelector({ name: ob.metricName }, ob.selector),
        target: target(ob.averageValue !== undefined && ob.averageValue !== null ? 'AverageValue' : 'Value', { value: ob.targetValue, averageValue: ob.averageValue }) };
      break;
    }
    case 'External': {
      const ex = m.external ?? {};
      out.external = { metric: withSelector({ name: ex.metricName }, ex.metricSelector),
        target: target(ex.targetAverageValue !== undefined && ex.targetAverageValue !== null ? 'AverageValue' : 'Value', { value: ex.targetValue, averageValue: ex.targetAverageValue }) };
      break;
    }
  }
  return out;
}

function withSelector(metric: Obj, selector: unknown): Obj {
  set(metric, 'selector', selector);
  return metric;
}

function metricStatusToV2(m: Obj): Obj {
  const out: Obj = { type: m?.type };
  const cur = (fields: Obj) => { const c: Obj = {}; for (const [k, v] of Object.entries(fields)) set(c, k, v); return c; };
  switch (m?.type) {
    case 'Resource':
      out.resource = { name: m.resource?.name, current: cur({ averageValue: m.resource?.currentAverageValue, averageUtilization: m.resource?.currentAverageUtilization }) };
      break;
    case 'ContainerResource':
      out.containerResource = { name: m.containerResource?.name, container: m.containerResource?.container,
        current: cur({ averageValue: m.containerResource?.currentAverageValue, averageUtilization: m.containerResource?.currentAverageUtilization }) };
      break;
    case 'Pods':
      out.pods = { metric: withSelector({ name: m.pods?.metricName }, m.pods?.selector), current: cur({ averageValue: m.pods?.currentAverageValue }) };
      break;
    case 'Object':
      out.object = { describedObject: m.object?.target, metric: withSelector({ name: m.object?.metricName }, m.object?.selector),
        current: cur({ value: m.object?.currentValue, averageValue: m.object?.averageValue }) };
      break;
    case 'External':
      out.external = { metric: withSelector({ name: m.external?.metricName }, m.external?.metricSelector),
        current: cur({ value: m.external?.currentValue, averageValue: m.external?.currentAverageValue }) };
      break;
  }
  return out;
}

function parseJSON<T>(s: string | undefined): T | undefined {
  if (typeof s !== 'string') return undefined;
  try {
    return JSON.parse(s) as T;
  } catch {
    // As kube: a round-trip annotation that does not parse is ignored.
    return undefined;
  }
}

/** An autoscaling/v1 HPA as stored (v2). */
export function hpaV1ToV2(src: KubeObject): KubeObject {
  const o = structuredClone(src);
  const spec: Obj = o.spec ?? {};
  const status: Obj | undefined = o.status;
  const annotations: Record<string, string> = { ...(o.metadata?.annotations ?? {}) };
  const others = parseJSON<Obj[]>(annotations[metricSpecsAnnotation]);
  const currents = parseJSON<Obj[]>(annotations[metricStatusesAnnotation]);
  const conditions = parseJSON<Obj[]>(annotations[conditionsAnnotation]);
  const behavior = parseJSON<Obj>(annotations[behaviorAnnotation]);
  for (const k of roundTrip) delete annotations[k];

  const v2spec: Obj = { scaleTargetRef: spec.scaleTargetRef };
  set(v2spec, 'minReplicas', spec.minReplicas);
  v2spec.maxReplicas = spec.maxReplicas;
  const metrics: Obj[] = Array.isArray(others) ? others.map(metricSpecToV2) : [];
  const cpu = spec.targetCPUUtilizationPercentage;
  if (cpu !== undefined && cpu !== null) metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu } } });
  if (metrics.length) v2spec.metrics = metrics;
  if (behavior && typeof behavior === 'object') v2spec.behavior = behavior;

  let v2status: Obj | undefined;
  if (status) {
    v2status = {};
    set(v2status, 'observedGeneration', status.observedGeneration);
    set(v2status, 'lastScaleTime', status.lastScaleTime);
    set(v2status, 'currentReplicas', status.currentReplicas);
    v2status.desiredReplicas = status.desiredReplicas ?? 0;
    if (Array.isArray(currents)) v2status.currentMetrics = currents.map(metricStatusToV2);
    else if (status.currentCPUUtilizationPercentage !== undefined && status.currentCPUUtilizationPercentage !== null) {
      v2status.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } }];
    }
    if (Array.isArray(conditions)) v2status.conditions = conditions;
  }
  o.apiVersion = 'autoscaling/v2';
  o.kind = 'HorizontalPodAutoscaler';
  o.metadata = { ...o.metadata };
  if (Object.keys(annotations).length) o.metadata.annotations = annotations;
  else delete o.metadata.annotations;
  o.spec = v2spec;
  if (v2status) o.status = v2status;
  return o;
}
