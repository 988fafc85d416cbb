// The Priority admission plugin (plugin/pkg/admission/priority): a new pod's
// spec.priorityClassName resolves to spec.priority and spec.preemptionPolicy
// (the global default class when it names none), an unknown class is
// refused, a pod update keeps what creation resolved; and of PriorityClasses
// only one may be the global default.

import type { KubeObject } from '../../api/types.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../auth/types.js';
import { errors } from '../../api/errors.js';

/** scheduling.DefaultPriorityWhenNoDefaultClassExists. */
const defaultPriorityWhenNoDefaultClass = 0;

export interface PrioritySource {
  getClass(name: string): Promise<KubeObject | undefined>;
  listClasses(): Promise<KubeObject[]>;
  /** For the one-default check on a class's own write, when listClasses is a cache that may lag it: read live. */
  listClassesLive?(): Promise<KubeObject[]>;
}

/** getDefaultPriorityClass: of the global defaults, the one with the lowest value. */
export function defaultPriorityClass(classes: KubeObject[]): KubeObject | undefined {
  let out: KubeObject | undefined;
  for (const c of classes) if (c.globalDefault === true && (!out || (c.value as number) < (out.value as number))) out = c;
  return out;
}

export class Priority implements AdmissionPlugin {
  readonly name = 'Priority';
  constructor(private readonly source: PrioritySource) {}

  async admit(a: AdmissionAttributes): Promise<void> {
    if (a.resource.group !== '' || a.resource.plural !== 'pods' || a.subresource || !a.object) return;
    const spec = a.object.spec;
    if (!spec || typeof spec !== 'object') return;
    const forbid = (why: string) => errors.forbiddenResource(a.resource.plural, a.resource.group, a.name || a.object?.metadata?.generateName || '', why);
    if (a.operation === 'UPDATE') {
      // Set on create; an update that leaves them out keeps them.
      const old = a.oldObject?.spec;
      if ((spec.priority === undefined || spec.priority === null) && old?.priority !== undefined) spec.priority = old.priority;
      if ((spec.preemptionPolicy === undefined || spec.preemptionPolicy === null) && old?.preemptionPolicy !== undefined) spec.preemptionPolicy = old.preemptionPolicy;
      return;
    }
    if (a.operation !== 'CREATE') return;
    let priority = defaultPriorityWhenNoDefaultClass;
    let policy: string | undefined;
    if (!spec.priorityClassName) {
      const def = defaultPriorityClass(await this.source.listClasses());
      if (def) {
        spec.priorityClassName = def.metadata.name;
        priority = def.value as number;
        policy = def.preemptionPolicy as string | undefined;
      }
    } else {
      const pc = await this.source.getClass(String(spec.priorityClassName));
      if (!pc) throw forbid(`no PriorityClass with name ${spec.priorityClassName} was found`);
      priority = pc.value as number;
      policy = pc.preemptionPolicy as string | undefined;
    }
    if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority) {
      throw forbid(`the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
    }
    spec.priority = priority;
    if (policy) {
      if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== null && spec.preemptionPolicy !== policy) {
        throw forbid(`the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
      }
      spec.preemptionPolicy = policy;
    }
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    if (a.resource.group !== 'scheduling.k8s.io' || a.resource.plural !== 'priorityclasses' || a.subresource || !a.object) return;
    if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
    if (a.object.globalDefault !== true) return;
    const def = defaultPriorityClass(await (this.source.listClassesLive?.() ?? this.source.listClasses()));
    if (def && (a.operation === 'CREATE' || def.metadata.name !== a.object.metadata.name)) {
      throw errors.forbiddenResource(a.resource.plural, a.resource.group, a.name || a.object.metadata?.name || '', `PriorityClass ${def.metadata.name} is already marked as default. Only one default can exist`);
    }
  }
}
