// A small vocabulary for writing OpenAPI v3 structural schemas the way
// kube-apiserver publishes them: nested definitions are referenced as
// {allOf: [{$ref}]} so the reference can carry its own description, which is
// what `kubectl explain` prints for a field.

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  allOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-unions'?: unknown[];
}

export const refPrefix = '#/components/schemas/';

export const str = (description: string, extra: Partial<Schema> = {}): Schema => ({ type: 'string', description, ...extra });
export const int32 = (description: string): Schema => ({ type: 'integer', format: 'int32', description });
export const int64 = (description: string): Schema => ({ type: 'integer', format: 'int64', description });
export const bool = (description: string): Schema => ({ type: 'boolean', description });
export const enumStr = (description: string, values: string[]): Schema => ({ type: 'string', description, enum: values });
export const strMap = (description: string): Schema => ({ type: 'object', description, additionalProperties: { type: 'string', default: '' } });
export const strList = (description: string): Schema => ({ type: 'array', description, items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'atomic' });

export function ref(name: string, description?: string): Schema {
  return description ? { description, allOf: [{ $ref: refPrefix + name }] } : { $ref: refPrefix + name };
}

/** A list of objects; with a merge key, strategic merge patch merges items by it. */
export function list(itemRef: string, description: string, mergeKey?: string, strategy = 'merge'): Schema {
  const s: Schema = { type: 'array', description, items: { allOf: [{ $ref: refPrefix + itemRef }], default: {} } as Schema };
  if (mergeKey) {
    s['x-kubernetes-patch-merge-key'] = mergeKey;
    s['x-kubernetes-patch-strategy'] = strategy;
    s['x-kubernetes-list-type'] = 'map';
    s['x-kubernetes-list-map-keys'] = [mergeKey];
  } else {
    s['x-kubernetes-list-type'] = 'atomic';
  }
  return s;
}

export function obj(description: string, properties: Record<string, Schema>, required?: string[]): Schema {
  const s: Schema = { type: 'object', description, properties };
  if (required?.length) s.required = required;
  return s;
}

/** A field Skiff stores but does not interpret: kept whole, never pruned. */
export const opaque = (description: string): Schema => ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });
export const opaqueList = (description: string): Schema => ({ type: 'array', description, items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'x-kubernetes-list-type': 'atomic' });
