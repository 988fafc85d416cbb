// core/v1 ResourceQuota: aggregate limits per namespace, enforced by the
// ResourceQuota admission plugin and kept current by the
// resourcequota-controller (pkg/registry/core/resourcequota,
// ValidateResourceQuota, printResourceQuota).

import { isDeepStrictEqual } from 'node:util';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { canonicalQuantity, standardQuotaScopes, toMilli, validQuantity } from '../../quota.js';
import { field } from '../../schemas/rules.js';
import { isQualifiedName } from '../../labels.js';
import type { KubeObject, StatusCause } from '../../types.js';

const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** helper.IsStandardQuotaResourceName. */
const standardQuotaNames = new Set(['cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.storage', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets',
  'persistentvolumeclaims', 'configmaps', 'services.nodeports', 'services.loadbalancers']);
const isStandardQuotaName = (n: string) => standardQuotaNames.has(n) || n.startsWith('hugepages-') || n.startsWith('requests.hugepages-');
/** IsIntegerResourceName: object counts and extended resources are whole numbers. */
const isIntegerName = (n: string) => ['pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims',
  'services.nodeports', 'services.loadbalancers'].includes(n) || n.startsWith('count/') || (n.includes('/') && !n.startsWith('kubernetes.io/') && !n.includes('.storageclass.storage.k8s.io/'));

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', singular: 'resourcequota', shortNames: ['quota'],
    namespaced: true, subresources: ['status'], hasStatus: true }),

  validate(rq, { old }) {
    const out = [...validateResourceList(rq.spec?.hard, 'spec.hard'), ...validateScopes(rq)];
    out.push(...validateResourceList(rq.status?.hard, 'status.hard'), ...validateResourceList(rq.status?.used, 'status.used'));
    // ValidateResourceQuotaUpdate: the scopes say which objects were counted; they never change.
    if (old && !isDeepStrictEqual(rq.spec?.scopes ?? [], old.spec?.scopes ?? [])) out.push(field.invalid('spec.scopes', rq.spec?.scopes ?? null, 'field is immutable'));
    return out;
  },

  strategy: {
    // resourcequotaStrategy.PrepareForCreate: status is the controller's and the admission plugin's.
    prepareForCreate: (rq) => { rq.status = {}; },
  },

  // printResourceQuota: "requests.cpu: 100m/1, pods: 2/10" in Request, limits.* in Limit.
  printer: {
    columns: [nameCol, ageCol,
      ['Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'],
      ['Limit', 'string', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.']],
    cells: (rq, since) => {
      const hard: Record<string, string> = isObject(rq.spec?.hard) ? rq.spec.hard : {};
      const request: string[] = [];
      const limit: string[] = [];
      for (const k of Object.keys(hard).sort()) {
        const used = rq.status?.used?.[k];
        const h = rq.status?.hard?.[k];
        const cell = `${k}: ${validQuantity(used) ? canonicalQuantity(used) : '0'}/${validQuantity(h) ? canonicalQuantity(h) : '0'}`;
        (k.split('.').length > 1 && k.split('.')[0] === 'limits' ? limit : request).push(cell);
      }
      return [rq.metadata.name, since(rq.metadata.creationTimestamp), request.join(', '), limit.join(', ')];
    },
  },
});

/** ValidateResourceQuotaSpec / Status: standard names, non-negative quantities, whole numbers for counts. */
function validateResourceList(list: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!isObject(list)) return out;
  for (const [k, v] of Object.entries(list)) {
    const at = `${path}[${k}]`;
    const nameErrs = k.includes('/') ? isQualifiedName(k.startsWith('count/') ? k.slice('count/'.length).replace(/\//g, '-') || '-' : k) : [];
    for (const e of nameErrs) out.push(field.invalid(at, k, e));
    if (!k.includes('/') && !isStandardQuotaName(k)) out.push(field.invalid(at, k, 'must be a standard resource for quota'));
    if (!validQuantity(v)) continue;
    const milli = toMilli(v as string);
    if (milli < 0) out.push(field.invalid(at, canonicalQuantity(v as string), 'must be greater than or equal to 0'));
    if (isIntegerName(k) && milli % 1000 !== 0) out.push(field.invalid(at, canonicalQuantity(v as string), 'must be an integer'));
  }
  return out;
}

/** validateResourceQuotaScopes and validateScopeSelector: known scopes, no contradicting pair, PriorityClass only with operators that fit. */
function validateScopes(rq: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const scopes: unknown[] = Array.isArray(rq.spec?.scopes) ? rq.spec.scopes : [];
  for (const s of scopes) {
    if (typeof s !== 'string' || !standardQuotaScopes.includes(s)) out.push(field.invalid('spec.scopes', s, 'unsupported scope'));
  }
  const exprs: any[] = Array.isArray(rq.spec?.scopeSelector?.matchExpressions) ? rq.spec.scopeSelector.matchExpressions : [];
  exprs.forEach((e, i) => {
    if (!isObject(e)) return;
    const at = `spec.scopeSelector.matchExpressions[${i}]`;
    if (!standardQuotaScopes.includes(e.scopeName)) out.push(field.invalid(`${at}.scopeName`, e.scopeName, 'unsupported scope'));
    const values: unknown[] = Array.isArray(e.values) ? e.values : [];
    if ((e.operator === 'In' || e.operator === 'NotIn') && !values.length) out.push(field.required(`${at}.values`, 'must be at least one value when `operator` is \'In\' or \'NotIn\' for scope selector'));
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length) out.push(field.invalid(`${at}.values`, values, 'must be no value when `operator` is \'Exist\' or \'DoesNotExist\' for scope selector'));
  });
  const all = new Set([...scopes, ...exprs.map((e) => e?.scopeName)]);
  if ((all.has('Terminating') && all.has('NotTerminating')) || (all.has('BestEffort') && all.has('NotBestEffort'))) {
    out.push(field.invalid('spec.scopes', [...all], 'conflicting scopes'));
  }
  return out;
}
