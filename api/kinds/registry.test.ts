// The design of "one place per kind" (issue #13), checked: every kind the
// table serves comes from a module of api/kinds/<group>/, the generic code
// that used to hold per-kind tables and switches holds none, and no kind
// module imports the table (which would deadlock the registry's top-level
// await through the import cycle).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtinKinds } from './registry.js';
import { R, findByPlural, resources } from '../resources.js';
import { applyDefaults } from '../defaults.js';
import { selectableFields } from '../fields.js';
import { kindOf } from '../kind.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

/** Generic code that reads KindDefinitions and must not name a kind. */
const genericFiles = [
  'apiserver/registry/store.ts', 'apiserver/registry/strategies.ts', 'apiserver/printers.ts', 'apiserver/handlers/resourceproxy.ts', 'apiserver/patch/mergekeys.ts', 'apiserver/patch/index.ts', 'apiserver/discovery.ts', 'apiserver/openapi.ts',
  'api/defaults.ts', 'api/fields.ts', 'api/schemas/rules.ts', 'api/normalize.ts', 'api/resources.ts', 'api/validation.ts',
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where a file branches on one of the table's kinds or plurals: a switch case, a comparison of the object's kind, a table keyed by kind. */
function kindBranches(text: string): string[] {
  const kinds = [...new Set(resources.map((r) => r.kind))].map(escape).join('|');
  const plurals = [...new Set(resources.map((r) => r.plural))].map(escape).join('|');
  const patterns = [
    new RegExp(`case '(${kinds}|${plurals})'`, 'g'),
    // The resource's or a bare variable's kind or plural; a field of another object (an owner reference's kind) is data, not a branch.
    new RegExp(`(?:\\b(?:resource|r)\\.|(?<![.\\w]))(?:kind|plural)\\s*[!=]==?\\s*'(${kinds}|${plurals})'`, 'g'),
    new RegExp(`^\\s*'?(${kinds}|${plurals})'?\\s*:\\s*[({]`, 'gm'),
  ];
  return patterns.flatMap((p) => [...text.matchAll(p)].map((m) => m[0].trim()));
}

function moduleFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return moduleFiles(p);
    return p !== path.join(here, 'registry.ts') && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('one place per kind', () => {
  it('every table entry is a kind module\'s definition', () => {
    const defined = new Set(builtinKinds.map((d) => d.resource));
    expect(resources.length).toBeGreaterThanOrEqual(24);
    expect(resources.filter((r) => !defined.has(r)).map((r) => `${r.group}/${r.plural}`)).toEqual([]);
    for (const r of resources) expect(kindOf(r).resource).toBe(r);
  });

  it('the generic files hold no branch on a kind', () => {
    const found = genericFiles.flatMap((f) => kindBranches(fs.readFileSync(path.join(root, f), 'utf8')).map((b) => `${f}: ${b}`));
    expect(found).toEqual([]);
  });

  it('the branch finder sees the shapes the old tables had (it can fail)', () => {
    expect(kindBranches("switch (r.kind) {\n    case 'Pod':\n")).toEqual(["case 'Pod'"]);
    expect(kindBranches("if (kind === 'Pod') return;")).toEqual(["kind === 'Pod'"]);
    expect(kindBranches("if (plural === 'nodes') x();")).toEqual(["plural === 'nodes'"]);
    expect(kindBranches('const printers = {\n  Pod: {\n')).toEqual(['Pod: {']);
    expect(kindBranches("if (ref.apiVersion === 'v1' && ref.kind === 'Event') no();")).toEqual([]);
  });

  it('no kind module imports the resource table', () => {
    const offenders = moduleFiles(here).filter((f) => /from\s+'[./]*resources\.js'|import\(\s*'[./]*resources\.js'\s*\)/.test(fs.readFileSync(f, 'utf8')));
    expect(offenders.map((f) => path.relative(root, f))).toEqual([]);
  });

  it('generic code finds a moved kind\'s rules through its definition', () => {
    const svc = { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } } as any;
    applyDefaults(R.services, svc);
    expect(svc.spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] });
    expect(selectableFields(R.pods, { metadata: { name: 'p', namespace: 'd' }, spec: { nodeName: 'n1' } } as any)).toMatchObject({ 'spec.nodeName': 'n1', 'metadata.namespace': 'd' });
    expect(kindOf(findByPlural('', 'v1', 'nodes')!).proxyLocation).toBe('node');
  });

  it('discovery order: core first, then the groups in kube\'s aggregator priority, resources by plural within a group version', () => {
    const groups = [...new Set(resources.map((r) => r.group))];
    expect(groups).toEqual(['', ...(['apps', 'events.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'apiextensions.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'metrics.k8s.io']).slice(0, -1)]);
    const core = resources.filter((r) => r.group === '').map((r) => r.plural);
    expect(core).toEqual([...core].sort());
    expect(core).toEqual(expect.arrayContaining(['pods', 'services', 'nodes', 'namespaces']));
  });
});
