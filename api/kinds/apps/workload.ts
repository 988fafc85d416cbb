// Rules shared by the apps kinds with an update strategy (DaemonSet,
// StatefulSet): kube's int-or-percent checks of pkg/apis/apps/validation.
// No default export: a helper beside the kinds, not a kind.

import type { StatusCause } from '../../types.js';
import { field } from '../../schemas/rules.js';

const percent = /^[0-9]+%$/;

/** ValidatePositiveIntOrPercent. */
export function positiveIntOrPercent(v: unknown, path: string): StatusCause[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') {
    return percent.test(v) ? [] : [field.invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  }
  if (typeof v === 'number') return v < 0 ? [field.invalid(path, v, 'must be greater than or equal to 0')] : [];
  return [field.invalid(path, v, "must be an integer or percentage (e.g '5%')")];
}

/** getIntOrPercentValue: the number a value stands for before scaling (a bad string is 0). */
export function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && percent.test(v)) return Number(v.slice(0, -1));
  return 0;
}

/** IsNotMoreThan100Percent. */
export function notMoreThan100Percent(v: unknown, path: string): StatusCause[] {
  if (typeof v !== 'string' || !percent.test(v)) return [];
  return Number(v.slice(0, -1)) > 100 ? [field.invalid(path, v, 'must not be greater than 100%')] : [];
}

/** ValidateNonnegativeField for an optional number. */
export function nonNegative(v: unknown, path: string): StatusCause[] {
  return typeof v === 'number' && v < 0 ? [field.invalid(path, v, 'must be greater than or equal to 0')] : [];
}

export const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function setIfUnset(o: Record<string, any>, k: string, v: unknown): void {
  if (o[k] === undefined || o[k] === null) o[k] = v;
}

/** The object at o[k], made when absent; undefined when something else of the wrong shape is there. */
export function objectAt(o: Record<string, any>, k: string): Record<string, any> | undefined {
  if (o[k] === undefined || o[k] === null) o[k] = {};
  return isObj(o[k]) ? o[k] : undefined;
}
