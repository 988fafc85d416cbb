// Every stored kind the API server serves, through the real kubectl: apply of
// its sample manifest, `get -o wide` with exactly the kind's columns, describe,
// explain with Kubernetes' own description of the kind, and a refusal with
// kube's message. Generic on purpose: a kind added under api/kinds is checked
// here without editing this file (kind-specific columns and messages are in
// each kind's own tests).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubectl } from '../util/kubectl.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { sample } from '../apiserver/helpers.js';
import { apiVersionOf, resources, type ResourceInfo } from '../../api/resources.js';
import { printerOf } from '../../apiserver/printers.js';

let srv: ApiServerProcess;
let kubectl: Kubectl;

beforeAll(async () => {
  srv = await startApiServer();
  kubectl = new Kubectl(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

const kube = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../../api/openapi/kube-v1.32.json'), 'utf8')) as { definitions: Record<string, { description?: string; 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[] }> };

/** Kube's description of a kind, from its published definition. */
function kubeDescription(r: ResourceInfo): string | undefined {
  return Object.values(kube.definitions).find((d) => d['x-kubernetes-group-version-kind']?.some((g) => g.group === r.group && g.version === r.version && g.kind === r.kind))?.description;
}

// Stored kinds only (the reviews are create-only), and not Namespace: applying one is fine, but the refusal
// below would be about a namespace's own name rule, which the namespace tests cover.
const kinds = resources.filter((r) => !r.ephemeral && r.verbs.includes('get') && r.kind !== 'Namespace');
const ref = (r: ResourceInfo) => (r.group ? `${r.plural}.${r.version}.${r.group}` : r.plural);

describe('every kind with kubectl', () => {
  it.each(kinds.map((r) => [`${r.plural}.${apiVersionOf(r)}`, r] as const))('%s: apply, get -o wide, describe, explain, refusal', async (_, r) => {
    const obj = sample(r, `k-${r.singular.slice(0, 20)}`);
    // A name derived from the object (a CRD's <plural>.<group>) is the sample's own.
    const name: string = obj.metadata.name;
    if (r.namespaced) obj.metadata.namespace = 'default';
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(obj) });

    const table = await kubectl.ok(['get', ref(r), name, '-o', 'wide', ...(r.namespaced ? ['-n', 'default'] : [])]);
    const header = table.split('\n')[0]!.trim().split(/\s{2,}/);
    expect(header).toEqual(printerOf(r).columns.map(([c]) => c.toUpperCase()));
    // Not always the first column (an Event's name is its last).
    expect(table.split('\n')[1]).toMatch(new RegExp(`(^|\\s)${name}(\\s|$)`));

    const described = await kubectl.ok(['describe', ref(r), name, ...(r.namespaced ? ['-n', 'default'] : [])]);
    expect(described).toMatch(new RegExp(`^Name:\\s+${name}$`, 'm'));

    const description = kubeDescription(r);
    const explained = await kubectl.ok(['explain', r.plural, `--api-version=${apiVersionOf(r)}`]);
    if (description) expect(explained.replace(/\s+/g, ' ')).toContain(description.replace(/\s+/g, ' ').slice(0, 80));

    // ValidateObjectMeta's label rule, which every kind shares: kube's message, 422 through kubectl.
    const bad = sample(r, `${name}-bad`, { tier: '-front-' });
    if (r.namespaced) bad.metadata.namespace = 'default';
    const refused = await kubectl.run(['apply', '-f', '-'], { input: JSON.stringify(bad) });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${r.kind} "${bad.metadata.name}" is invalid: metadata.labels: Invalid value: "-front-": a valid label must be an empty string or consist of alphanumeric characters`);
  });
});
