// The Node authorizer's graph (plugin/pkg/auth/authorizer/node/graph.go),
// kept from pods alone: every edge kube draws from a pod leads to the pod's
// node (secret/configmap/pvc/serviceaccount/resourceclaim -> pod -> node), so
// "is there a path from this object to that node" is an index of object ->
// nodes with a count of the pods that make each edge. PersistentVolumes are
// reached through their claims (the authorizer keeps pvc -> pv from a claim
// watch); Skiff serves no VolumeAttachments, kube's other edge source.

import type { KubeObject } from '../../../api/types.js';
import { isMirrorPod, podClaimNames, podConfigMapNames, podSecretNames } from '../../../api/podrefs.js';

export type VertexType = 'pod' | 'secret' | 'configmap' | 'pvc' | 'pv' | 'serviceAccount' | 'resourceclaim' | 'volumeattachment';

/** Kube's names of vertex types, as they appear in its denial reasons. */
export const vertexTypeNames: Record<VertexType, string> = {
  pod: 'pod', secret: 'secret', configmap: 'configmap', pvc: 'pvc', pv: 'pv',
  serviceAccount: 'serviceAccount', resourceclaim: 'resourceclaim', volumeattachment: 'volumeattachment',
};

interface PodEntry { uid: string; node: string; refs: string[]; mutable: string }

const vertexKey = (type: VertexType, namespace: string, name: string) => `${type}\0${namespace}\0${name}`;

export type PathResult = { ok: true } | { ok: false; error: string };

export class NodeGraph {
  private readonly pods = new Map<string, PodEntry>();
  /** vertex -> node -> number of pods on that node making the edge. */
  private readonly edges = new Map<string, Map<string, number>>();
  /** node -> number of pods bound to it: the node vertex exists while this is > 0. */
  private readonly nodes = new Map<string, number>();

  get size(): number {
    return this.pods.size;
  }

  /**
   * graphPopulator.updatePod: pods without a node are skipped; a pod whose
   * node and uid are unchanged keeps its edges (what a bound pod references
   * is immutable), except ephemeral containers and resource claim statuses,
   * which can add references later.
   */
  updatePod(pod: KubeObject): void {
    const node = pod.spec?.nodeName;
    if (!node) return;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const mutable = JSON.stringify([pod.spec?.ephemeralContainers ?? [], pod.status?.resourceClaimStatuses ?? []]);
    const prev = this.pods.get(key);
    if (prev && prev.node === node && prev.uid === (pod.metadata.uid ?? '') && prev.mutable === mutable) return;
    this.deletePod(pod.metadata.namespace ?? '', pod.metadata.name ?? '');
    const ns = pod.metadata.namespace ?? '';
    const refs = [vertexKey('pod', ns, pod.metadata.name ?? '')];
    // A node must never gain access to other objects through a pod it created itself.
    if (!isMirrorPod(pod)) {
      if (pod.spec?.serviceAccountName) refs.push(vertexKey('serviceAccount', ns, pod.spec.serviceAccountName));
      for (const s of podSecretNames(pod)) refs.push(vertexKey('secret', ns, s));
      for (const c of podConfigMapNames(pod)) refs.push(vertexKey('configmap', ns, c));
      for (const c of podClaimNames(pod)) refs.push(vertexKey('pvc', ns, c));
      for (const s of pod.status?.resourceClaimStatuses ?? []) {
        if (s?.resourceClaimName) refs.push(vertexKey('resourceclaim', ns, s.resourceClaimName));
      }
    }
    const unique = [...new Set(refs)];
    for (const r of unique) {
      let byNode = this.edges.get(r);
      if (!byNode) this.edges.set(r, (byNode = new Map()));
      byNode.set(node, (byNode.get(node) ?? 0) + 1);
    }
    this.nodes.set(node, (this.nodes.get(node) ?? 0) + 1);
    this.pods.set(key, { uid: pod.metadata.uid ?? '', node, refs: unique, mutable });
  }

  deletePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const prev = this.pods.get(key);
    if (!prev) return;
    this.pods.delete(key);
    for (const r of prev.refs) {
      const byNode = this.edges.get(r);
      if (!byNode) continue;
      const n = (byNode.get(prev.node) ?? 0) - 1;
      if (n > 0) byNode.set(prev.node, n);
      else byNode.delete(prev.node);
      if (!byNode.size) this.edges.delete(r);
    }
    const n = (this.nodes.get(prev.node) ?? 0) - 1;
    if (n > 0) this.nodes.set(prev.node, n);
    else this.nodes.delete(prev.node);
  }

  /** NodeAuthorizer.hasPathFrom, with kube's error texts for the three ways it fails. */
  hasPathFrom(nodeName: string, type: VertexType, namespace: string, name: string): PathResult {
    const what = `${vertexTypeNames[type]} ${namespace}/${name}`;
    if (!this.nodes.has(nodeName)) return { ok: false, error: `unknown node '${nodeName}' cannot get ${what}` };
    const byNode = this.edges.get(vertexKey(type, namespace, name));
    if (!byNode) return { ok: false, error: `node '${nodeName}' cannot get unknown ${what}` };
    if (!byNode.has(nodeName)) return { ok: false, error: `node '${nodeName}' cannot get ${what}, no relationship to this object was found in the node authorizer graph` };
    return { ok: true };
  }
}
