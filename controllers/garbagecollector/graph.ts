// The garbage collector's view of ownership (graph_builder.go): every object
// of every watched kind by uid, and for each uid the objects that name it as
// an owner. Built from informer events; the objects are the shared cached
// ones and are never changed.

import type { ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';

export interface GraphNode {
  res: ResourceInfo;
  obj: KubeObject;
}

export class OwnershipGraph {
  private nodes = new Map<string, GraphNode>();
  private dependents = new Map<string, Set<string>>();

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  dependentsOf(uid: string): GraphNode[] {
    return [...(this.dependents.get(uid) ?? [])].flatMap((d) => this.nodes.get(d) ?? []);
  }

  upsert(res: ResourceInfo, obj: KubeObject): void {
    const uid = obj.metadata.uid!;
    const old = this.nodes.get(uid);
    if (old) this.unlinkOwners(old.obj);
    this.nodes.set(uid, { res, obj });
    for (const ref of obj.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(ref.uid);
      if (!set) this.dependents.set(ref.uid, (set = new Set()));
      set.add(uid);
    }
  }

  remove(obj: KubeObject): void {
    const uid = obj.metadata.uid!;
    const node = this.nodes.get(uid);
    if (!node) return;
    this.unlinkOwners(node.obj);
    this.nodes.delete(uid);
  }

  private unlinkOwners(obj: KubeObject): void {
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const set = this.dependents.get(ref.uid);
      set?.delete(obj.metadata.uid!);
      if (set?.size === 0) this.dependents.delete(ref.uid);
    }
  }
}
