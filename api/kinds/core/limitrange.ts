// core/v1 LimitRange: per-namespace defaults and bounds for containers, pods
// and claims, which the LimitRanger admission plugin applies
// (pkg/registry/core/limitrange, ValidateLimitRange, SetDefaults_LimitRangeItem).

import { defineKind, entry } from '../../kind.js';
import { nameCol } from '../../printing.js';
import { canonicalQuantity, toMilli, validQuantity } from '../../quota.js';
import { field } from '../../schemas/rules.js';
import type { KubeObject, StatusCause } from '../../types.js';

const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'LimitRange', plural: 'limitranges', singular: 'limitrange', shortNames: ['limits'], namespaced: true }),

  // SetDefaults_LimitRangeItem: for containers, the default limit falls back to max, the default request to the default limit, then to min.
  defaults(lr) {
    const limits = Array.isArray(lr.spec?.limits) ? lr.spec.limits : [];
    for (const item of limits) {
      if (!isObject(item) || item.type !== 'Container') continue;
      const def: Record<string, unknown> = isObject(item.default) ? { ...item.default } : {};
      const req: Record<string, unknown> = isObject(item.defaultRequest) ? { ...item.defaultRequest } : {};
      for (const [k, v] of Object.entries(isObject(item.max) ? item.max : {})) if (!(k in def)) def[k] = v;
      for (const [k, v] of Object.entries(def)) if (!(k in req)) req[k] = v;
      for (const [k, v] of Object.entries(isObject(item.min) ? item.min : {})) if (!(k in req)) req[k] = v;
      // Empty maps are omitted on the wire (omitempty).
      if (Object.keys(def).length) item.default = def;
      if (Object.keys(req).length) item.defaultRequest = req;
    }
  },

  validate: (lr) => validateLimitRange(lr),

  // printLimitRange.
  printer: {
    columns: [nameCol, ['Created At', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata']],
    cells: (lr) => [lr.metadata.name, lr.metadata.creationTimestamp],
  },
});

const limitTypes = ['Container', 'Pod', 'PersistentVolumeClaim'];
const containerResources = ['cpu', 'memory', 'ephemeral-storage'];

/** ValidateLimitRange: one item per type, min <= defaultRequest <= default <= max, ratios at least 1 and within max/min. */
export function validateLimitRange(lr: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  const items = Array.isArray(lr.spec?.limits) ? lr.spec.limits : [];
  items.forEach((item: any, i: number) => {
    if (!isObject(item)) return;
    const at = `spec.limits[${i}]`;
    const type = item.type;
    if (typeof type !== 'string' || !type) out.push(field.required(`${at}.type`));
    else if (seen.has(type)) out.push(field.duplicate(`${at}.type`, type));
    seen.add(type);
    const maps: Record<string, Record<string, unknown>> = {};
    const keys = new Set<string>();
    for (const m of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) {
      maps[m] = isObject(item[m]) ? item[m] : {};
      if (type === 'Pod' && (m === 'default' || m === 'defaultRequest')) {
        if (Object.keys(maps[m]).length) out.push(field.forbidden(`${at}.${m}`, "may not be specified when `type` is 'Pod'"));
        maps[m] = {};
        continue;
      }
      for (const [k, v] of Object.entries(maps[m])) {
        if (!validQuantity(v)) out.push(field.invalid(`${at}.${m}[${k}]`, v, 'must be a valid quantity'));
        // validateLimitRangeResourceName: containers and pods are limited on their own resources (or extended ones).
        if ((type === 'Container' || type === 'Pod') && !k.includes('/') && !containerResources.includes(k) && !k.startsWith('hugepages-')) {
          out.push(field.invalid(`${at}.${m}[${k}]`, k, 'must be a standard limit type or fully qualified'));
        }
        if (m !== 'maxLimitRequestRatio' || Object.keys(maps.max).length || Object.keys(maps.min).length) keys.add(k);
      }
    }
    if (typeof type === 'string' && type && !limitTypes.includes(type) && !type.includes('/')) {
      out.push(field.invalid(`${at}.type`, type, 'must be a standard limit type or fully qualified'));
    }
    if (type === 'PersistentVolumeClaim' && !('storage' in maps.min) && !('storage' in maps.max)) {
      out.push(field.required(`${at}.limits`, 'either minimum or maximum storage value is required, but neither was provided'));
    }
    for (const k of [...keys, ...Object.keys(maps.maxLimitRequestRatio)].filter((k, j, a) => a.indexOf(k) === j)) {
      const q = (m: string) => (k in maps[m] && validQuantity(maps[m][k]) ? maps[m][k] as string : undefined);
      const min = q('min'); const max = q('max'); const def = q('default'); const req = q('defaultRequest'); const ratio = q('maxLimitRequestRatio');
      const s = canonicalQuantity;
      const gt = (a: string, b: string) => toMilli(a) > toMilli(b);
      if (min && max && gt(min, max)) out.push(field.invalid(`${at}.min[${k}]`, s(min), `min value ${s(min)} is greater than max value ${s(max)}`));
      if (req && min && gt(min, req)) out.push(field.invalid(`${at}.defaultRequest[${k}]`, s(req), `min value ${s(min)} is greater than default request value ${s(req)}`));
      if (req && max && gt(req, max)) out.push(field.invalid(`${at}.defaultRequest[${k}]`, s(req), `default request value ${s(req)} is greater than max value ${s(max)}`));
      if (req && def && gt(req, def)) out.push(field.invalid(`${at}.defaultRequest[${k}]`, s(req), `default request value ${s(req)} is greater than default limit value ${s(def)}`));
      if (def && min && gt(min, def)) out.push(field.invalid(`${at}.default[${k}]`, s(min), `min value ${s(min)} is greater than default value ${s(def)}`));
      if (def && max && gt(def, max)) out.push(field.invalid(`${at}.default[${k}]`, s(max), `default value ${s(def)} is greater than max value ${s(max)}`));
      if (ratio && toMilli(ratio) < 1000) out.push(field.invalid(`${at}.maxLimitRequestRatio[${k}]`, s(ratio), `ratio ${s(ratio)} is less than 1`));
      if (ratio && min && max && toMilli(min) > 0) {
        const limit = toMilli(max) / toMilli(min);
        if (toMilli(ratio) / 1000 > limit) out.push(field.invalid(`${at}.maxLimitRequestRatio[${k}]`, s(ratio), `ratio ${s(ratio)} is greater than max/min = ${limit.toFixed(6)}`));
      }
    }
  });
  return out;
}
