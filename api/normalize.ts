// What kube-apiserver's typed decoding does to a pod spec before anything
// else sees it. kube decodes every body into Go structs: a JSON null becomes
// the field's zero value, which is omitted again on output, and an empty
// struct such as a container's `resources: {}` is the same value as an absent
// one. Skiff stores the JSON as sent, so without this a client that
// round-trips an object through Go (kubectl rollout undo sends the old
// ReplicaSet's template back with `creationTimestamp: null` and
// `resources: {}`) would store a template that differs from the one it came
// from, and the Deployment controller would roll out a "new" one.

import type { KubeObject } from './types.js';
import { kindOf, type ResourceInfo } from './kind.js';

const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Removes null-valued keys (Go's zero value) everywhere below v, in place. Nulls inside lists stay: they are items, not fields. */
function dropNulls(v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) dropNulls(x);
    return;
  }
  if (!isObject(v)) return;
  for (const k of Object.keys(v)) {
    if (v[k] === null) delete v[k];
    else dropNulls(v[k]);
  }
}

/** ResourceRequirements is a struct, not a pointer: `{}` (or empty limits/requests maps) is its zero value, the same as absent. */
function dropEmptyResources(spec: Record<string, any>): void {
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    if (!Array.isArray(spec[list])) continue;
    for (const c of spec[list]) {
      if (!isObject(c) || !isObject(c.resources)) continue;
      const r = c.resources;
      for (const k of ['limits', 'requests']) if (isObject(r[k]) && !Object.keys(r[k]).length) delete r[k];
      if (Array.isArray(r.claims) && !r.claims.length) delete r.claims;
      if (!Object.keys(r).length) delete c.resources;
    }
  }
}

/** A pod spec as Go's decoding leaves it (a Pod's own spec; a template's through normalizePodTemplate). */
export function normalizePodSpec(spec: unknown): void {
  if (!isObject(spec)) return;
  dropNulls(spec);
  dropEmptyResources(spec);
}

/** A pod template (metadata and spec) as Go's decoding leaves it. */
export function normalizePodTemplate(t: unknown): void {
  if (!isObject(t)) return;
  if (isObject(t.metadata)) dropNulls(t.metadata);
  normalizePodSpec(t.spec);
}

/**
 * The pass for a kind that names none of its own (KindDefinition.normalize):
 * the pod templates wherever kube's kinds keep them (spec.template of the
 * workloads, spec.jobTemplate.spec.template of a CronJob, a PodTemplate's
 * template).
 */
export function normalizePodTemplates(obj: KubeObject): void {
  const o = obj as Record<string, any>;
  if (isObject(o.template)) normalizePodTemplate(o.template);
  if (!isObject(o.spec)) return;
  if (isObject(o.spec.template)) normalizePodTemplate(o.spec.template);
  if (isObject(o.spec.jobTemplate?.spec?.template)) normalizePodTemplate(o.spec.jobTemplate.spec.template);
}

/**
 * An object of any kind normalised as kube's decoding would: the kind's own
 * pass, else normalizePodTemplates (status is left alone: it is written by
 * controllers, and some of its nulls, such as lastProbeTime, are kube's own output).
 */
export function normalizeDecoded(resource: ResourceInfo, obj: KubeObject): void {
  if (!isObject(obj)) return;
  (kindOf(resource).normalize ?? normalizePodTemplates)(obj);
}
