// `kubectl apply --prune` with kubectl's default allowlist (no
// --prune-allowlist: it lists every kind of the default set, so each must be
// served) and `kubectl cluster-info dump` (which reads ReplicationControllers
// among others), with the real kubectl against the compiled API server.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubectl } from '../util/kubectl.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';

let srv: ApiServerProcess;
let kubectl: Kubectl;
let dir: string;

beforeAll(async () => {
  srv = await startApiServer();
  kubectl = new Kubectl(srv.url);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-prune-'));
});
afterAll(async () => {
  await srv?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const configMap = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'x' } }, data: { k: name } });

describe('kubectl apply --prune', () => {
  it('deletes a labelled object that left the manifests, with the default allowlist', async () => {
    const manifests = path.join(dir, 'manifests');
    fs.mkdirSync(manifests);
    fs.writeFileSync(path.join(manifests, 'a.json'), configMap('keep'));
    fs.writeFileSync(path.join(manifests, 'b.json'), configMap('drop'));
    // An object without the label is never pruned.
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated' } }) });
    await kubectl.ok(['apply', '--prune', '-l', 'app=x', '-f', manifests]);
    expect((await kubectl.ok(['get', 'configmaps', '-l', 'app=x', '-o', 'name'])).trim().split('\n').sort()).toEqual(['configmap/drop', 'configmap/keep']);

    fs.rmSync(path.join(manifests, 'b.json'));
    const out = await kubectl.ok(['apply', '--prune', '-l', 'app=x', '-f', manifests]);
    expect(out).toContain('configmap/drop pruned');
    expect((await kubectl.ok(['get', 'configmaps', '-l', 'app=x', '-o', 'name'])).trim()).toBe('configmap/keep');
    expect((await kubectl.run(['get', 'configmap', 'unrelated'])).code).toBe(0);
  });
});

describe('kubectl cluster-info dump', () => {
  it('completes and writes the ReplicationControllers', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'legacy' },
      spec: { replicas: 0, selector: { app: 'legacy' }, template: { metadata: { labels: { app: 'legacy' } }, spec: { containers: [{ name: 'c', image: 'busybox:latest' }] } } },
    }) });
    const out = path.join(dir, 'dump');
    await kubectl.ok(['cluster-info', 'dump', '--namespaces=default', `--output-directory=${out}`], { timeoutMs: 120_000 });
    const rcs = JSON.parse(fs.readFileSync(path.join(out, 'default', 'replication-controllers.json'), 'utf8'));
    expect(rcs.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['legacy']);
    expect(fs.existsSync(path.join(out, 'nodes.json'))).toBe(true);
  });
});
