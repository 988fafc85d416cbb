// The LimitRanger admission plugin (plugin/pkg/admission/limitranger): a new
// pod's containers get the default requests and limits of the namespace's
// Container-type LimitRanges, then pods (per container and as a whole) and
// PersistentVolumeClaims are held to their min, max and
// maxLimitRequestRatio, refused with kube's 403 and words.

import { errors } from '../../api/errors.js';
import type { Container, KubeObject } from '../../api/types.js';
import { canonicalQuantity, formatQuantity, podResources, toMilli, validQuantity, type Usage } from '../../api/quota.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../auth/types.js';

export interface LimitRangerOptions {
  /** The LimitRanges of a namespace. */
  listLimitRanges(namespace: string): Promise<KubeObject[]>;
}

export const limitRangerAnnotation = 'kubernetes.io/limit-ranger';

type Quantities = Record<string, string>;
const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
const containersOf = (pod: KubeObject): { c: Container; prefix: string }[] => [
  ...(Array.isArray(pod.spec?.containers) ? pod.spec.containers : []).filter(isObject).map((c: Container) => ({ c, prefix: 'container' })),
  ...(Array.isArray(pod.spec?.initContainers) ? pod.spec.initContainers : []).filter(isObject).map((c: Container) => ({ c, prefix: 'init container' })),
];
const quantities = (x: unknown): Quantities => {
  const out: Quantities = {};
  if (isObject(x)) for (const [k, v] of Object.entries(x)) if (validQuantity(v)) out[k] = String(v);
  return out;
};

export class LimitRanger implements AdmissionPlugin {
  readonly name = 'LimitRanger';

  constructor(private readonly o: LimitRangerOptions) {}

  /** DefaultLimitRangerActions.SupportsAttributes: pods on create, claims on create and update, never a subresource. */
  private handles(a: AdmissionAttributes): 'pod' | 'pvc' | undefined {
    if (a.subresource || !a.object || a.resource.group !== '') return undefined;
    if (a.resource.plural === 'pods' && a.operation === 'CREATE') return 'pod';
    if (a.resource.plural === 'persistentvolumeclaims' && (a.operation === 'CREATE' || a.operation === 'UPDATE')) return 'pvc';
    return undefined;
  }

  private async limits(a: AdmissionAttributes): Promise<{ type: string; min: Quantities; max: Quantities; default: Quantities; defaultRequest: Quantities; maxLimitRequestRatio: Quantities }[]> {
    const ranges = await this.o.listLimitRanges(a.namespace);
    return ranges.flatMap((lr) => (Array.isArray(lr.spec?.limits) ? lr.spec.limits : []).filter(isObject).map((l: any) => ({
      type: l.type, min: quantities(l.min), max: quantities(l.max), default: quantities(l.default), defaultRequest: quantities(l.defaultRequest), maxLimitRequestRatio: quantities(l.maxLimitRequestRatio),
    })));
  }

  async admit(a: AdmissionAttributes): Promise<void> {
    if (this.handles(a) !== 'pod') return;
    const items = (await this.limits(a)).filter((l) => l.type === 'Container');
    if (!items.length) return;
    // defaultContainerResourceRequirements: the Container items' defaultRequest and default, merged.
    const requests: Quantities = {};
    const limits: Quantities = {};
    for (const l of items) {
      Object.assign(requests, l.defaultRequest);
      Object.assign(limits, l.default);
    }
    const pod = a.object!;
    const notes: string[] = [];
    for (const { c, prefix } of containersOf(pod)) {
      if (c.resources !== undefined && c.resources !== null && !isObject(c.resources)) continue;
      const res: Record<string, any> = (c.resources ??= {});
      if (res.limits !== undefined && res.limits !== null && !isObject(res.limits)) continue;
      if (res.requests !== undefined && res.requests !== null && !isObject(res.requests)) continue;
      const lim: Quantities = (res.limits ??= {});
      const req: Quantities = (res.requests ??= {});
      // kube defaults a request from its limit while decoding, before any admission: a limit the user
      // set is the request, not the range's defaultRequest (Skiff's defaults run after admission).
      for (const [k, v] of Object.entries(lim)) if (!(k in req)) req[k] = v;
      const setLimits = Object.keys(limits).filter((k) => !(k in lim)).sort();
      const setRequests = Object.keys(requests).filter((k) => !(k in req)).sort();
      for (const k of setLimits) lim[k] = limits[k];
      for (const k of setRequests) req[k] = requests[k];
      if (!Object.keys(lim).length) delete res.limits;
      if (!Object.keys(req).length) delete res.requests;
      if (setRequests.length) notes.push(`${setRequests.join(', ')} request for ${prefix} ${c.name}`);
      if (setLimits.length) notes.push(`${setLimits.join(', ')} limit for ${prefix} ${c.name}`);
    }
    if (notes.length) {
      pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [limitRangerAnnotation]: `LimitRanger plugin set: ${notes.join('; ')}` };
    }
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    const kind = this.handles(a);
    if (!kind) return;
    const items = await this.limits(a);
    const errs: string[] = [];
    const obj = a.object!;
    if (kind === 'pvc') {
      const requests = quantities(obj.spec?.resources?.requests);
      for (const l of items.filter((i) => i.type === 'PersistentVolumeClaim')) {
        for (const k of Object.keys(l.min).sort()) push(errs, minConstraint(l.type, k, l.min[k], requests, {}));
        for (const k of Object.keys(l.max).sort()) push(errs, maxRequestConstraint(l.type, k, l.max[k], requests));
      }
    } else {
      for (const l of items) {
        if (l.type === 'Container') {
          for (const { c } of containersOf(obj)) {
            const requests = quantities(c.resources?.requests);
            const limits = quantities(c.resources?.limits);
            checkAll(errs, l, requests, limits);
          }
        } else if (l.type === 'Pod') {
          checkAll(errs, l, formatted(podResources(obj, 'requests')), formatted(podResources(obj, 'limits')));
        }
      }
    }
    if (!errs.length) return;
    // utilerrors.NewAggregate: one error reads as itself, several as a bracketed list.
    const why = errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`;
    throw errors.forbiddenResource(a.resource.plural, a.resource.group, a.name || obj.metadata?.generateName || '', why);
  }
}

function push(errs: string[], e: string | undefined): void {
  if (e) errs.push(e);
}

function checkAll(errs: string[], l: { type: string; min: Quantities; max: Quantities; maxLimitRequestRatio: Quantities }, requests: Quantities, limits: Quantities): void {
  for (const k of Object.keys(l.min).sort()) push(errs, minConstraint(l.type, k, l.min[k], requests, limits));
  for (const k of Object.keys(l.max).sort()) push(errs, maxConstraint(l.type, k, l.max[k], requests, limits));
  for (const k of Object.keys(l.maxLimitRequestRatio).sort()) push(errs, limitRequestRatioConstraint(l.type, k, l.maxLimitRequestRatio[k], requests, limits));
}

/** A pod's summed milli-units as quantities the constraints read. */
function formatted(u: Usage): Quantities {
  return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, formatQuantity(v, /memory|storage|hugepages/.test(k))]));
}

const s = canonicalQuantity;

export function minConstraint(type: string, name: string, enforced: string, requests: Quantities, limits: Quantities): string | undefined {
  const req = requests[name];
  const lim = limits[name];
  if (req === undefined) return `minimum ${name} usage per ${type} is ${s(enforced)}.  No request is specified`;
  if (toMilli(req) < toMilli(enforced)) return `minimum ${name} usage per ${type} is ${s(enforced)}, but request is ${s(req)}`;
  if (lim !== undefined && toMilli(lim) < toMilli(enforced)) return `minimum ${name} usage per ${type} is ${s(enforced)}, but limit is ${s(lim)}`;
  return undefined;
}

export function maxConstraint(type: string, name: string, enforced: string, requests: Quantities, limits: Quantities): string | undefined {
  const req = requests[name];
  const lim = limits[name];
  if (lim === undefined) return `maximum ${name} usage per ${type} is ${s(enforced)}.  No limit is specified`;
  if (toMilli(lim) > toMilli(enforced)) return `maximum ${name} usage per ${type} is ${s(enforced)}, but limit is ${s(lim)}`;
  if (req !== undefined && toMilli(req) > toMilli(enforced)) return `maximum ${name} usage per ${type} is ${s(enforced)}, but request is ${s(req)}`;
  return undefined;
}

/** For claims, whose limits are not the user's to state: the max holds against the request. */
export function maxRequestConstraint(type: string, name: string, enforced: string, requests: Quantities): string | undefined {
  const req = requests[name];
  if (req === undefined) return `maximum ${name} usage per ${type} is ${s(enforced)}.  No request is specified`;
  if (toMilli(req) > toMilli(enforced)) return `maximum ${name} usage per ${type} is ${s(enforced)}, but request is ${s(req)}`;
  return undefined;
}

export function limitRequestRatioConstraint(type: string, name: string, enforced: string, requests: Quantities, limits: Quantities): string | undefined {
  const req = requests[name] === undefined ? 0 : toMilli(requests[name]);
  const lim = limits[name] === undefined ? 0 : toMilli(limits[name]);
  if (!req) return `${name} max limit to request ratio per ${type} is ${s(enforced)}, but no request is specified or request is 0`;
  if (!lim) return `${name} max limit to request ratio per ${type} is ${s(enforced)}, but no limit is specified or limit is 0`;
  const ratio = lim / req;
  if (ratio * 1000 > toMilli(enforced)) return `${name} max limit to request ratio per ${type} is ${s(enforced)}, but provided ratio is ${ratio.toFixed(6)}`;
  return undefined;
}
