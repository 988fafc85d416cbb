import { describe, expect, it } from 'vitest';
import { celCauses, celCompileErrors, hasRules } from './cel.js';
import type { Props } from './schema.js';

const schema: Props = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      'x-kubernetes-validations': [
        { rule: 'self.minReplicas <= self.replicas', message: 'replicas must be at least minReplicas' },
        { rule: 'self.replicas < 100', messageExpression: "'too many: ' + string(self.replicas)" },
      ],
      properties: {
        replicas: { type: 'integer' },
        minReplicas: { type: 'integer' },
        name: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'name is immutable' }] },
        ports: {
          type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
          items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, port: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >= oldSelf', message: 'may only grow' }] } } },
        },
      },
    },
  },
};

const messages = (obj: unknown, old?: unknown) => celCauses(obj, old, schema, '').map((c) => `${c.field}: ${c.message}`);

describe('x-kubernetes-validations', () => {
  it('evaluates rules on their node with integers as CEL ints, with message and messageExpression', () => {
    expect(messages({ spec: { replicas: 3, minReplicas: 1 } })).toEqual([]);
    expect(messages({ spec: { replicas: 1, minReplicas: 2 } })).toEqual(['spec: Invalid value: "object": replicas must be at least minReplicas']);
    expect(messages({ spec: { replicas: 150, minReplicas: 1 } })).toEqual(['spec: Invalid value: "object": too many: 150']);
  });

  it('runs transition rules only where the stored object has the node, map-list items matched by key', () => {
    expect(messages({ spec: { replicas: 1, minReplicas: 1, name: 'a' } })).toEqual([]);
    expect(messages({ spec: { replicas: 1, minReplicas: 1, name: 'b' } }, { spec: { name: 'a' } })).toEqual(['spec.name: Invalid value: "string": name is immutable']);
    const ports = (a: number, b: number) => ({ spec: { replicas: 1, minReplicas: 1, ports: [{ name: 'http', port: a }, { name: 'metrics', port: b }] } });
    expect(messages(ports(80, 9000), { spec: { ports: [{ name: 'metrics', port: 9090 }, { name: 'http', port: 80 }] } })).toEqual(['spec.ports[1].port: Invalid value: "integer": may only grow']);
  });

  it('reports a rule that fails to evaluate, and refuses rules that do not compile', () => {
    expect(messages({ spec: { replicas: 1 } })).toEqual([expect.stringMatching(/^spec: Invalid value: "object": rule evaluation error: .*minReplicas/)]);
    const errs = celCompileErrors({ type: 'object', properties: { a: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self ==' }] } } }, 'root');
    expect(errs.map((c) => c.field)).toEqual(['root.properties[a].x-kubernetes-validations[0].rule']);
    expect(errs[0]!.message).toContain('compilation failed');
    expect(hasRules(schema)).toBe(true);
    expect(hasRules({ type: 'object', properties: { a: { type: 'string' } } })).toBe(false);
  });
});
