import { describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { applyPatch } from './index.js';
import { applyJSONPatch, applyMergePatch } from './jsonpatch.js';

function codeOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (isStatusError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a StatusError');
}

describe('JSON patch (RFC 6902)', () => {
  const doc = { a: { b: 1 }, list: ['x', 'y'] };
  const run = (ops: unknown[]) => applyJSONPatch(doc, JSON.stringify(ops));

  it('adds, removes, replaces, moves, copies and tests', () => {
    expect(run([{ op: 'add', path: '/a/c', value: 2 }])).toEqual({ a: { b: 1, c: 2 }, list: ['x', 'y'] });
    expect(run([{ op: 'add', path: '/list/1', value: 'z' }, { op: 'add', path: '/list/-', value: 'end' }])).toEqual({ a: { b: 1 }, list: ['x', 'z', 'y', 'end'] });
    expect(run([{ op: 'remove', path: '/list/0' }])).toEqual({ a: { b: 1 }, list: ['y'] });
    expect(run([{ op: 'replace', path: '/a/b', value: { deep: true } }])).toEqual({ a: { b: { deep: true } }, list: ['x', 'y'] });
    expect(run([{ op: 'move', from: '/a/b', path: '/moved' }])).toEqual({ a: {}, list: ['x', 'y'], moved: 1 });
    expect(run([{ op: 'copy', from: '/list', path: '/a/l' }])).toEqual({ a: { b: 1, l: ['x', 'y'] }, list: ['x', 'y'] });
    expect(run([{ op: 'test', path: '/a/b', value: 1 }])).toEqual(doc);
    expect(applyJSONPatch({ 'a/b': 1, 'm~n': 2 }, JSON.stringify([{ op: 'replace', path: '/a~1b', value: 3 }, { op: 'remove', path: '/m~0n' }]))).toEqual({ 'a/b': 3 });
    expect(doc).toEqual({ a: { b: 1 }, list: ['x', 'y'] });
  });

  it('answers 400 for a body that is not a patch and 422 for a patch that does not apply', () => {
    expect(codeOf(() => applyJSONPatch(doc, '{"op":"add"}'))).toBe(400);
    expect(codeOf(() => applyJSONPatch(doc, '[{'))).toBe(400);
    expect(codeOf(() => run([{ op: 'test', path: '/a/b', value: 2 }]))).toBe(422);
    expect(codeOf(() => run([{ op: 'remove', path: '/nope' }]))).toBe(422);
    expect(codeOf(() => run([{ op: 'replace', path: '/a/nope', value: 1 }]))).toBe(422);
    expect(codeOf(() => run([{ op: 'add', path: '/x/y', value: 1 }]))).toBe(422);
    expect(codeOf(() => run([{ op: 'add', path: '/list/5', value: 1 }]))).toBe(422);
    expect(codeOf(() => run([{ op: 'frobnicate', path: '/a' }]))).toBe(422);
  });

  it('rollout undo: replace /spec/template and /metadata/annotations', () => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', annotations: { 'deployment.kubernetes.io/revision': '2' } }, spec: { template: { spec: { containers: [{ name: 'a', image: 'new' }] } } } } as KubeObject;
    const body = JSON.stringify([
      { op: 'replace', path: '/spec/template', value: { spec: { containers: [{ name: 'a', image: 'old' }] } } },
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '2', x: 'y' } },
    ]);
    const out = applyPatch('application/json-patch+json', d, body, { resource: R.deployments });
    expect(out.spec.template.spec.containers[0].image).toBe('old');
    expect(out.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '2', x: 'y' });
  });
});

describe('JSON merge patch (RFC 7386)', () => {
  it('follows the RFC\'s examples', () => {
    expect(applyMergePatch({ a: 'b' }, { a: 'c' })).toEqual({ a: 'c' });
    expect(applyMergePatch({ a: 'b' }, { b: 'c' })).toEqual({ a: 'b', b: 'c' });
    expect(applyMergePatch({ a: 'b' }, { a: null })).toEqual({});
    expect(applyMergePatch({ a: 'b', b: 'c' }, { a: null })).toEqual({ b: 'c' });
    expect(applyMergePatch({ a: ['b'] }, { a: 'c' })).toEqual({ a: 'c' });
    expect(applyMergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } })).toEqual({ a: { b: 'd' } });
    expect(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] })).toEqual({ a: [1] });
    expect(applyMergePatch({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
  });

  it('answers 400 for a body that is not JSON', () => {
    expect(codeOf(() => applyPatch('application/merge-patch+json', { metadata: {} }, '{x', { resource: R.configmaps }))).toBe(400);
  });
});
