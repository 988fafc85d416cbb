// The ResourceQuota admission plugin (k8s.io/apiserver/pkg/admission/plugin/
// resourcequota): a write that would take a namespace's usage past a quota's
// hard limit is refused with kube's 403 ("exceeded quota: ..."), and an
// admitted one is charged to the quota's status.used before the object is
// stored. The charge is a compare-and-swap on the quota's resourceVersion
// (retried on conflict, the check made again against the fresh usage), as
// kube's quota evaluator does, so concurrent creates cannot all slip under
// the limit. The resourcequota-controller later recalculates usage from the
// objects themselves (releasing what deletes and failed writes freed).

import { errors, isNotFound } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import { canonicalQuantity, formatQuantity, isBinaryQuantity, podConstraints, quotaMatches, resourceForQuotaName, toMilli, usageOf, validQuantity, type Usage } from '../../api/quota.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../auth/types.js';

export interface ResourceQuotaOptions {
  /** The ResourceQuotas of a namespace, as stored. */
  listQuotas(namespace: string): Promise<KubeObject[]>;
  /** A CAS write of one quota's status: `mutate` sees the stored quota and is called again after a conflict. */
  updateQuotaStatus(namespace: string, name: string, mutate: (current: KubeObject) => KubeObject): Promise<unknown>;
}

type Ref = { plural: string; group: string };

/** Updates that can change usage (a Service's type and ports, a claim's size); for other kinds only creates count. */
const countsUpdates = (r: Ref) => r.group === '' && (r.plural === 'services' || r.plural === 'persistentvolumeclaims');

/** The quota's resource names an evaluator for r answers (MatchingResources). */
export function matchingResources(r: Ref, names: string[]): string[] {
  return names.filter((n) => {
    const on = resourceForQuotaName(n);
    return !!on && on.plural === r.plural && on.group === r.group;
  });
}

const quantitiesOf = (x: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (typeof x === 'object' && x !== null && !Array.isArray(x)) for (const [k, v] of Object.entries(x)) if (validQuantity(v)) out[k] = String(v);
  return out;
};

/** quota.Mask then prettyPrint: the named entries, sorted, as "name=quantity" joined by commas. */
function pretty(list: Record<string, string>, names: string[]): string {
  return [...names].sort().filter((n) => n in list).map((n) => `${n}=${canonicalQuantity(list[n])}`).join(',');
}

/** The refusal for a charge that does not fit the quota's current status, if it does not. */
function exceeded(quota: KubeObject, requested: Usage): string | undefined {
  const hard = quantitiesOf(quota.status?.hard);
  const used = quantitiesOf(quota.status?.used);
  const over = Object.keys(requested).filter((k) => k in hard && toMilli(used[k]) + requested[k] > toMilli(hard[k]));
  if (!over.length) return undefined;
  const req: Record<string, string> = Object.fromEntries(over.map((k) => [k, formatQuantity(requested[k], isBinaryQuantity(hard[k]))]));
  return `exceeded quota: ${quota.metadata.name}, requested: ${pretty(req, over)}, used: ${pretty(used, over)}, limited: ${pretty(hard, over)}`;
}

export class ResourceQuotaAdmission implements AdmissionPlugin {
  readonly name = 'ResourceQuota';

  constructor(private readonly o: ResourceQuotaOptions) {}

  async validate(a: AdmissionAttributes): Promise<void> {
    const r = a.resource;
    if (a.subresource || !a.object || !a.namespace || !r.namespaced) return;
    if (a.operation !== 'CREATE' && !(a.operation === 'UPDATE' && countsUpdates(r))) return;
    const quotas = await this.o.listQuotas(a.namespace);
    if (!quotas.length) return;
    const obj = a.object;
    const delta = usageOf(r, obj);
    if (a.operation === 'UPDATE' && a.oldObject) {
      const before = usageOf(r, a.oldObject);
      // Only growth is charged; what an update frees the controller gives back.
      for (const k of Object.keys(delta)) delta[k] = Math.max(0, delta[k] - (before[k] ?? 0));
    }
    const forbid = (why: string) => errors.forbiddenResource(r.plural, r.group, a.name || obj.metadata?.generateName || '', why);
    const charges: { quota: KubeObject; requested: Usage }[] = [];
    for (const quota of [...quotas].sort((x, y) => (x.metadata.name! < y.metadata.name! ? -1 : 1))) {
      if (!quotaMatches(quota, r, obj)) continue;
      const hard = quantitiesOf(quota.status?.hard);
      const restricted = matchingResources(r, Object.keys(hard));
      if (!restricted.length) continue;
      if (r.group === '' && r.plural === 'pods') {
        const missing = podConstraints(restricted, obj);
        if (missing) throw forbid(`failed quota: ${quota.metadata.name}: ${missing}`);
      }
      const used = quantitiesOf(quota.status?.used);
      if (restricted.some((k) => !(k in used))) throw forbid(`status unknown for quota: ${quota.metadata.name}, resources: ${[...restricted].sort().join(',')}`);
      const requested: Usage = {};
      for (const k of restricted) if (delta[k]) requested[k] = delta[k];
      if (!Object.keys(requested).length) continue;
      charges.push({ quota, requested });
    }
    // Every quota is checked before any is charged, so a refusal by one charges none.
    for (const { quota, requested } of charges) {
      const why = exceeded(quota, requested);
      if (why) throw forbid(why);
    }
    if (a.dryRun) return;
    for (const { quota, requested } of charges) {
      await this.o.updateQuotaStatus(a.namespace, quota.metadata.name!, (current) => {
        const why = exceeded(current, requested);
        if (why) throw forbid(why);
        const hard = quantitiesOf(current.status?.hard);
        const used = quantitiesOf(current.status?.used);
        for (const [k, v] of Object.entries(requested)) {
          used[k] = formatQuantity(toMilli(used[k]) + v, isBinaryQuantity(hard[k]) || isBinaryQuantity(used[k]));
        }
        current.status = { ...(current.status ?? {}), used };
        return current;
      }).catch((e) => {
        // A quota deleted since it was listed limits nothing any more.
        if (!isNotFound(e)) throw e;
      });
    }
  }
}
