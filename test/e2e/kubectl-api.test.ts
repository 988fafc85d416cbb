// The real kubectl against a Skiff API server on a real etcd: create from the
// example manifests, tables, YAML, watch, label, delete — with no warnings.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { waitFor } from '../util/ports.js';

const manifests = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'manifests');

/** Anything kubectl prints on stderr when discovery or OpenAPI is not what it expects. */
function expectNoWarnings(stderr: string): void {
  expect(stderr).not.toMatch(/warning|couldn't get|memcache|failed to download openapi|unable to retrieve/i);
}

describe('kubectl against the API server', () => {
  let server: Awaited<ReturnType<typeof startApiServer>>;
  let kubectl: Kubectl;

  beforeAll(async () => {
    server = await startApiServer();
    kubectl = new Kubectl(server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reports server version 1.32', async () => {
    const r = await kubectl.run(['version', '-o', 'json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.serverVersion.major).toBe('1');
    expect(v.serverVersion.minor).toBe('32');
  });

  it('creates a Deployment, a Service and a Pod from manifests', async () => {
    const r = await kubectl.run(['create', '-f', path.join(manifests, 'web.yaml'), '-f', path.join(manifests, 'pod.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['deployment.apps/web created', 'service/web created', 'pod/hello created']);
  });

  it('prints the tables Kubernetes prints', async () => {
    const r = await kubectl.run(['get', 'pods,deploy,svc']);
    expect(r.code).toBe(0);
    expectNoWarnings(r.stderr);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('NAME') && l.includes('STATUS'))).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines.find((l) => l.startsWith('pod/hello'))).toMatch(/^pod\/hello\s+0\/1\s+Pending\s+0\s+\d+s$/);
    expect(lines.find((l) => l.includes('UP-TO-DATE'))).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(lines.find((l) => l.startsWith('deployment.apps/web'))).toMatch(/^deployment\.apps\/web\s+0\/3\s+0\s+0\s+\d+s$/);
    expect(lines.find((l) => l.includes('CLUSTER-IP'))).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    expect(lines.find((l) => l.startsWith('service/web'))).toMatch(/^service\/web\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+80:30080\/TCP\s+\d+s$/);
  });

  it('shows the stored object as YAML with server-set metadata and defaults', async () => {
    const out = await kubectl.ok(['get', 'pod', 'hello', '-o', 'yaml']);
    expect(out).toMatch(/^  name: hello$/m);
    expect(out).toMatch(/^  uid: [0-9a-f-]{36}$/m);
    expect(out).toMatch(/^  resourceVersion: "\d+"$/m);
    expect(out).toMatch(/^  creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$/m);
    expect(out).toMatch(/^  restartPolicy: Always$/m);
    expect(out).toMatch(/^  schedulerName: default-scheduler$/m);
    expect(out).toMatch(/imagePullPolicy: IfNotPresent/);
  });

  it('watches a change made by kubectl label', async () => {
    const watch = kubectl.background(['get', 'pods', '-w']);
    try {
      await waitFor('initial watch line', () => /hello/.test(watch.output()), 20_000);
      const before = watch.output().split('\n').filter((l) => l.startsWith('hello')).length;
      expect(await kubectl.ok(['label', 'pod', 'hello', 'tier=frontend'])).toBe('pod/hello labeled\n');
      await waitFor('watch sees the label change', () => watch.output().split('\n').filter((l) => l.startsWith('hello')).length > before, 20_000);
    } finally {
      watch.stop();
    }
    const byLabel = await kubectl.ok(['get', 'pods', '-l', 'tier=frontend', '-o', 'name']);
    expect(byLabel.trim()).toBe('pod/hello');
    const notMatching = await kubectl.ok(['get', 'pods', '-l', 'tier in (backend)', '-o', 'name']);
    expect(notMatching.trim()).toBe('');
  });

  it('deletes what a manifest created', async () => {
    const r = await kubectl.run(['delete', '-f', path.join(manifests, 'pod.yaml'), '-f', path.join(manifests, 'web.yaml')]);
    expect(r.code).toBe(0);
    expectNoWarnings(r.stderr);
    expect(r.stdout).toContain('pod "hello" deleted');
    expect(r.stdout).toContain('deployment.apps "web" deleted');
    expect(r.stdout).toContain('service "web" deleted');
    const left = await kubectl.run(['get', 'pod', 'hello']);
    expect(left.code).not.toBe(0);
    expect(left.stderr).toContain('Error from server (NotFound): pods "hello" not found');
  });

  it('rejects a field the schema does not know, as kubectl create validates strictly', async () => {
    const bad = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  a: b\nbogus: 1\n';
    const r = await kubectl.run(['create', '-f', '-'], { input: bad });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown field "bogus"/);
    expect((await kubectl.run(['get', 'configmap', 'strict'])).code).not.toBe(0);
  });
});
