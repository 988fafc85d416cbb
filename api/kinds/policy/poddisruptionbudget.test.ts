// PodDisruptionBudget and HorizontalPodAutoscaler rules through the generic
// validation and printing (the schema plus each kind's own rules), with
// kube's field paths and messages.

import { describe, expect, it } from 'vitest';
import { findByPlural } from '../../resources.js';
import { validateObject } from '../../validation.js';
import { applyDefaults } from '../../defaults.js';
import type { KubeObject } from '../../types.js';
import { toTable } from '../../../apiserver/printers.js';

const pdbs = findByPlural('policy', 'v1', 'poddisruptionbudgets')!;
const hpaV2 = findByPlural('autoscaling', 'v2', 'horizontalpodautoscalers')!;
const hpaV1 = findByPlural('autoscaling', 'v1', 'horizontalpodautoscalers')!;

const pdb = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'default' }, spec });
const messages = (r: typeof pdbs, o: KubeObject, opts = {}) => validateObject(r, o, opts).map((c) => `${c.field}: ${c.message}`);

describe('PodDisruptionBudget', () => {
  it('refuses both minAvailable and maxUnavailable, bad percentages and policies', () => {
    expect(messages(pdbs, pdb({ minAvailable: 1, maxUnavailable: 1, selector: {} }))[0]).toMatch(/^spec: Invalid value: .*: minAvailable and maxUnavailable cannot be both set$/);
    expect(messages(pdbs, pdb({ minAvailable: '120%' }))).toEqual(['spec.minAvailable: Invalid value: "120%": must not be greater than 100%']);
    expect(messages(pdbs, pdb({ maxUnavailable: -1 }))).toEqual(['spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0']);
    expect(messages(pdbs, pdb({ minAvailable: 1, unhealthyPodEvictionPolicy: 'Sometimes' }))).toEqual(['spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: "AlwaysAllow", "IfHealthyBudget"']);
    expect(messages(pdbs, pdb({ minAvailable: '50%', selector: { matchLabels: { app: 'web' } }, unhealthyPodEvictionPolicy: 'IfHealthyBudget' }))).toEqual([]);
  });

  it('prints kube\'s columns', () => {
    const o = { ...pdb({ maxUnavailable: '25%' }), status: { disruptionsAllowed: 2 } };
    const t = toTable(pdbs, [o], {});
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age']);
    expect(t.rows[0].cells.slice(0, 4)).toEqual(['web', 'N/A', '25%', 2]);
  });
});

describe('HorizontalPodAutoscaler', () => {
  const hpa = (spec: Record<string, unknown>, apiVersion = 'autoscaling/v2'): KubeObject => ({ apiVersion, kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'default' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, ...spec } });

  it('defaults minReplicas, the 80% CPU metric and a given behavior as SetDefaults_HorizontalPodAutoscaler', () => {
    const o = hpa({ behavior: { scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } });
    applyDefaults(hpaV2, o);
    expect(o.spec.minReplicas).toBe(1);
    expect(o.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
    expect(o.spec.behavior).toEqual({
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] },
      scaleDown: { selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
    });
  });

  it('validates replicas, the target reference, metrics and behavior with kube\'s paths', () => {
    expect(messages(hpaV2, hpa({ minReplicas: 6 }))).toEqual(['spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`']);
    expect(messages(hpaV2, hpa({ minReplicas: 0 }))).toEqual(['spec.minReplicas: Invalid value: 0: must be greater than or equal to 1']);
    expect(messages(hpaV2, hpa({ scaleTargetRef: { kind: 'Deployment', name: '' } }))).toContain('spec.scaleTargetRef.name: Required value');
    expect(messages(hpaV2, hpa({ metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 0 } } }] })))
      .toEqual(['spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0']);
    expect(messages(hpaV2, hpa({ behavior: { scaleUp: { stabilizationWindowSeconds: 4000, policies: [] } } })))
      .toEqual(['spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 4000: must be less than or equal to 3600', 'spec.behavior.scaleUp.policies: Required value: must specify at least one Policy']);
    expect(messages(hpaV1, hpa({ minReplicas: 3, maxReplicas: 2, targetCPUUtilizationPercentage: 50 }, 'autoscaling/v1'))).toEqual(['spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`']);
  });

  it('prints TARGETS as kubectl shows them', () => {
    const o = hpa({ minReplicas: 1, metrics: [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '200Mi' } } },
      { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
    ] });
    o.status = { currentReplicas: 2, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 12, averageValue: '12m' } } }] };
    const t = toTable(hpaV2, [o], {});
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Age']);
    expect(t.rows[0].cells.slice(0, 6)).toEqual(['web', 'Deployment/web', 'cpu: 12%/50%, memory: <unknown>/200Mi + 1 more...', '1', 5, 2]);
  });
});
