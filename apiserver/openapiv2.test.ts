import { describe, expect, it } from 'vitest';
import { negotiateV2, swaggerDocument, toV2Schema } from './openapiv2.js';
import { encodeDocument } from './openapiv2proto.js';

describe('openapi v2', () => {
  it('negotiates as kube-openapi: JSON by default, both protobuf spellings, 406 otherwise', () => {
    expect(negotiateV2(undefined)).toBe('json');
    expect(negotiateV2('application/json, */*')).toBe('json');
    expect(negotiateV2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf')).toBe('protobuf');
    expect(negotiateV2('application/com.github.proto-openapi.spec.v2.v1.0+protobuf;q=0.9')).toBe('protobuf');
    expect(negotiateV2('text/html')).toBeUndefined();
  });

  it('writes references, int-or-string and list items as the v2 builder does', () => {
    expect(toV2Schema({ description: 'd', allOf: [{ $ref: '#/components/schemas/a.B' }] })).toEqual({ description: 'd', $ref: '#/definitions/a.B' });
    expect(toV2Schema({ type: 'array', items: { allOf: [{ $ref: '#/components/schemas/a.B' }], default: {} } })).toEqual({ type: 'array', items: { $ref: '#/definitions/a.B' } });
    expect(toV2Schema({ format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }] })).toEqual({ format: 'int-or-string', type: 'string' });
  });

  it('has every path with body parameters and typed query parameters, and definitions with v2 references only', () => {
    const doc = swaggerDocument();
    const create = doc.paths['/api/v1/namespaces/{namespace}/pods'].post;
    expect(create.parameters.find((p: { in: string }) => p.in === 'body').schema).toEqual({ $ref: '#/definitions/io.k8s.api.core.v1.Pod' });
    expect(create.parameters.find((p: { name: string }) => p.name === 'dryRun')).toMatchObject({ in: 'query', type: 'string' });
    expect(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch.consumes).toContain('application/apply-patch+yaml');
    expect(JSON.stringify(doc)).not.toContain('#/components/');
    // The keyword, not a property of that name (apiextensions' JSONSchemaProps has a field "oneOf").
    const keywords = new Set<string>();
    const walk = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v)) {
        if (k === 'properties') Object.values(x as object).forEach(walk);
        else { keywords.add(k); walk(x); }
      }
    };
    Object.values(doc.definitions).forEach(walk);
    expect(keywords.has('oneOf')).toBe(false);
    expect(keywords.has('anyOf')).toBe(false);
  });

  it('encodes the protobuf Document with swagger first and every path and definition name in it', () => {
    const doc = swaggerDocument();
    const pb = encodeDocument(doc);
    // Field 1 (swagger), wire type 2, length 3, "2.0".
    expect([...pb.subarray(0, 5)]).toEqual([0x0a, 3, 0x32, 0x2e, 0x30]);
    const s = pb.toString('latin1');
    for (const name of [...Object.keys(doc.paths), ...Object.keys(doc.definitions)]) expect(s).toContain(name);
    expect(s).toContain('x-kubernetes-group-version-kind');
  });
});
