// The NodeRestriction admission plugin (plugin/pkg/admission/noderestriction):
// a kubelet (system:node:<name> in system:nodes) changes only its own Node and
// Lease, the status of pods bound to it, deletes and evicts only those pods,
// creates only mirror pods of itself that reference nothing else, and asks
// for tokens only bound to its own pods. Refusals are kube's 403s word for
// word. Requests from anyone else pass untouched.

import { isDeepStrictEqual } from 'node:util';
import { errors, type StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import { nodeIdentity } from '../auth/node/identity.js';
import { isMirrorPod, podConfigMapNames, podSecretNames } from '../../api/podrefs.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../auth/types.js';

export interface NodeRestrictionOptions {
  /** The stored pod, or undefined when there is none (TokenRequests name their pod in the body). */
  getPod(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** The stored Node, for the uid a mirror pod's owner reference must carry. */
  getNode(name: string): Promise<KubeObject | undefined>;
  /** RecoverVolumeExpansionFailure (beta, on in 1.32): nodes may also write a claim's allocated resources. */
  recoverVolumeExpansionFailure?: boolean;
}

const nodeLeaseNamespace = 'kube-node-lease';
const nodeRestrictionLabelNamespace = 'node-restriction.kubernetes.io';

/** kubeletapis.IsKubeletLabel: the labels a kubelet may set on its own Node. */
const kubeletLabels = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'node.kubernetes.io/windows-build',
]);
const kubeletLabelNamespaces = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

const labelNamespace = (key: string) => (key.includes('/') ? key.slice(0, key.indexOf('/')) : '');
const inNamespace = (ns: string, parent: string) => ns === parent || ns.endsWith(`.${parent}`);

export function isKubeletLabel(key: string): boolean {
  if (kubeletLabels.has(key)) return true;
  const ns = labelNamespace(key);
  return kubeletLabelNamespaces.some((allowed) => inNamespace(ns, allowed));
}

function isKubernetesLabel(key: string): boolean {
  const ns = labelNamespace(key);
  return inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
}

/** Keys added, removed or changed between two label sets. */
function modifiedLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(a ?? {})) if (b?.[k] !== v) out.add(k);
  for (const [k, v] of Object.entries(b ?? {})) if (a?.[k] !== v) out.add(k);
  return [...out];
}

/** Labels a node may neither set nor change: node-restriction.kubernetes.io/*, and kubernetes.io/k8s.io ones that are not kubelet labels. */
export function forbiddenNodeLabels(modified: string[]): string[] {
  return modified.filter((l) => inNamespace(labelNamespace(l), nodeRestrictionLabelNamespace) || (isKubernetesLabel(l) && !isKubeletLabel(l))).sort();
}

/** Semantic.DeepEqual's view of optional lists: absent and empty are the same. */
const orEmpty = <T>(v: T[] | undefined | null): T[] => v ?? [];

export class NodeRestriction implements AdmissionPlugin {
  readonly name = 'NodeRestriction';

  constructor(private readonly o: NodeRestrictionOptions) {
    if (typeof o?.getPod !== 'function' || typeof o.getNode !== 'function') throw new Error('NodeRestriction requires a pod getter and a node getter');
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    // Kube's handler covers CREATE, UPDATE and DELETE; CONNECT (exec, attach, ...) is not a write.
    if (a.operation === 'CONNECT') return;
    const { isNode, nodeName } = nodeIdentity(a.user);
    if (!isNode) return;
    if (!nodeName) throw forbidden(a, `could not determine node from user "${a.user.username}"`);
    switch (`${a.resource.group}/${a.resource.plural}`) {
      case '/pods':
        switch (a.subresource) {
          case '': return this.pod(nodeName, a);
          case 'status': return podStatus(nodeName, a);
          case 'eviction': return this.podEviction(nodeName, a);
          default: throw forbidden(a, `unexpected pod subresource "${a.subresource}", only 'status' and 'eviction' are allowed`);
        }
      case '/nodes': return node(nodeName, a);
      case '/persistentvolumeclaims':
        if (a.subresource === 'status') return this.pvcStatus(nodeName, a);
        throw forbidden(a, 'may only update PVC status');
      case '/serviceaccounts': return this.serviceAccount(nodeName, a);
      case 'coordination.k8s.io/leases': return lease(nodeName, a);
      case 'storage.k8s.io/csinodes': return csiNode(nodeName, a);
    }
  }

  private async pod(nodeName: string, a: AdmissionAttributes): Promise<void> {
    switch (a.operation) {
      case 'CREATE': return this.mirrorPodCreate(nodeName, a);
      case 'DELETE': {
        const existing = a.oldObject ?? await this.existingPod(a.namespace, a.name);
        if (existing.spec?.nodeName !== nodeName) throw forbidden(a, `node "${nodeName}" can only delete pods with spec.nodeName set to itself`);
        return;
      }
      default:
        throw forbidden(a, `unexpected operation "${a.operation}", node "${nodeName}" can only create and delete mirror pods`);
    }
  }

  private async mirrorPodCreate(nodeName: string, a: AdmissionAttributes): Promise<void> {
    const pod = a.object;
    if (!pod) throw forbidden(a, 'unexpected type <nil>');
    if (!isMirrorPod(pod)) throw forbidden(a, `pod does not have "kubernetes.io/config.mirror" annotation, node "${nodeName}" can only create mirror pods`);
    if (pod.spec?.nodeName !== nodeName) throw forbidden(a, `node "${nodeName}" can only create pods with spec.nodeName set to itself`);
    const owners = pod.metadata.ownerReferences ?? [];
    if (owners.length > 1) throw forbidden(a, `node "${nodeName}" can only create pods with a single owner reference set to itself`);
    if (owners.length === 0) throw forbidden(a, `node "${nodeName}" can only create pods with an owner reference set to itself`);
    const owner = owners[0];
    if (owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== nodeName) {
      throw forbidden(a, `node "${nodeName}" can only create pods with an owner reference set to itself`);
    }
    if (!owner.controller) throw forbidden(a, `node "${nodeName}" can only create pods with a controller owner reference set to itself`);
    if (owner.blockOwnerDeletion) throw forbidden(a, `node "${nodeName}" must not set blockOwnerDeletion on an owner reference`);
    const nodeObj = await this.o.getNode(nodeName);
    if (!nodeObj) throw errors.notFound('nodes', nodeName);
    if (owner.uid !== nodeObj.metadata.uid) throw forbidden(a, `node ${nodeName} UID mismatch: expected ${owner.uid} got ${nodeObj.metadata.uid}`);
    // A mirror pod must not give its node a way to read anything else.
    if (pod.spec?.serviceAccountName) throw forbidden(a, `node "${nodeName}" can not create pods that reference a service account`);
    if (podSecretNames(pod).length) throw forbidden(a, `node "${nodeName}" can not create pods that reference secrets`);
    if (podConfigMapNames(pod).length) throw forbidden(a, `node "${nodeName}" can not create pods that reference configmaps`);
    for (const v of pod.spec?.volumes ?? []) {
      if ((v?.projected?.sources ?? []).some((s: { clusterTrustBundle?: unknown }) => s?.clusterTrustBundle)) {
        throw forbidden(a, `node "${nodeName}" can not create pods that reference clustertrustbundles`);
      }
    }
    if ((pod.spec?.volumes ?? []).some((v: { persistentVolumeClaim?: unknown }) => v?.persistentVolumeClaim)) {
      throw forbidden(a, `node "${nodeName}" can not create pods that reference persistentvolumeclaims`);
    }
  }

  private async podEviction(nodeName: string, a: AdmissionAttributes): Promise<void> {
    if (a.operation !== 'CREATE') throw forbidden(a, `unexpected operation ${a.operation}`);
    // The pod named by the request, not by the Eviction body; the store passes it as the old object.
    const podName = a.name || a.object?.metadata?.name;
    if (!podName) throw forbidden(a, 'could not determine pod from request data');
    const existing = a.oldObject ?? await this.existingPod(a.namespace, podName);
    if (existing.spec?.nodeName !== nodeName) throw forbidden(a, `node ${nodeName} can only evict pods with spec.nodeName set to itself`);
  }

  private pvcStatus(nodeName: string, a: AdmissionAttributes): void {
    if (a.operation !== 'UPDATE') throw forbidden(a, `unexpected operation "${a.operation}"`);
    const strip = (o: KubeObject | undefined): KubeObject => {
      const c = structuredClone(o ?? { metadata: {} });
      delete c.metadata.resourceVersion;
      delete c.metadata.managedFields;
      if (c.status) {
        delete c.status.capacity;
        delete c.status.conditions;
        if (this.o.recoverVolumeExpansionFailure ?? true) {
          delete c.status.allocatedResourceStatuses;
          delete c.status.allocatedResources;
        }
      }
      return c;
    };
    const oldPVC = strip(a.oldObject);
    const newPVC = strip(a.object);
    if (!isDeepStrictEqual(oldPVC, newPVC)) {
      throw forbidden(a, `node "${nodeName}" is not allowed to update fields other than status.capacity and status.conditions: ${changedPaths(oldPVC, newPVC).join(', ')}`);
    }
  }

  private async serviceAccount(nodeName: string, a: AdmissionAttributes): Promise<void> {
    if (a.operation !== 'CREATE' || a.subresource !== 'token') return;
    const ref = a.object?.spec?.boundObjectRef;
    if (!ref || ref.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name) throw forbidden(a, 'node requested token not bound to a pod');
    if (!ref.uid) throw forbidden(a, 'node requested token with a pod binding without a uid');
    const pod = await this.existingPod(a.namespace, ref.name);
    if (ref.uid !== pod.metadata.uid) {
      throw forbidden(a, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
    }
    if (pod.spec?.nodeName !== nodeName) throw forbidden(a, 'node requested token bound to a pod scheduled on a different node');
  }

  private async existingPod(namespace: string, name: string): Promise<KubeObject> {
    const pod = await this.o.getPod(namespace, name);
    if (!pod) throw errors.notFound('pods', name);
    return pod;
  }
}

function podStatus(nodeName: string, a: AdmissionAttributes): void {
  if (a.operation !== 'UPDATE') throw forbidden(a, `unexpected operation "${a.operation}"`);
  const oldPod = a.oldObject;
  if (!oldPod) throw forbidden(a, 'unexpected type <nil>');
  if (oldPod.spec?.nodeName !== nodeName) throw forbidden(a, `node "${nodeName}" can only update pod status for pods with spec.nodeName set to itself`);
  const newPod = a.object;
  if (!newPod) throw forbidden(a, 'unexpected type <nil>');
  if (!isDeepStrictEqual(oldPod.metadata.labels ?? {}, newPod.metadata.labels ?? {})) throw forbidden(a, `node "${nodeName}" cannot update labels through pod status`);
  const claims = (p: KubeObject) => orEmpty<{ name?: string; resourceClaimName?: string | null }>(p.status?.resourceClaimStatuses).map((s) => [s.name, s.resourceClaimName ?? null]);
  if (!isDeepStrictEqual(claims(oldPod), claims(newPod))) throw forbidden(a, `node "${nodeName}" cannot update resource claim statues`);
}

function node(nodeName: string, a: AdmissionAttributes): void {
  if (a.name !== nodeName) throw forbidden(a, `node "${nodeName}" is not allowed to modify node "${a.name}"`);
  if (a.operation === 'CREATE') {
    const n = a.object;
    if (!n) throw forbidden(a, 'unexpected type <nil>');
    // Scoping a node to what its Node names would let a configSource widen what it reads.
    if (n.spec?.configSource) throw forbidden(a, `node "${nodeName}" is not allowed to create pods with a non-nil configSource`);
    const bad = forbiddenNodeLabels(modifiedLabels(n.metadata.labels, undefined));
    if (bad.length) throw forbidden(a, `node "${nodeName}" is not allowed to set the following labels: ${bad.join(', ')}`);
  }
  if (a.operation === 'UPDATE') {
    const n = a.object;
    const old = a.oldObject;
    if (!n || !old) throw forbidden(a, 'unexpected type <nil>');
    if (n.spec?.configSource && !isDeepStrictEqual(n.spec.configSource, old.spec?.configSource)) {
      throw forbidden(a, `node "${nodeName}" is not allowed to update configSource to a new non-nil configSource`);
    }
    // Its own taints and labels would let a node steer workloads meant for others onto itself.
    if (!isDeepStrictEqual(orEmpty(n.spec?.taints), orEmpty(old.spec?.taints))) throw forbidden(a, `node "${nodeName}" is not allowed to modify taints`);
    // An owner that goes away would have the garbage collector delete the Node, to be registered again unrestricted (CVE-2025-5187, fixed in 1.32.8).
    if (!isDeepStrictEqual(orEmpty(n.metadata.ownerReferences), orEmpty(old.metadata.ownerReferences))) throw forbidden(a, `node "${nodeName}" is not allowed to modify ownerReferences`);
    const bad = forbiddenNodeLabels(modifiedLabels(n.metadata.labels, old.metadata.labels));
    if (bad.length) throw forbidden(a, `is not allowed to modify labels: ${bad.join(', ')}`);
  }
}

function lease(nodeName: string, a: AdmissionAttributes): void {
  if (a.namespace !== nodeLeaseNamespace) throw forbidden(a, `can only access leases in the "${nodeLeaseNamespace}" system namespace`);
  const name = a.operation === 'CREATE' ? a.object?.metadata?.name : a.name;
  if (name !== nodeName) throw forbidden(a, 'can only access node lease with the same name as the requesting node');
}

function csiNode(nodeName: string, a: AdmissionAttributes): void {
  const name = a.operation === 'CREATE' ? a.object?.metadata?.name : a.name;
  if (name !== nodeName) throw forbidden(a, 'can only access CSINode with the same name as the requesting node');
}

/** admission.NewForbidden: the resource without its subresource, named by the request or else by the object. */
function forbidden(a: AdmissionAttributes, why: string): StatusError {
  const name = a.name || a.object?.metadata?.name || a.object?.metadata?.generateName || 'Unknown';
  return errors.forbiddenResource(a.resource.plural, a.resource.group, name, why);
}

/** The dotted paths where two objects differ, for the PVC status refusal (kube prints a cmp.Diff there). */
function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return [path || '.'];
}
