// The stock kubectl against a Skiff API server where Kubernetes' behaviour is
// easy to get subtly wrong (issue #15): generation after a client-side then a
// server-side apply, manifests kubectl cannot map, the QoS class describe
// shows, health checks itemised.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

const manifests = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'manifests');

/** Older kubectls bundled with the SDK (direct binaries); absent ones are skipped. */
const sdkBin = '/usr/lib/google-cloud-sdk/bin';
const olderKubectls = ['kubectl.1.27', 'kubectl.1.29'].map((b) => path.join(sdkBin, b)).filter((b) => fs.existsSync(b));

const sar = `apiVersion: authorization.k8s.io/v1
kind: SubjectAccessReview
spec:
  user: alice
  resourceAttributes: {verb: get, resource: pods, namespace: default}
`;

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: gen
spec:
  replicas: 1
  selector:
    matchLabels: {app: gen}
  template:
    metadata:
      labels: {app: gen}
    spec:
      containers:
      - name: main
        image: busybox:latest
        command: ["sleep", "3600"]
        ports:
        - containerPort: 8080
        resources:
          limits: {cpu: 100m, memory: 64Mi}
`;

describe('kubectl parity', () => {
  let server: ApiServerProcess;
  let kubectl: Kubectl;
  let dir: string;
  const k = (args: string[], opts?: Parameters<Kubectl['ok']>[1]) => kubectl.ok(args, opts);

  beforeAll(async () => {
    server = await startApiServer();
    kubectl = new Kubectl(server.url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kubectl-parity-'));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (kubectl) fs.rmSync(path.dirname(kubectl.kubeconfig), { recursive: true, force: true });
  });

  it('keeps metadata.generation when a server-side apply follows a client-side apply of the same manifest', async () => {
    const f = path.join(dir, 'gen.yaml');
    fs.writeFileSync(f, deployment);
    await k(['apply', '-f', f]);
    const before = await kubectl.json(['get', 'deployment', 'gen']);
    expect(before.metadata.generation).toBe(1);
    await k(['apply', '--server-side', '-f', f]);
    const after = await kubectl.json(['get', 'deployment', 'gen']);
    expect(after.metadata.generation, JSON.stringify(after.spec)).toBe(1);
    // A real change still moves it.
    fs.writeFileSync(f, deployment.replace('replicas: 1', 'replicas: 2'));
    await k(['apply', '--server-side', '-f', f]);
    expect((await kubectl.json(['get', 'deployment', 'gen'])).metadata.generation).toBe(2);
  });

  it('says no matches for a kind or version the server does not serve, under apply and create', async () => {
    const badKind = path.join(dir, 'bad-kind.yaml');
    fs.writeFileSync(badKind, 'apiVersion: apps/v1\nkind: Deploymentx\nmetadata:\n  name: x\n');
    const badVersion = path.join(dir, 'bad-version.yaml');
    fs.writeFileSync(badVersion, 'apiVersion: apps/v9\nkind: Deployment\nmetadata:\n  name: x\n');
    for (const verb of ['apply', 'create']) {
      const a = await kubectl.run([verb, '-f', badKind]);
      expect(a.code).not.toBe(0);
      expect(a.stderr).toContain('no matches for kind "Deploymentx" in version "apps/v1"');
      const b = await kubectl.run([verb, '-f', badVersion]);
      expect(b.code).not.toBe(0);
      expect(b.stderr).toContain('no matches for kind "Deployment" in version "apps/v9"');
    }
  });

  it('serves /openapi/v2 as JSON and as the protobuf kubectl reads, 406 for anything else', async () => {
    const doc = JSON.parse(await k(['get', '--raw', '/openapi/v2']));
    expect(doc.swagger).toBe('2.0');
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', kind: 'Deployment', version: 'v1' });
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
    expect(doc.definitions['io.k8s.api.apps.v1.DeploymentSpec'].properties.replicas.type).toBe('integer');
    // kubectl's openapi v2 explain reads the protobuf document.
    const explained = await k(['explain', 'deployment.spec.replicas', '--output=plaintext-openapiv2']);
    expect(explained).toContain('FIELD:    replicas <integer>');
    const r = await fetch(`${server.url}/openapi/v2`, { headers: { Accept: 'text/html' } });
    expect(r.status).toBe(406);
  });

  it.each(['kubectl', ...olderKubectls])('%s creates a SubjectAccessReview with validation on and maps unknown kinds as kube', async (bin) => {
    const f = path.join(dir, 'sar.yaml');
    fs.writeFileSync(f, sar);
    const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(bin, args, { env: { ...process.env, KUBECONFIG: kubectl.kubeconfig, KUBECACHEDIR: path.join(dir, `cache-${path.basename(bin)}`) }, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? 1 : 0, stdout: String(stdout), stderr: String(stderr) });
      });
    });
    const created = await run(['create', '-f', f, '-o', 'json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).status.allowed).toBe(false);
    const bad = path.join(dir, 'bad-kind.yaml');
    fs.writeFileSync(bad, 'apiVersion: apps/v1\nkind: Deploymentx\nmetadata:\n  name: x\n');
    const applied = await run(['apply', '-f', bad]);
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toContain('no matches for kind "Deploymentx" in version "apps/v1"');
  });

  it('itemises /livez and /readyz with ?verbose and answers each check alone', async () => {
    for (const p of ['livez', 'readyz']) {
      const out = await k(['get', '--raw', `/${p}?verbose`]);
      expect(out).toContain('[+]ping ok');
      expect(out).toContain(`${p} check passed`);
      expect(await k(['get', '--raw', `/${p}/ping`])).toBe('ok');
    }
    expect(await k(['get', '--raw', '/readyz/etcd'])).toBe('ok');
  });
});

describe('proxy subresources and QoS against real pods (skiff up)', () => {
  let c: TestCluster;
  const podNames = async () => ((await c.kubectl.json(['get', 'pods', '-l', 'app=web'])).items as { metadata: { name: string } }[]).map((p) => p.metadata.name);

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
    await c.kubectl.ok(['apply', '-f', path.join(manifests, 'web.yaml')]);
    await waitFor('3 ready endpoints', async () => {
      const ep = await c.kubectl.json(['get', 'endpoints', 'web']);
      return (ep.subsets ?? []).flatMap((x: { addresses?: unknown[] }) => x.addresses ?? []).length === 3;
    }, 120_000, 250);
  }, 240_000);
  afterAll(async () => {
    await c?.down();
  }, 120_000);

  it('kubectl get --raw reaches a pod through services/proxy and pods/proxy, and the kubelet through nodes/proxy', async () => {
    const names = await podNames();
    const viaService = (await c.kubectl.ok(['get', '--raw', '/api/v1/namespaces/default/services/web:80/proxy/'])).trim();
    expect(names).toContain(viaService);
    expect((await c.kubectl.ok(['get', '--raw', '/api/v1/namespaces/default/services/http:web:http/proxy/index.html'])).trim()).toMatch(/^web-/);
    expect((await c.kubectl.ok(['get', '--raw', `/api/v1/namespaces/default/pods/${names[0]}/proxy/`])).trim()).toBe(names[0]);
    expect((await c.kubectl.ok(['get', '--raw', `/api/v1/namespaces/default/pods/${names[1]}:8080/proxy/`])).trim()).toBe(names[1]);
    expect(await c.kubectl.ok(['get', '--raw', `/api/v1/nodes/${c.nodes[0]}/proxy/healthz`])).toBe('ok');
  });

  it('serves kubectl proxy users', async () => {
    const proxy = c.kubectl.background(['proxy', '--port=0']);
    try {
      await waitFor('kubectl proxy', async () => /Starting to serve on 127\.0\.0\.1:\d+/.test(proxy.output()), 30_000, 100);
      const port = /127\.0\.0\.1:(\d+)/.exec(proxy.output())![1];
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/namespaces/default/services/web:80/proxy/`);
      expect(r.status).toBe(200);
      expect(await podNames()).toContain((await r.text()).trim());
    } finally {
      proxy.stop();
    }
  });

  it('kubectl describe pod shows the QoS class set at creation', async () => {
    const [name] = await podNames();
    expect(await c.kubectl.ok(['describe', 'pod', name])).toMatch(/QoS Class:\s+Burstable/);
  });
});
