// Field selectors (?fieldSelector=spec.nodeName=node-1,status.phase!=Running):
// only "=", "==" and "!=" on the fields each kind supports, as
// kube-apiserver's per-kind GetAttrs do.

import type { KubeObject } from './types.js';
import type { ResourceInfo } from './resources.js';

export interface FieldRequirement { field: string; operator: '=' | '!='; value: string }
export interface FieldSelector {
  requirements: FieldRequirement[];
  matches(fields: Record<string, string>): boolean;
  empty(): boolean;
}

/** Throws Error with upstream's wording on bad syntax. */
export function parseFieldSelector(s: string | undefined): FieldSelector {
  throw new Error('TODO: implemented by the api/ helper');
}

/** The selectable fields of an object of this resource (metadata.name, metadata.namespace, plus per-kind ones). */
export function selectableFields(resource: ResourceInfo, obj: KubeObject): Record<string, string> {
  throw new Error('TODO: implemented by the api/ helper');
}

/** Throws a 400 BadRequest StatusError naming the field when the selector uses a field the kind does not support. */
export function checkSupportedFields(resource: ResourceInfo, sel: FieldSelector): void {
  throw new Error('TODO: implemented by the api/ helper');
}
