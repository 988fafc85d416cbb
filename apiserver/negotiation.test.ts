import { describe, expect, it } from 'vitest';
import { isStatusError } from '../api/errors.js';
import { DecodeLimitError, decodeObject, maxNestingDepth, parseJSONBody, parseYAMLBody } from './negotiation.js';

/** The issue's ~450-byte body: nine levels of nine aliases each, ~387 million strings once expanded. */
const billionLaughsYAML = [
  'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: lol', '  annotations:',
  '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((c, i) => `    ${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
  'data: {x: "1"}', '',
].join('\n');

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

function statusOf(f: () => unknown): { code: number; message: string } {
  try {
    f();
  } catch (e) {
    if (isStatusError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a StatusError');
}

describe('bounded body decoding', () => {
  it('refuses a billion-laughs YAML body in well under a second, as excessive aliasing', () => {
    expect(billionLaughsYAML.length).toBeLessThan(600);
    const started = Date.now();
    expect(() => parseYAMLBody(billionLaughsYAML)).toThrow(new DecodeLimitError('yaml: document contains excessive aliasing'));
    const s = statusOf(() => decodeObject('application/yaml', Buffer.from(billionLaughsYAML)));
    expect(s).toEqual({ code: 400, message: 'error converting YAML to JSON: yaml: document contains excessive aliasing' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a large string repeated by aliases, which shares no object to count', () => {
    const big = 'x'.repeat(100_000);
    const body = `a: &a "${big}"\nb: [${Array(200).fill('*a').join(',')}]\n`;
    expect(() => parseYAMLBody(body)).toThrow(DecodeLimitError);
  });

  it('keeps YAML that uses a few aliases the way manifests do', () => {
    const v = parseYAMLBody('x: &labels {app: web}\ny: *labels\nz: [*labels, *labels]\n') as any;
    expect(v).toEqual({ x: { app: 'web' }, y: { app: 'web' }, z: [{ app: 'web' }, { app: 'web' }] });
  });

  it('bounds nesting of JSON and YAML bodies (a 10,000-deep body is a 400, not a stack overflow later)', () => {
    expect(() => parseJSONBody(nested(maxNestingDepth))).not.toThrow();
    expect(() => parseJSONBody(nested(maxNestingDepth + 1))).toThrow(new DecodeLimitError('exceeded max depth'));
    expect(statusOf(() => decodeObject('application/json', Buffer.from(`{"metadata":{"name":"x"},"data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`))))
      .toEqual({ code: 400, message: "couldn't get version/kind; json parse error: exceeded max depth" });
    expect(() => parseYAMLBody(nested(10_000))).toThrow(DecodeLimitError);
  });

  it('bounds the depth aliases build by nesting one deep anchor in another', () => {
    const levels = 60;
    const lines = [`a0: &a0 ${nested(levels)}`];
    for (let i = 1; i < 5; i++) lines.push(`a${i}: &a${i} ${'['.repeat(levels)}*a${i - 1}${']'.repeat(levels)}`);
    expect(() => parseYAMLBody(lines.join('\n'))).toThrow(new DecodeLimitError(`yaml: exceeded max depth of ${maxNestingDepth}`));
  });

  it('decodes "__proto__" as an own key, never as the object\'s prototype', () => {
    for (const obj of [
      decodeObject('application/json', Buffer.from('{"kind":"ConfigMap","__proto__":{"polluted":1},"metadata":{"__proto__":{"uid":"x"}}}')),
      decodeObject('application/yaml', Buffer.from('kind: ConfigMap\n__proto__: {polluted: 1}\nmetadata:\n  __proto__: {uid: x}\n')),
    ]) {
      expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
      expect((obj as any).polluted).toBeUndefined();
      expect(Object.hasOwn(obj, '__proto__')).toBe(true);
      expect(obj.metadata.uid).toBeUndefined();
    }
    expect(({} as any).polluted).toBeUndefined();
  });
});
