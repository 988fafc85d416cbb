// The HorizontalPodAutoscaler controller (pkg/controller/podautoscaler/
// horizontal.go, kube's horizontal-pod-autoscaler-controller): every sync
// period, each HPA's target scale is read, a replica count is computed per
// metric (Resource and ContainerResource, utilization or average value, from
// metrics.k8s.io), the largest wins, stabilization and the scaling rules
// (behavior, or the legacy limits) bound it, and the target is scaled through
// its scale subresource. Status carries the current metrics and the
// AbleToScale, ScalingActive and ScalingLimited conditions.

import { isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject, Pod } from '../../api/types.js';
import { deepCopy, objectKey, splitKey } from '../../api/types.js';
import { milliValue } from '../../api/quantity.js';
import { parseSelector } from '../../api/labels.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController, type EventRecorder } from '../controller.js';
import { formatMilliQuantity, type MetricsClient, type Scale, type ScaleClient } from './clients.js';
import { ReplicaCalculator } from './replicacalculator.js';
import { metaTime } from '../../api/time.js';

type Obj = Record<string, any>;
type HPA = KubeObject;

export interface HorizontalControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  metrics: MetricsClient;
  scales: ScaleClient;
  /** --horizontal-pod-autoscaler-sync-period (15 s). */
  syncPeriodMs?: number;
  /** --horizontal-pod-autoscaler-tolerance (0.1). */
  tolerance?: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization (5 m). */
  downscaleStabilizationMs?: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period (5 m). */
  cpuInitializationPeriodMs?: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay (30 s). */
  initialReadinessDelayMs?: number;
  now?: () => Date;
}

interface Recommendation { replicas: number; at: number }
interface ScaleEvent { change: number; at: number; outdated?: boolean }


/** setCondition: lastTransitionTime moves only when status does. */
function setCondition(hpa: HPA, type: string, status: 'True' | 'False', reason: string, message: string, now: Date): void {
  hpa.status ??= {};
  const conds: Obj[] = hpa.status.conditions ?? [];
  const old = conds.find((c) => c.type === type);
  const next = { type, status, reason, message, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : metaTime(now) };
  hpa.status.conditions = old ? conds.map((c) => (c === old ? next : c)) : [...conds, next];
}

/** calculateScaleUpLimit: without behavior, at most double (or 4) per sync. */
const legacyScaleUpLimit = (current: number) => Math.max(2 * current, 4);

export class HorizontalController extends QueueController {
  private readonly o: Required<Omit<HorizontalControllerOptions, 'now'>> & { now: () => Date };
  private readonly hpas: Informer<HPA>;
  private readonly pods: Informer<Pod>;
  private readonly calculator: ReplicaCalculator;
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly scaleUpEvents = new Map<string, ScaleEvent[]>();
  private readonly scaleDownEvents = new Map<string, ScaleEvent[]>();

  constructor(o: HorizontalControllerOptions) {
    super('horizontalpodautoscaler', logger('horizontal-pod-autoscaler-controller'));
    for (const [k, v] of Object.entries({ syncPeriodMs: o.syncPeriodMs, downscaleStabilizationMs: o.downscaleStabilizationMs, tolerance: o.tolerance })) {
      if (v !== undefined && !(v >= 0)) throw new Error(`${k} must be >= 0, got ${v}`);
    }
    this.o = {
      syncPeriodMs: 15_000, tolerance: 0.1, downscaleStabilizationMs: 300_000, cpuInitializationPeriodMs: 300_000, initialReadinessDelayMs: 30_000,
      ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
      now: o.now ?? (() => new Date()),
    } as HorizontalController['o'];
    this.calculator = new ReplicaCalculator({
      tolerance: this.o.tolerance, cpuInitializationPeriodMs: this.o.cpuInitializationPeriodMs, delayOfInitialReadinessStatusMs: this.o.initialReadinessDelayMs, now: this.o.now,
    });
    // The HPA is read through its storage version (v2), as kube's controller does.
    this.hpas = o.informers.informerFor<HPA>(R.horizontalpodautoscalers);
    this.pods = o.informers.informerFor<Pod>(R.pods);
    this.hpas.addEventHandler({
      onAdd: (h) => this.queue.add(objectKey(h)),
      // Only a spec change is worth an early sync; status writes are our own.
      onUpdate: (old, h) => { if (old.metadata.generation !== h.metadata.generation) this.queue.add(objectKey(h)); },
      onDelete: (h) => {
        const key = objectKey(h);
        this.recommendations.delete(key);
        this.scaleUpEvents.delete(key);
        this.scaleDownEvents.delete(key);
      },
    });
  }

  async sync(key: string): Promise<void> {
    const cached = this.hpas.lister.get(key);
    if (!cached) return;
    try {
      await this.reconcile(deepCopy(cached), cached);
    } finally {
      // Level-based on a timer: metrics change without any watch event.
      if (this.hpas.lister.get(key)) this.queue.addAfter(key, this.o.syncPeriodMs);
    }
  }

  private async reconcile(hpa: HPA, original: HPA): Promise<void> {
    const now = this.o.now();
    const key = objectKey(hpa);
    const { namespace } = splitKey(key);
    const spec: Obj = hpa.spec ?? {};
    const ref = spec.scaleTargetRef ?? {};
    const reference = `${ref.kind}/${ref.name}`;
    let scale: Scale;
    try {
      scale = await this.o.scales.get(namespace!, ref);
    } catch (e) {
      const msg = (e as Error).message;
      this.o.recorder.event(hpa, 'Warning', 'FailedGetScale', msg);
      setCondition(hpa, 'AbleToScale', 'False', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${msg}`, now);
      await this.writeStatus(hpa, original);
      throw new Error(`failed to query scale subresource for ${reference}: ${msg}`);
    }
    setCondition(hpa, 'AbleToScale', 'True', 'SucceededGetScale', 'the HPA controller was able to get the target\'s current scale', now);
    const currentReplicas = scale.spec?.replicas ?? 0;
    const minReplicas = spec.minReplicas ?? 1;
    const maxReplicas = spec.maxReplicas;
    let desiredReplicas = 0;
    let rescaleReason = '';
    let metricStatuses: Obj[] = hpa.status?.currentMetrics ?? [];
    let rescale = true;

    if (currentReplicas === 0 && minReplicas !== 0) {
      // Autoscaling is off while the target is scaled to zero by hand.
      desiredReplicas = 0;
      rescale = false;
      setCondition(hpa, 'ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero', now);
    } else if (currentReplicas > maxReplicas) {
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
      desiredReplicas = maxReplicas;
    } else if (currentReplicas < minReplicas) {
      rescaleReason = 'Current number of replicas below Spec.MinReplicas';
      desiredReplicas = minReplicas;
    } else {
      const computed = await this.computeReplicasForMetrics(hpa, scale, currentReplicas, now);
      metricStatuses = computed.statuses;
      if (computed.replicas < 0) {
        hpa.status = { ...hpa.status, currentReplicas, desiredReplicas: hpa.status?.desiredReplicas ?? currentReplicas, currentMetrics: metricStatuses };
        await this.writeStatus(hpa, original);
        throw new Error(`failed to compute desired number of replicas based on listed metrics for ${reference}: ${computed.error}`);
      }
      desiredReplicas = computed.replicas;
      if (desiredReplicas > currentReplicas) rescaleReason = `${computed.metric} above target`;
      if (desiredReplicas < currentReplicas) rescaleReason = 'All metrics below target';
      desiredReplicas = spec.behavior
        ? this.normalizeWithBehaviors(hpa, key, currentReplicas, desiredReplicas, minReplicas, now)
        : this.normalize(hpa, key, currentReplicas, desiredReplicas, minReplicas, now);
      rescale = desiredReplicas !== currentReplicas;
    }

    if (rescale) {
      try {
        await this.o.scales.update(namespace!, ref, { ...scale, spec: { ...scale.spec, replicas: desiredReplicas } });
      } catch (e) {
        const msg = (e as Error).message;
        this.o.recorder.event(hpa, 'Warning', 'FailedRescale', `New size: ${desiredReplicas}; reason: ${rescaleReason}; error: ${msg}`);
        setCondition(hpa, 'AbleToScale', 'False', 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${msg}`, now);
        hpa.status = { ...hpa.status, currentReplicas, desiredReplicas: hpa.status?.desiredReplicas ?? currentReplicas, currentMetrics: metricStatuses };
        await this.writeStatus(hpa, original);
        throw e;
      }
      setCondition(hpa, 'AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desiredReplicas}`, now);
      this.o.recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desiredReplicas}; reason: ${rescaleReason}`);
      this.storeScaleEvent(hpa, key, currentReplicas, desiredReplicas, now);
      this.log.info('successfully rescaled', { hpa: key, currentReplicas, desiredReplicas, reason: rescaleReason });
    } else {
      desiredReplicas = currentReplicas;
    }
    hpa.status = {
      ...hpa.status,
      currentReplicas,
      desiredReplicas,
      ...(rescale ? { lastScaleTime: metaTime(now) } : {}),
      ...(metricStatuses.length ? { currentMetrics: metricStatuses } : {}),
    };
    if (!metricStatuses.length) delete hpa.status.currentMetrics;
    await this.writeStatus(hpa, original);
  }

  /** computeReplicasForMetrics: the largest proposal of the metrics that could be computed; -1 when none could. */
  private async computeReplicasForMetrics(hpa: HPA, scale: Scale, currentReplicas: number, now: Date): Promise<{ replicas: number; metric: string; statuses: Obj[]; error?: string }> {
    const specs: Obj[] = hpa.spec?.metrics ?? [];
    const selectorText = scale.status?.selector;
    if (!selectorText) {
      const msg = 'selector is required';
      this.o.recorder.event(hpa, 'Warning', 'SelectorRequired', msg);
      setCondition(hpa, 'ScalingActive', 'False', 'InvalidSelector', 'the HPA target\'s scale is missing a selector', now);
      return { replicas: -1, metric: '', statuses: [], error: msg };
    }
    const selector = parseSelector(selectorText);
    const pods = this.pods.lister.list({ namespace: hpa.metadata.namespace }).filter((p) => selector.matches(p.metadata.labels ?? {}));
    const statuses: Obj[] = [];
    let best = -1;
    let bestMetric = '';
    let invalid = 0;
    let lastError = '';
    for (const [i, m] of specs.entries()) {
      try {
        const r = await this.computeForMetric(hpa, m, currentReplicas, pods, selectorText);
        statuses[i] = r.status;
        if (best === -1 || r.replicas > best) {
          best = r.replicas;
          bestMetric = r.name;
        }
      } catch (e) {
        invalid++;
        lastError = (e as Error).message;
        statuses[i] = { type: '' };
        const reason = m?.type === 'ContainerResource' ? 'FailedGetContainerResourceMetric' : m?.type === 'Resource' ? 'FailedGetResourceMetric' : `FailedGet${m?.type ?? ''}Metric`;
        this.o.recorder.event(hpa, 'Warning', reason, lastError);
        setCondition(hpa, 'ScalingActive', 'False', reason, `the HPA was unable to compute the replica count: ${lastError}`, now);
      }
    }
    // As kube: with any invalid metric, a scale-down is not safe (the invalid one might want more).
    if (invalid > 0 && (invalid >= specs.length || best < currentReplicas)) {
      return { replicas: -1, metric: '', statuses: statuses.filter((s) => s.type), error: `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${lastError}` };
    }
    setCondition(hpa, 'ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${bestMetric}`, now);
    return { replicas: best, metric: bestMetric, statuses: statuses.filter((s) => s.type) };
  }

  private async computeForMetric(hpa: HPA, m: Obj, currentReplicas: number, pods: readonly Pod[], selector: string): Promise<{ replicas: number; name: string; status: Obj }> {
    const ns = hpa.metadata.namespace!;
    if (m?.type !== 'Resource' && m?.type !== 'ContainerResource') {
      throw new Error(`unable to get metric ${m?.[String(m?.type).charAt(0).toLowerCase() + String(m?.type).slice(1)]?.metric?.name ?? ''}: no custom metrics API (custom.metrics.k8s.io) or external metrics API (external.metrics.k8s.io) is served`);
    }
    const src: Obj = m.type === 'Resource' ? m.resource : m.containerResource;
    const field = m.type === 'Resource' ? 'resource' : 'containerResource';
    const container: string | undefined = m.type === 'ContainerResource' ? src.container : undefined;
    const target: Obj = src.target ?? {};
    let metrics;
    try {
      metrics = await this.o.metrics.resourceMetric(ns, selector, src.name, container);
    } catch (e) {
      throw new Error(`unable to get metrics for resource ${src.name}: ${(e as Error).message}`);
    }
    const ident = { name: src.name, ...(container ? { container } : {}) };
    if (target.averageValue !== undefined && target.averageValue !== null) {
      const r = this.calculator.rawResourceReplicas(currentReplicas, milliValue(target.averageValue), src.name, pods, metrics);
      return { replicas: r.replicas, name: `${src.name} resource${container ? ` of container "${container}"` : ''}`,
        status: { type: m.type, [field]: { ...ident, current: { averageValue: formatMilliQuantity(r.usage) } } } };
    }
    if (typeof target.averageUtilization !== 'number') throw new Error('invalid resource metric source: neither a utilization target nor a value target was set');
    const r = this.calculator.resourceReplicas(currentReplicas, target.averageUtilization, src.name, pods, metrics, container);
    return { replicas: r.replicas, name: `${src.name} resource utilization (percentage of request)${container ? ` of container "${container}"` : ''}`,
      status: { type: m.type, [field]: { ...ident, current: { averageUtilization: r.utilization, averageValue: formatMilliQuantity(r.rawAverage) } } } };
  }

  /** normalizeDesiredReplicas: the legacy path (no behavior): scale-down stabilization, then min/max and the scale-up rate. */
  private normalize(hpa: HPA, key: string, current: number, desired: number, min: number, now: Date): number {
    const stabilized = this.stabilize(key, desired, now);
    if (stabilized !== desired) setCondition(hpa, 'AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation', now);
    else setCondition(hpa, 'AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size', now);
    const max = hpa.spec.maxReplicas;
    const upLimit = legacyScaleUpLimit(current);
    let maxAllowed: number;
    let cond: string;
    let reason: string;
    if (max > upLimit) {
      maxAllowed = upLimit;
      cond = 'ScaleUpLimit';
      reason = 'the desired replica count is increasing faster than the maximum scale rate';
    } else {
      maxAllowed = max;
      cond = 'TooManyReplicas';
      reason = 'the desired replica count is more than the maximum replica count';
    }
    let out = stabilized;
    if (stabilized < min) {
      out = min;
      cond = 'TooFewReplicas';
      reason = 'the desired replica count is less than the minimum replica count';
    } else if (stabilized > maxAllowed) out = maxAllowed;
    else {
      cond = 'DesiredWithinRange';
      reason = 'the desired count is within the acceptable range';
    }
    setCondition(hpa, 'ScalingLimited', out === stabilized ? 'False' : 'True', cond, reason, now);
    return out;
  }

  /** stabilizeRecommendation: the highest recommendation of the downscale window. */
  private stabilize(key: string, desired: number, now: Date): number {
    const t = now.getTime();
    const cutoff = t - this.o.downscaleStabilizationMs;
    const recs = this.recommendations.get(key) ?? [];
    let max = desired;
    let replaced = false;
    for (const r of recs) {
      if (r.at > cutoff) max = Math.max(max, r.replicas);
      else if (!replaced) {
        r.replicas = desired;
        r.at = t;
        replaced = true;
      }
    }
    if (!replaced) recs.push({ replicas: desired, at: t });
    this.recommendations.set(key, recs);
    return max;
  }

  /** normalizeDesiredReplicasWithBehaviors: both stabilization windows, then the policies' rate limits. */
  private normalizeWithBehaviors(hpa: HPA, key: string, current: number, desired: number, min: number, now: Date): number {
    const behavior: Obj = hpa.spec.behavior;
    const up: Obj = behavior.scaleUp ?? {};
    const down: Obj = behavior.scaleDown ?? {};
    // maybeInitScaleDownStabilizationWindow: an unset window is the controller's flag.
    const downWindow = down.stabilizationWindowSeconds ?? this.o.downscaleStabilizationMs / 1000;
    const upWindow = up.stabilizationWindowSeconds ?? 0;
    const t = now.getTime();
    const upCutoff = t - upWindow * 1000;
    const downCutoff = t - downWindow * 1000;
    let upRec = desired;
    let downRec = desired;
    let oldIndex = -1;
    const recs = this.recommendations.get(key) ?? [];
    recs.forEach((r, i) => {
      if (r.at > upCutoff) upRec = Math.min(r.replicas, upRec);
      if (r.at > downCutoff) downRec = Math.max(r.replicas, downRec);
      if (r.at < upCutoff && r.at < downCutoff) oldIndex = i;
    });
    let stabilized = current;
    if (stabilized < upRec) stabilized = upRec;
    if (stabilized > downRec) stabilized = downRec;
    if (oldIndex >= 0) recs[oldIndex] = { replicas: desired, at: t };
    else recs.push({ replicas: desired, at: t });
    this.recommendations.set(key, recs);
    if (stabilized !== desired) {
      if (desired >= current) setCondition(hpa, 'AbleToScale', 'True', 'ScaleUpStabilized', 'recent recommendations were lower than current one, applying the lowest recent recommendation', now);
      else setCondition(hpa, 'AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation', now);
    } else setCondition(hpa, 'AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size', now);

    let out = stabilized;
    let reason = 'DesiredWithinRange';
    let message = 'the desired count is within the acceptable range';
    const max = hpa.spec.maxReplicas;
    if (stabilized > current) {
      const limit = Math.max(this.scaleUpLimit(key, current, up, t), current);
      let maxAllowed = max;
      if (maxAllowed > limit) {
        maxAllowed = limit;
        reason = 'ScaleUpLimit';
        message = 'the desired replica count is increasing faster than the maximum scale rate';
      } else {
        reason = 'TooManyReplicas';
        message = 'the desired replica count is more than the maximum replica count';
      }
      if (stabilized > maxAllowed) out = maxAllowed;
      else { reason = 'DesiredWithinRange'; message = 'the desired count is within the acceptable range'; }
    } else if (stabilized < current) {
      const limit = Math.min(this.scaleDownLimit(key, current, down, t), current);
      let minAllowed = min;
      if (minAllowed < limit) {
        minAllowed = limit;
        reason = 'ScaleDownLimit';
        message = 'the desired replica count is decreasing faster than the maximum scale rate';
      } else {
        reason = 'TooFewReplicas';
        message = 'the desired replica count is less than the minimum replica count';
      }
      if (stabilized < minAllowed) out = minAllowed;
      else { reason = 'DesiredWithinRange'; message = 'the desired count is within the acceptable range'; }
    }
    setCondition(hpa, 'ScalingLimited', out === stabilized ? 'False' : 'True', reason, message, now);
    return out;
  }

  private changeInPeriod(events: ScaleEvent[] | undefined, periodSeconds: number, t: number): number {
    const cutoff = t - periodSeconds * 1000;
    return (events ?? []).filter((e) => e.at > cutoff).reduce((n, e) => n + e.change, 0);
  }

  /** calculateScaleUpLimitWithScalingRules. */
  private scaleUpLimit(key: string, current: number, rules: Obj, t: number): number {
    const select = rules.selectPolicy ?? 'Max';
    if (select === 'Disabled') return current;
    let result = select === 'Min' ? Infinity : -Infinity;
    for (const p of rules.policies ?? []) {
      const start = current - this.changeInPeriod(this.scaleUpEvents.get(key), p.periodSeconds, t) + this.changeInPeriod(this.scaleDownEvents.get(key), p.periodSeconds, t);
      const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
      result = select === 'Min' ? Math.min(result, proposed) : Math.max(result, proposed);
    }
    return result;
  }

  /** calculateScaleDownLimitWithBehaviors. */
  private scaleDownLimit(key: string, current: number, rules: Obj, t: number): number {
    const select = rules.selectPolicy ?? 'Max';
    if (select === 'Disabled') return current;
    let result = select === 'Min' ? -Infinity : Infinity;
    for (const p of rules.policies ?? []) {
      const start = current - this.changeInPeriod(this.scaleUpEvents.get(key), p.periodSeconds, t) + this.changeInPeriod(this.scaleDownEvents.get(key), p.periodSeconds, t);
      const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
      result = select === 'Min' ? Math.max(result, proposed) : Math.min(result, proposed);
    }
    return result;
  }

  /** storeScaleEvent: what the rate policies count, kept for the longest policy period. */
  private storeScaleEvent(hpa: HPA, key: string, prev: number, next: number, now: Date): void {
    const behavior: Obj | undefined = hpa.spec.behavior;
    if (!behavior) return;
    const up = next > prev;
    const rules: Obj = (up ? behavior.scaleUp : behavior.scaleDown) ?? {};
    const longest = Math.max(0, ...(rules.policies ?? []).map((p: Obj) => p.periodSeconds ?? 0));
    const t = now.getTime();
    const map = up ? this.scaleUpEvents : this.scaleDownEvents;
    const events = (map.get(key) ?? []).filter((e) => e.at > t - longest * 1000);
    events.push({ change: Math.abs(next - prev), at: t });
    map.set(key, events);
  }

  private async writeStatus(hpa: HPA, original: HPA): Promise<void> {
    if (JSON.stringify(hpa.status) === JSON.stringify(original.status)) return;
    try {
      await this.o.client.resource(R.horizontalpodautoscalers, hpa.metadata.namespace).updateStatus(hpa);
    } catch (e) {
      // A newer HPA in the cache syncs again on the next period.
      if (isConflict(e) || isNotFound(e)) {
        this.log.debug('hpa status write lost', { hpa: objectKey(hpa), error: (e as Error).message });
        return;
      }
      throw e;
    }
  }
}
