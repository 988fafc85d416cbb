import { describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { applyPatch, type PatchContentType } from './index.js';

const cm = (): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default', uid: 'u1', resourceVersion: '5' }, data: { a: '1' } });
const patch = (ct: PatchContentType, body: unknown) => applyPatch(ct, cm(), JSON.stringify(body), { resource: R.configmaps });

function statusOf(f: () => unknown): { code: number; reason: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isStatusError(e)) return { code: e.code, reason: e.reason, message: e.message };
    throw e;
  }
  throw new Error('expected a StatusError');
}

describe('patches keep what an object is', () => {
  it('a json or merge patch that makes apiVersion or kind a non-string is 422 on "patch" with the decoder\'s words, never a 500', () => {
    // fast-check found {"apiVersion":{"toString":[]}}: formatting that value with String() threw a TypeError.
    for (const [body, field, type] of [[{ apiVersion: { toString: [] } }, 'apiVersion', 'object'], [{ kind: ['x'] }, 'kind', 'array'], [{ kind: 7 }, 'kind', 'number']] as const) {
      const s = statusOf(() => patch('application/merge-patch+json', body));
      expect(s).toMatchObject({ code: 422, reason: 'Invalid' });
      expect(s.message).toContain(`json: cannot unmarshal ${type} into Go struct field .${field} of type string`);
    }
    expect(statusOf(() => patch('application/json-patch+json', [{ op: 'replace', path: '/apiVersion', value: true }])).message).toContain('cannot unmarshal bool into Go struct field .apiVersion');
  });

  it('refuses a strategic merge patch that deletes or replaces the root without a name (kube checkName: 400)', () => {
    const msg = 'the name of the object (cm based on URL) was undeterminable: name must be provided';
    expect(statusOf(() => patch('application/strategic-merge-patch+json', { $patch: 'delete' }))).toMatchObject({ code: 400, message: msg });
    expect(statusOf(() => patch('application/strategic-merge-patch+json', { $patch: 'replace', data: { b: '2' } }))).toMatchObject({ code: 400, message: msg });
    expect(statusOf(() => patch('application/json-patch+json', [{ op: 'remove', path: '/metadata/name' }]))).toMatchObject({ code: 400, message: msg });
  });

  it('a root $patch: replace that keeps the name replaces the content but not the type', () => {
    const out = patch('application/strategic-merge-patch+json', { $patch: 'replace', metadata: { name: 'cm' }, data: { b: '2' } });
    expect(out).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { b: '2' } });
  });

  it('a strategic merge patch cannot change apiVersion or kind: the type supplies them', () => {
    const out = patch('application/strategic-merge-patch+json', { kind: 'Pod', apiVersion: 'apps/v1', data: { b: '2' } });
    expect(out).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: '1', b: '2' } });
  });

  it('a json or merge patch naming another kind or apiVersion is 422 Invalid on "patch"; removing them is harmless', () => {
    for (const [ct, body] of [
      ['application/json-patch+json', [{ op: 'replace', path: '/kind', value: 'Pod' }]],
      ['application/json-patch+json', [{ op: 'replace', path: '/apiVersion', value: 'apps/v1' }]],
      ['application/merge-patch+json', { kind: 'Secret' }],
      ['application/merge-patch+json', { apiVersion: 'v2' }],
    ] as const) {
      const s = statusOf(() => patch(ct, body));
      expect(s.code).toBe(422);
      expect(s.reason).toBe('Invalid');
      expect(s.message).toMatch(/^ "" is invalid: patch: Invalid value: /);
    }
    expect(patch('application/json-patch+json', [{ op: 'remove', path: '/kind' }, { op: 'remove', path: '/apiVersion' }])).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
    expect(patch('application/merge-patch+json', { kind: null, apiVersion: null })).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
  });

  it('"__proto__" and "constructor" in a patch are keys like any other, never a prototype', () => {
    for (const ct of ['application/merge-patch+json', 'application/strategic-merge-patch+json'] as const) {
      const out = applyPatch(ct, cm(), '{"__proto__":{"polluted":1},"metadata":{"constructor":{"x":1}},"data":{"constructor":"c"}}', { resource: R.configmaps }) as any;
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(out.polluted).toBeUndefined();
      expect(Object.hasOwn(out, '__proto__')).toBe(true);
      expect(out.metadata.constructor).toEqual({ x: 1 });
      expect(out.data).toEqual({ a: '1', constructor: 'c' });
    }
    const jp = patch('application/json-patch+json', [{ op: 'add', path: '/__proto__', value: { polluted: 1 } }, { op: 'add', path: '/data/constructor', value: 'c' }]) as any;
    expect(jp.polluted).toBeUndefined();
    expect(jp.data).toEqual({ a: '1', constructor: 'c' });
    expect(statusOf(() => patch('application/json-patch+json', [{ op: 'remove', path: '/data/constructor' }])).code).toBe(422);
    expect(({} as any).polluted).toBeUndefined();
  });

  it('a server-side apply that does not fit the type is 400, never a 500', () => {
    const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', uid: 'u' }, spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } } } as KubeObject;
    for (const containers of ['[{image: y}]', '[1, "x"]']) {
      const s = statusOf(() => applyPatch('application/apply-patch+yaml', structuredClone(deploy), `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: ${containers}}}}`, { resource: R.deployments, fieldManager: 'm' }));
      expect(s.code).toBe(400);
      expect(s.message).toMatch(/^failed to create typed patch object \(apps\/v1, Kind=Deployment\): \.spec\.template\.spec\.containers/);
    }
  });

  it('refuses patches nested deeper than the decoder allows with 400', () => {
    const deep = `{"data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    for (const ct of ['application/merge-patch+json', 'application/strategic-merge-patch+json'] as const) {
      expect(statusOf(() => applyPatch(ct, cm(), deep, { resource: R.configmaps })).code).toBe(400);
    }
    expect(statusOf(() => applyPatch('application/json-patch+json', cm(), `[{"op":"add","path":"/x","value":${'['.repeat(10_000)}${']'.repeat(10_000)}}]`, { resource: R.configmaps })).code).toBe(400);
  });
});
