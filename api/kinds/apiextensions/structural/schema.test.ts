import { describe, expect, it } from 'vitest';
import { applyDefaults, compile, findAll, listTypeCauses, parsePath, prune, readPath, schemaCauses, structuralErrors, writePath, type Props } from './schema.js';

const root = 'spec.versions[0].schema.openAPIV3Schema';
const messages = (s: Props) => structuralErrors(s, root).map((c) => `${c.field}: ${c.message}`);

describe('structural schema (ValidateStructural)', () => {
  it('wants a type on every specified field, item and the root, and an object root', () => {
    expect(messages({ properties: { spec: { type: 'object', properties: { size: {} } }, list: { type: 'array', items: {} } } })).toEqual([
      `${root}.properties[spec].properties[size].type: Required value: must not be empty for specified object fields`,
      `${root}.properties[list].items.type: Required value: must not be empty for specified array items`,
      `${root}.type: Required value: must not be empty at the root`,
    ]);
    expect(messages({ type: 'string' })).toEqual([`${root}.type: Invalid value: "string": must be object at the root`]);
    expect(messages({ type: 'object', properties: { l: { type: 'array' } } })).toEqual([`${root}.properties[l].items: Required value: must be specified`]);
  });

  it('takes x-kubernetes-preserve-unknown-fields and x-kubernetes-int-or-string in place of a type, but not both', () => {
    expect(messages({ type: 'object', properties: { any: { 'x-kubernetes-preserve-unknown-fields': true }, port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } } })).toEqual([]);
    expect(messages({ type: 'object', properties: { p: { 'x-kubernetes-int-or-string': true, 'x-kubernetes-preserve-unknown-fields': true } } })).toEqual([
      `${root}.properties[p].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true`,
    ]);
  });

  it('allows only value validations under anyOf, allOf, oneOf and not', () => {
    expect(messages({ type: 'object', properties: { a: { type: 'string', anyOf: [{ type: 'string', description: 'x' }] } } })).toEqual([
      `${root}.properties[a].anyOf[0].type: Forbidden: must be empty to be structural`,
      `${root}.properties[a].anyOf[0].description: Forbidden: must be empty to be structural`,
    ]);
  });

  it('restricts metadata to name and generateName and checks list types', () => {
    expect(messages({ type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } })).toEqual([
      `${root}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
    ]);
    expect(messages({ type: 'object', properties: { m: { type: 'array', 'x-kubernetes-list-type': 'map', items: { type: 'object', properties: { k: { type: 'string' } } } } } })).toEqual([
      `${root}.properties[m].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map`,
    ]);
    expect(messages({ type: 'object', properties: { m: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'], items: { type: 'object', properties: { k: { type: 'string' } } } } } })).toEqual([
      `${root}.properties[m].items.properties[k]: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property`,
    ]);
  });
});

const schema: Props = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        replicas: { type: 'integer', default: 1, minimum: 0 },
        mode: { type: 'string', enum: ['a', 'b'] },
        port: { 'x-kubernetes-int-or-string': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, kind: { type: 'string', default: 'plain' } } } },
      },
    },
  },
};

describe('custom objects', () => {
  it('prunes fields the schema does not specify, keeping apiVersion, kind, metadata and preserved subtrees', () => {
    const obj: any = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'n', whatever: 1 }, spec: { replicas: 2, color: 'red', labels: { a: 'b' }, extra: { deep: { x: 1 } }, items: [{ name: 'a', size: 3 }] }, other: true };
    expect(prune(obj, schema).sort()).toEqual(['.other', '.spec.color', '.spec.items[0].size']);
    expect(obj).toEqual({ apiVersion: 'x/v1', kind: 'X', metadata: { name: 'n', whatever: 1 }, spec: { replicas: 2, labels: { a: 'b' }, extra: { deep: { x: 1 } }, items: [{ name: 'a' }] } });
  });

  it('fills in defaults where a field is absent, in items too, and leaves set values', () => {
    const obj: any = { spec: { items: [{ name: 'a' }, { name: 'b', kind: 'fancy' }] } };
    applyDefaults(obj, schema);
    expect(obj.spec).toEqual({ replicas: 1, items: [{ name: 'a', kind: 'plain' }, { name: 'b', kind: 'fancy' }] });
    const zero: any = { spec: { replicas: 0 } };
    applyDefaults(zero, schema);
    expect(zero.spec.replicas).toBe(0);
  });

  it('words schema errors as kube-openapi does', () => {
    const check = compile(schema);
    const obj = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'n' }, spec: { replicas: 'string', mode: 'c', port: true } };
    expect(check(obj)).toBe(false);
    const got = schemaCauses(obj, check.errors ?? []).map((c) => `${c.field}: ${c.message}`);
    expect(got).toContain('spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"');
    expect(got).toContain('spec.mode: Unsupported value: "c": supported values: "a", "b"');
    expect(got).toContain('spec.port: Invalid value: true: spec.port in body must be of type integer or string: "boolean"');
    const neg = { spec: { replicas: -1, port: 80 } };
    expect(check(neg)).toBe(false);
    expect(schemaCauses(neg, check.errors ?? []).map((c) => c.message)).toEqual(['Invalid value: -1: spec.replicas in body should be greater than or equal to 0']);
    expect(check({ spec: { port: 'http', replicas: 3 } })).toBe(true);
  });

  it('refuses duplicate keys of set and map lists', () => {
    const s: Props = { type: 'object', properties: { tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } }, conds: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } } } } };
    const causes = listTypeCauses({ tags: ['a', 'b', 'a'], conds: [{ type: 'Ready' }, { type: 'Ready' }] }, s, '');
    expect(causes.map((c) => `${c.field}: ${c.message}`)).toEqual(['tags[2]: Duplicate value: "a"', 'conds[1]: Duplicate value: map[string]string{"type":"Ready"}']);
  });
});

describe('JSONPath of printer columns and scale', () => {
  const obj = { spec: { replicas: 3, names: ['a', 'b'] }, status: { conditions: [{ type: 'Issuing', status: 'False' }, { type: 'Ready', status: 'True', message: 'ok' }] } };
  it('reads dotted paths, indexes, wildcards and equality filters', () => {
    expect(readPath(obj, '.spec.replicas')).toBe(3);
    expect(readPath(obj, '.spec.names[1]')).toBe('b');
    expect(readPath(obj, '.status.conditions[?(@.type=="Ready")].status')).toBe('True');
    expect(readPath(obj, ".status.conditions[?(@.type=='Ready')].message")).toBe('ok');
    expect(findAll(obj, '.status.conditions[*].type')).toEqual(['Issuing', 'Ready']);
    expect(readPath(obj, '.status.missing.deep')).toBeUndefined();
  });
  it('writes a simple path, creating what is missing, and refuses what is not one', () => {
    const o: any = {};
    writePath(o, '.spec.scale.replicas', 4);
    expect(o).toEqual({ spec: { scale: { replicas: 4 } } });
    expect(parsePath('.spec.replicas')).toEqual(['spec', 'replicas']);
    expect(parsePath('spec.replicas')).toBeUndefined();
    expect(parsePath('.spec[?(@.a=="b")]')).toBeUndefined();
  });
});
