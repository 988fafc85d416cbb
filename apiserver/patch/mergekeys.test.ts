// The schema walk of field management: list strategies and atomic maps from
// kube's schema, with what it keeps bounded by the schema rather than by the
// keys of the objects written.

import { describe, expect, it } from 'vitest';
import { isAtomicMap, listStrategy, schemaRoot } from './mergekeys.js';
import { compare } from './managed.js';

describe('SchemaNode', () => {
  it('reads list strategies and atomic maps from the kind\'s schema', () => {
    expect(listStrategy('Pod', 'spec.containers')).toEqual({ mergeKey: 'name' });
    expect(listStrategy('Pod', 'spec.containers.ports')).toEqual({ mergeKey: 'containerPort', applyKeys: ['containerPort', 'protocol'] });
    expect(listStrategy('Pod', 'spec.containers.command')).toBeUndefined();
    expect(isAtomicMap('Pod', 'spec.containers.resources.limits')).toBe(false);
    expect(isAtomicMap('Deployment', 'spec.selector')).toBe(true);
  });

  it('gives every key of a map one node, every unknown field one node, and no prototype member a schema', () => {
    const meta = schemaRoot('ConfigMap').child('metadata');
    expect(meta.child('labels').child('a')).toBe(meta.child('labels').child('b'));
    const root = schemaRoot('ConfigMap');
    expect(root.child('nonsense')).toBe(root.child('constructor'));
    expect(root.child('constructor').child('x').list).toBeUndefined();
  });

  it('compares a field named like an Object.prototype member as a field', () => {
    const c = compare('ConfigMap', { data: { constructor: 'a' } }, { data: { toString: 'b' } });
    expect(c.removed.has(['f:data', 'f:constructor'])).toBe(true);
    expect(c.added.has(['f:data', 'f:toString'])).toBe(true);
    expect(c.modified.empty()).toBe(true);
  });
});
