// Per-kind rules that the generic store applies, after the strategies in
// k8s.io/kubernetes/pkg/registry/*/strategy.go: a kind's own are in its
// module (KindDefinition.strategy). A kind that says nothing behaves as a
// plain object: no generation, no status subresource semantics.

import { kindOf, type ResourceInfo, type Strategy } from '../../api/kind.js';

export type { Strategy };


const plain: Strategy = { tracksGeneration: false, generationIncludesLabels: false, allowCreateOnUpdate: false, returnDeletedObject: false, prepareForCreate: () => {} };

export function strategyFor(r: ResourceInfo): Strategy {
  return { ...plain, ...kindOf(r).strategy };
}

/** Whether the object has a status subresource whose fields the main resource must not change. */
export function hasStatusSubresource(r: ResourceInfo): boolean {
  return r.subresources.includes('status');
}
