import { describe, expect, it } from 'vitest';
import { formatLabelSelector, parseSelector, selectorFromLabelSelector, selectorFromSet } from './labels.js';

describe('parseSelector', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['app=web', { app: 'web' }, true],
    ['app==web', { app: 'web' }, true],
    ['app=web', { app: 'db' }, false],
    ['app!=web', {}, true],
    ['app!=web', { app: 'web' }, false],
    ['env in (a,b)', { env: 'b' }, true],
    ['env in (a,b)', { env: 'c' }, false],
    ['env notin (a,b)', { env: 'c' }, true],
    ['env notin (a,b)', {}, true],
    ['canary', { canary: '' }, true],
    ['canary', {}, false],
    ['!canary', {}, true],
    ['!canary', { canary: 'x' }, false],
    ['n>3', { n: '4' }, true],
    ['n<3', { n: '4' }, false],
    ['a=1, b in (x), !c', { a: '1', b: 'x' }, true],
    ['a=', { a: '' }, true],
    ['a in ()', { a: '' }, true],
    ['a=in,in notin (notin)', { a: 'in', in: 'x' }, true],
    ['a in (x,,y)', { a: '' }, true],
    ['a in (x,,y)', { a: 'z' }, false],
    ['example.com/team=x', { 'example.com/team': 'x' }, true],
  ];
  it.each(cases)('%s matches %j -> %s', (s, labels, want) => {
    expect(parseSelector(s).matches(labels)).toBe(want);
  });

  it('empty matches everything', () => {
    expect(parseSelector('').empty()).toBe(true);
    expect(parseSelector(undefined).matches({ a: 'b' })).toBe(true);
  });

  it('canonical string sorts by key', () => {
    expect(parseSelector('z=1,a in (c,b),!q').toString()).toBe('a in (b,c),!q,z=1');
  });

  it.each([
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['!a b', "found 'b', expected: ',' or 'end of string'"],
    ['a (b)', "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    ['(a)', "found '(', expected: !, identifier, or 'end of string'"],
    ['a=b,', "found '', expected: identifier after ','"],
    ['a in (b c)', "found 'c', expected: ',' or ')'"],
    ['a=b$', 'Invalid value: "b$"'],
    ['-a=b', 'key: Invalid value: "-a"'],
    ['n>x', `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`],
  ])('rejects %s', (s, msg) => {
    expect(() => parseSelector(s)).toThrow(msg);
  });
});

describe('structured selectors', () => {
  it('matchLabels and matchExpressions', () => {
    const sel = selectorFromLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] });
    expect(sel.matches({ app: 'web', tier: 'fe' })).toBe(true);
    expect(sel.matches({ app: 'web', tier: 'db' })).toBe(false);
  });
  it('null matches nothing, empty everything', () => {
    expect(selectorFromLabelSelector(null).matches({})).toBe(false);
    expect(selectorFromLabelSelector({}).matches({ a: 'b' })).toBe(true);
  });
  it('formats like metav1.FormatLabelSelector', () => {
    expect(formatLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['b', 'a'] }] })).toBe('app=web,env in (a,b)');
    expect(formatLabelSelector({})).toBe('<none>');
  });
  it('selectorFromSet', () => {
    expect(selectorFromSet({ a: '1' }).matches({ a: '1', b: '2' })).toBe(true);
    expect(selectorFromSet({ a: '1' }).matches({ a: '2' })).toBe(false);
  });
});
