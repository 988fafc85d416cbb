// VolumeBinding (kube's pkg/scheduler/framework/plugins/volumebinding): a
// pod's bound claims pin it to the nodes their volumes' node affinity admits;
// its unbound claims of a WaitForFirstConsumer class need a node where an
// available volume fits or their class can provision one. In PreBind the
// chosen node is written on those claims (a matching volume is pre-bound to
// the claim, otherwise the claim gets volume.kubernetes.io/selected-node for
// its provisioner) and the pod binds only once every claim is Bound.

import type { KubeObject, Node, Pod } from '../../api/types.js';
import { R } from '../../api/resources.js';
import { storageClassOf } from '../../api/kinds/core/persistentvolumeutil.js';
import { podClaimNames } from '../../api/podrefs.js';
import { boundByControllerAnnotation, findMatchingVolume, noProvisioner, selectedNodeAnnotation, volumeFitsNode } from '../../api/volume.js';
import { unresolvable, unschedulable, type CycleContext, type FilterPlugin, type PreBindPlugin, type Status } from '../framework.js';

export const reasonUnboundImmediate = 'pod has unbound immediate PersistentVolumeClaims';
export const reasonNodeConflict = 'node(s) had volume node affinity conflict';
export const reasonBindConflict = "node(s) didn't find available persistent volumes to bind";
export const reasonPVNotExist = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';

const NAME = 'VolumeBinding';

interface State {
  bound: KubeObject[];
  /** Unbound claims of WaitForFirstConsumer classes, with their class. */
  delayed: { claim: KubeObject; klass: KubeObject }[];
  missingPV: boolean;
}

/** kube's --bind-timeout-seconds default: how long PreBind waits for the claims to be bound. */
export const defaultBindTimeoutMs = 600_000;

function stateOf(ctx: CycleContext): State | undefined {
  return ctx.state.get(NAME) as State | undefined;
}

/** The volume that fits a delayed claim on this node, skipping volumes already chosen for the pod's other claims. */
function matchOnNode(claim: KubeObject, volumes: readonly KubeObject[], node: Node, taken: Set<string>) {
  return findMatchingVolume(claim, volumes.filter((v) => !taken.has(v.metadata.name!)), node);
}

/** The plugin; bindTimeoutMs is kube's --bind-timeout-seconds. */
export function newVolumeBinding(o: { bindTimeoutMs?: number } = {}): FilterPlugin & PreBindPlugin {
  const bindTimeoutMs = o.bindTimeoutMs ?? defaultBindTimeoutMs;
  if (bindTimeoutMs <= 0) throw new Error('the bind timeout must be positive');
  return {
    name: NAME,

    preFilter(ctx) {
      const pod = ctx.pod;
      const names = podClaimNames(pod);
      const cluster = ctx.cluster;
      if (!names.length || !cluster?.claim) return null;
      const state: State = { bound: [], delayed: [], missingPV: false };
      const ns = pod.metadata.namespace ?? 'default';
      for (const name of names) {
        const claim = cluster.claim(ns, name);
        if (!claim) return unresolvable(`persistentvolumeclaim "${name}" not found`);
        if (claim.metadata.deletionTimestamp) return unresolvable(`persistentvolumeclaim "${name}" is being deleted`);
        if (claim.spec?.volumeName) {
          const pv = cluster.volume?.(claim.spec.volumeName);
          if (pv) state.bound.push(pv);
          else state.missingPV = true;
          continue;
        }
        const klass = cluster.storageClass?.(storageClassOf(claim));
        if (klass?.volumeBindingMode !== 'WaitForFirstConsumer') return unresolvable(reasonUnboundImmediate);
        state.delayed.push({ claim, klass });
      }
      ctx.state.set(NAME, state);
      return null;
    },

    filter(ctx, _pod, nodeInfo) {
      const state = stateOf(ctx);
      const node = nodeInfo.node;
      if (!state || !node) return null;
      if (state.missingPV) return unresolvable(reasonPVNotExist);
      if (state.bound.some((pv) => !volumeFitsNode(pv, node))) return unresolvable(reasonNodeConflict);
      const volumes = ctx.cluster?.volumes?.() ?? [];
      const taken = new Set<string>();
      for (const { claim, klass } of state.delayed) {
        // A claim already being provisioned for a node stays with that node.
        const selected = claim.metadata.annotations?.[selectedNodeAnnotation];
        if (selected && selected !== node.metadata.name) return unschedulable(reasonBindConflict);
        const pv = matchOnNode(claim, volumes, node, taken);
        if (pv) {
          taken.add(pv.metadata.name!);
          continue;
        }
        if (!klass.provisioner || klass.provisioner === noProvisioner) return unschedulable(reasonBindConflict);
      }
      return null;
    },

    async preBind(ctx, pod, node, client) {
      const state = stateOf(ctx);
      if (!state?.delayed.length) return null;
      const cluster = ctx.cluster!;
      const ns = pod.metadata.namespace ?? 'default';
      const nodeName = node.metadata.name!;
      const taken = new Set<string>();
      try {
        for (const { claim } of state.delayed) {
          const current = cluster.claim!(ns, claim.metadata.name!) ?? claim;
          if (current.spec?.volumeName) continue;
          const pv = matchOnNode(current, cluster.volumes?.() ?? [], node, taken);
          if (pv) {
            // BindPodVolumes: the volume is promised to the claim; the binder completes the claim's side.
            taken.add(pv.metadata.name!);
            await client.resource(R.persistentvolumes).update({
              ...pv,
              metadata: { ...pv.metadata, annotations: { ...(pv.metadata.annotations ?? {}), [boundByControllerAnnotation]: 'yes' } },
              spec: { ...pv.spec, claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name: current.metadata.name, uid: current.metadata.uid, resourceVersion: current.metadata.resourceVersion } },
            });
          } else if (current.metadata.annotations?.[selectedNodeAnnotation] !== nodeName) {
            await client.resource(R.persistentvolumeclaims, ns).patch(current.metadata.name!, 'merge', { metadata: { annotations: { [selectedNodeAnnotation]: nodeName } } });
          }
        }
      } catch (e) {
        return unschedulable(`running PreBind plugin "${NAME}": ${(e as Error).message}`);
      }
      return waitForBound(ctx, pod, ns, bindTimeoutMs);
    },
  };
}

export const volumeBinding = newVolumeBinding();

/** Polls the claim cache until every claim of the pod is Bound (kube's waitForPodVolumesBound, every second). */
async function waitForBound(ctx: CycleContext, pod: Pod, ns: string, timeoutMs: number): Promise<Status | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const claims = podClaimNames(pod).map((n) => ctx.cluster!.claim!(ns, n));
    if (claims.every((c) => c?.spec?.volumeName && c.status?.phase === 'Bound')) return null;
    const lost = claims.find((c) => !c || c.metadata.deletionTimestamp);
    if (lost !== undefined || Date.now() > deadline) {
      return unschedulable(`running PreBind plugin "${NAME}": binding volumes: ${lost !== undefined ? 'a claim was deleted' : 'timed out waiting for the condition'}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

