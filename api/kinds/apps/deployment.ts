// apps/v1 Deployment (pkg/registry/apps/deployment, ValidateDeployment, SetDefaults_Deployment, printDeployment).

import type { KubeObject } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { defaultTemplate, objectAt, setIfUnset } from '../../defaults.js';
import { field, validateIntOrPercent, validateSelectorAndTemplate } from '../../schemas/rules.js';
import { normalizePodTemplate } from '../../normalize.js';
import { age, ageCol, containerCells, containerCols, nameCol } from '../../printing.js';

const isZero = (v: number | string | undefined) => v === 0 || v === '0%';

function validateDeployment(obj: KubeObject) {
  const out = [];
  const st = obj.spec?.strategy;
  if (st?.type === 'Recreate' && st.rollingUpdate) out.push(field.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  const ru = st?.rollingUpdate;
  if (ru) {
    out.push(...validateIntOrPercent('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable));
    out.push(...validateIntOrPercent('spec.strategy.rollingUpdate.maxSurge', ru.maxSurge));
    if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge)) out.push(field.invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  const d = obj.spec ?? {};
  if (d.revisionHistoryLimit !== undefined && d.revisionHistoryLimit < 0) out.push(field.invalid('spec.revisionHistoryLimit', d.revisionHistoryLimit, 'must be greater than or equal to 0'));
  if (d.progressDeadlineSeconds !== undefined && d.progressDeadlineSeconds !== null && d.progressDeadlineSeconds <= (d.minReadySeconds ?? 0)) {
    out.push(field.invalid('spec.progressDeadlineSeconds', d.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  return out;
}

export default defineKind({
  resource: entry({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', singular: 'deployment', shortNames: ['deploy'], namespaced: true,
    subresources: ['status', 'scale'], hasStatus: true, categories: ['all'] }),
  zeroValue: () => ({ metadata: {}, spec: { selector: null, template: { metadata: {}, spec: { containers: null } }, strategy: {} }, status: {} }),

  defaults(o) {
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

  // A status or scale write keeps the stored spec, so the selector's immutability is the main resource's rule.
  validate: (obj, { old, subresource }) => [...validateSelectorAndTemplate(obj, subresource ? undefined : old), ...validateDeployment(obj)],

  strategy: { tracksGeneration: true, prepareForCreate: (d) => { d.status = {}; } },

  normalize: (d) => normalizePodTemplate(d.spec?.template),

  printer: {
    columns: [nameCol,
      ['Ready', 'string', 'Number of the pod with ready state'],
      ['Up-to-date', 'integer', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'],
      ['Available', 'integer', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'],
      ageCol, ...containerCols],
    cells: (d, since) => [d.metadata.name, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`, d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0, age(d, since), ...containerCells(d)],
  },
});
