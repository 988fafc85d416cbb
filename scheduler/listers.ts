// The scheduler's ClusterLister from informers: namespace labels for
// namespaceSelector terms, and kube's helper.DefaultSelector (Services,
// ReplicationControllers, ReplicaSets and StatefulSets selecting a pod) for
// PodTopologySpread's system default constraints. Kinds the API server does
// not serve are skipped, so the scheduler runs against any of them.

import { selectorFromLabelSelector, selectorFromSet, type Requirement, type Selector } from '../api/labels.js';
import { findByPlural, R } from '../api/resources.js';
import { controllerOf, type KubeObject, type LabelSelector, type Namespace, type Pod, type Service } from '../api/types.js';
import type { InformerFactory, Lister } from '../client/interfaces.js';
import type { ClusterLister } from './framework.js';

interface WithSelector extends KubeObject { spec?: { selector?: LabelSelector | Record<string, string> | null } }

export class InformerClusterLister implements ClusterLister {
  private readonly namespaces: Lister<Namespace>;
  private readonly services: Lister<Service>;
  /** Controller kind (apiVersion/kind) -> its lister. */
  private readonly controllers = new Map<string, Lister<WithSelector>>();
  /** VolumeBinding's: claims, volumes and classes (undefined where the API server serves none). */
  private readonly claims?: Lister<KubeObject>;
  private readonly pvs?: Lister<KubeObject>;
  private readonly classes?: Lister<KubeObject>;

  constructor(informers: InformerFactory) {
    this.namespaces = informers.informerFor<Namespace>(R.namespaces).lister;
    this.services = informers.informerFor<Service>(R.services).lister;
    for (const [group, plural, kind] of [['', 'replicationcontrollers', 'v1/ReplicationController'], ['apps', 'replicasets', 'apps/v1/ReplicaSet'], ['apps', 'statefulsets', 'apps/v1/StatefulSet']] as const) {
      const res = findByPlural(group, 'v1', plural);
      if (res) this.controllers.set(kind, informers.informerFor<WithSelector>(res).lister);
    }
    const lister = (group: string, plural: string) => {
      const res = findByPlural(group, 'v1', plural);
      return res ? informers.informerFor(res).lister : undefined;
    };
    this.claims = lister('', 'persistentvolumeclaims');
    this.pvs = lister('', 'persistentvolumes');
    this.classes = lister('storage.k8s.io', 'storageclasses');
  }

  claim(namespace: string, name: string): KubeObject | undefined {
    return this.claims?.get(`${namespace}/${name}`);
  }

  volume(name: string): KubeObject | undefined {
    return this.pvs?.get(name);
  }

  volumes(): readonly KubeObject[] {
    return this.pvs?.list() ?? [];
  }

  storageClass(name: string): KubeObject | undefined {
    return name ? this.classes?.get(name) : undefined;
  }

  namespaceLabels(ns: string): Record<string, string> | undefined {
    const n = this.namespaces.get(ns);
    return n ? n.metadata.labels ?? {} : undefined;
  }

  namespacesMatching(sel: Selector): string[] {
    return this.namespaces.list().filter((n) => sel.matches(n.metadata.labels ?? {})).map((n) => n.metadata.name!);
  }

  defaultSpreadSelector(pod: Pod): Selector {
    const ns = pod.metadata.namespace ?? 'default';
    const labels = pod.metadata.labels ?? {};
    // Services that select the pod: their selectors merged (they all match it, so they cannot conflict).
    const merged: Record<string, string> = {};
    for (const s of this.services.byIndex('namespace', ns)) {
      const sel = s.spec.selector;
      if (sel == null) continue;
      if (selectorFromSet(sel).matches(labels)) Object.assign(merged, sel);
    }
    const reqs: Requirement[] = [...selectorFromSet(merged).requirements];
    const owner = controllerOf(pod);
    const lister = owner && this.controllers.get(`${owner.apiVersion}/${owner.kind}`);
    const ctrl = lister?.get(`${ns}/${owner!.name}`);
    const sel = ctrl?.spec?.selector;
    if (sel) {
      // A ReplicationController's selector is a plain map; the apps kinds' a LabelSelector.
      if (owner!.kind === 'ReplicationController') {
        Object.assign(merged, sel as Record<string, string>);
        return selectorFromSet(merged);
      }
      try {
        reqs.push(...selectorFromLabelSelector(sel as LabelSelector).requirements);
      } catch {
        // An invalid selector adds nothing, as kube's DefaultSelector.
      }
    }
    return selectorFromRequirements(reqs);
  }
}

function selectorFromRequirements(reqs: Requirement[]): Selector {
  // selectorFromLabelSelector builds the same Selector shape from a matchExpressions list.
  const op = { in: 'In', notin: 'NotIn', exists: 'Exists', '!': 'DoesNotExist', '=': 'In', '==': 'In' } as const;
  return selectorFromLabelSelector({
    matchExpressions: reqs.map((r) => ({ key: r.key, operator: op[r.operator as keyof typeof op], values: r.operator === 'exists' || r.operator === '!' ? undefined : r.values })),
  });
}
