import { describe, expect, it } from 'vitest';
import type { PolicyRule } from '../../../api/types.js';
import type { Attributes } from '../types.js';
import { compactRules, compactString, covers, ruleAllows, serviceAccountOf, subjectMatches } from './rules.js';

const alice = { username: 'alice', groups: ['system:authenticated'] };

function res(verb: string, group: string, resource: string, extra: Partial<Attributes> = {}): Attributes {
  return { user: alice, verb, resourceRequest: true, path: '', apiGroup: group, apiVersion: 'v1', resource, subresource: '', namespace: 'ns', name: '', ...extra };
}
function url(verb: string, path: string): Attributes {
  return { user: alice, verb, resourceRequest: false, path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
}
const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule => ({ verbs, apiGroups, resources, ...(resourceNames ? { resourceNames } : {}) });

describe('ruleAllows (kube rbac_test.go TestRuleMatches)', () => {
  const cases: [string, PolicyRule, Attributes, boolean][] = [
    ['star verb, exact resource', rule(['*'], [''], ['pods']), res('get', '', 'pods'), true],
    ['exact verb mismatch', rule(['list'], [''], ['pods']), res('get', '', 'pods'), false],
    ['star group', rule(['get'], ['*'], ['deployments']), res('get', 'apps', 'deployments'), true],
    ['group mismatch', rule(['get'], [''], ['deployments']), res('get', 'apps', 'deployments'), false],
    ['star resource', rule(['get'], ['apps'], ['*']), res('get', 'apps', 'deployments'), true],
    ['star resource covers subresources', rule(['get'], [''], ['*']), res('get', '', 'pods', { subresource: 'log' }), true],
    ['resource does not cover its subresource', rule(['get'], [''], ['pods']), res('get', '', 'pods', { subresource: 'log' }), false],
    ['res/sub matches', rule(['get'], [''], ['pods/log']), res('get', '', 'pods', { subresource: 'log' }), true],
    ['res/sub does not match the resource', rule(['get'], [''], ['pods/log']), res('get', '', 'pods'), false],
    ['*/sub matches any resource\'s sub', rule(['update'], ['*'], ['*/status']), res('update', 'apps', 'deployments', { subresource: 'status' }), true],
    ['*/sub needs the same sub', rule(['update'], ['*'], ['*/status']), res('update', 'apps', 'deployments', { subresource: 'scale' }), false],
    ['*/sub does not match without a sub', rule(['update'], ['*'], ['*/status']), res('update', 'apps', 'deployments'), false],
    ['resourceNames restrict', rule(['get'], [''], ['configmaps'], ['a']), res('get', '', 'configmaps', { name: 'b' }), false],
    ['resourceNames allow the named', rule(['get'], [''], ['configmaps'], ['a']), res('get', '', 'configmaps', { name: 'a' }), true],
    ['resourceNames never allow a list (no name)', rule(['list'], [''], ['configmaps'], ['a']), res('list', '', 'configmaps'), false],
    ['resource rule never matches a URL', rule(['get'], ['*'], ['*']), url('get', '/healthz'), false],
    ['URL exact', { verbs: ['get'], nonResourceURLs: ['/healthz'] }, url('get', '/healthz'), true],
    ['URL exact does not prefix-match', { verbs: ['get'], nonResourceURLs: ['/healthz'] }, url('get', '/healthz/etcd'), false],
    ['URL trailing star', { verbs: ['get'], nonResourceURLs: ['/healthz/*'] }, url('get', '/healthz/etcd'), true],
    ['URL trailing star is a prefix, not a segment', { verbs: ['get'], nonResourceURLs: ['/api*'] }, url('get', '/apis/apps'), true],
    ['URL star', { verbs: ['*'], nonResourceURLs: ['*'] }, url('post', '/anything'), true],
    ['URL rule never matches a resource', { verbs: ['*'], nonResourceURLs: ['*'] }, res('get', '', 'pods'), false],
  ];
  for (const [name, r, a, want] of cases) {
    it(name, () => expect(ruleAllows(a, r)).toBe(want));
  }
});

describe('subjects', () => {
  it('matches users, groups and ServiceAccounts by their derived username', () => {
    const sa = { username: 'system:serviceaccount:ns1:builder', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1'] };
    expect(subjectMatches(alice, { kind: 'User', name: 'alice' }, '')).toBe(true);
    expect(subjectMatches(alice, { kind: 'Group', name: 'system:authenticated' }, '')).toBe(true);
    expect(subjectMatches(alice, { kind: 'Group', name: 'alice' }, '')).toBe(false);
    expect(subjectMatches(sa, { kind: 'ServiceAccount', name: 'builder', namespace: 'ns1' }, '')).toBe(true);
    // A RoleBinding's ServiceAccount subject without a namespace means the binding's namespace.
    expect(subjectMatches(sa, { kind: 'ServiceAccount', name: 'builder' }, 'ns1')).toBe(true);
    expect(subjectMatches(sa, { kind: 'ServiceAccount', name: 'builder' }, 'ns2')).toBe(false);
    // ... and in a ClusterRoleBinding it matches nobody.
    expect(subjectMatches(sa, { kind: 'ServiceAccount', name: 'builder' }, '')).toBe(false);
    expect(subjectMatches(alice, { kind: 'Robot', name: 'alice' }, '')).toBe(false);
    expect(serviceAccountOf('system:serviceaccount:ns1:builder')).toEqual({ namespace: 'ns1', name: 'builder' });
    expect(serviceAccountOf('system:serviceaccount:ns1')).toBeUndefined();
  });
});

describe('covers (kube policy_comparator_test.go)', () => {
  const cases: [string, PolicyRule[], PolicyRule[], boolean, PolicyRule[]][] = [
    ['exact match', [rule(['get'], ['v1'], ['builds'])], [rule(['get'], ['v1'], ['builds'])], true, []],
    ['star verbs', [rule(['*'], ['v1'], ['builds'])], [rule(['get', 'list'], ['v1'], ['builds'])], true, []],
    ['star groups and resources', [rule(['get'], ['*'], ['*'])], [rule(['get'], ['v1', 'apps'], ['builds', 'pods'])], true, []],
    ['*/sub covers any resource\'s sub', [rule(['get'], ['v1'], ['*/status'])], [rule(['get'], ['v1'], ['pods/status', 'deployments/status'])], true, []],
    ['*/sub does not cover the resource', [rule(['get'], ['v1'], ['*/status'])], [rule(['get'], ['v1'], ['pods'])], false, [rule(['get'], ['v1'], ['pods'])]],
    ['a named owner rule does not cover an unnamed one', [rule(['get'], ['v1'], ['builds'], ['foo'])], [rule(['get'], ['v1'], ['builds'])], false, [rule(['get'], ['v1'], ['builds'])]],
    ['an unnamed owner rule covers a named one', [rule(['get'], ['v1'], ['builds'])], [rule(['get'], ['v1'], ['builds'], ['foo', 'bar'])], true, []],
    ['missing verb is reported broken down', [rule(['get'], [''], ['pods'])], [rule(['get', 'delete'], [''], ['pods'])], false, [rule(['delete'], [''], ['pods'])]],
    ['URL prefix covers', [{ verbs: ['get'], nonResourceURLs: ['/api/*'] }], [{ verbs: ['get'], nonResourceURLs: ['/api/v1', '/api/v2'] }], true, []],
    ['URL not covered', [{ verbs: ['get'], nonResourceURLs: ['/api/*'] }], [{ verbs: ['get'], nonResourceURLs: ['/apis'] }], false, [{ verbs: ['get'], nonResourceURLs: ['/apis'] }]],
    ['split across owner rules', [rule(['get'], [''], ['pods']), rule(['list'], [''], ['pods'])], [rule(['get', 'list'], [''], ['pods'])], true, []],
  ];
  for (const [name, owner, servant, want, missing] of cases) {
    it(name, () => expect(covers(owner, servant)).toEqual({ covered: want, missing }));
  }

  it('compacts the missing rules by verb and prints them as kube does', () => {
    const { missing } = covers([], [rule(['create', 'delete'], [''], ['pods']), { verbs: ['get'], nonResourceURLs: ['/x'] }]);
    const compact = compactRules(missing).map(compactString).sort();
    expect(compact).toEqual(['{APIGroups:[""], Resources:["pods"], Verbs:["create" "delete"]}', '{NonResourceURLs:["/x"], Verbs:["get"]}']);
    expect(compactString(rule(['get'], ['apps'], ['deployments'], ['web']))).toBe('{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["web"], Verbs:["get"]}');
  });
});
