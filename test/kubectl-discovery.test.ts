// The real kubectl against the compiled API server (run `npx tsc -p
// tsconfig.json` first): api-resources from aggregated discovery, explain from
// the OpenAPI v3 documents, create with server-side field validation, and
// wide tables, with no warnings about discovery or OpenAPI on stderr.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from './util/apiserver.js';
import { Kubectl } from './util/kubectl.js';

const deployment = (extra = '') => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox:latest${extra}
`;

function expectNoWarnings(stderr: string): void {
  expect(stderr).not.toMatch(/warning|couldn't get|memcache|failed to download openapi|unable to retrieve|error/i);
}

describe('kubectl discovery, explain and validation', () => {
  let server: ApiServerProcess | undefined;
  let kubectl: Kubectl;

  beforeAll(async () => {
    server = await startApiServer();
    kubectl = new Kubectl(server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lists API resources from aggregated discovery', async () => {
    const r = await kubectl.run(['api-resources']);
    expectNoWarnings(r.stderr);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/);
    expect(lines.find((l) => l.startsWith('deployments '))).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/);
    expect(lines.find((l) => l.startsWith('leases '))).toMatch(/^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/);
    expect(lines.find((l) => l.startsWith('nodes ') && l.includes('NodeMetrics'))).toBeDefined();
  });

  it('explains fields from the OpenAPI v3 documents', async () => {
    const r = await kubectl.run(['explain', 'deployment.spec.strategy']);
    expectNoWarnings(r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^GROUP:\s+apps$/m);
    expect(r.stdout).toMatch(/^FIELD: strategy <DeploymentStrategy>$/m);
    expect(r.stdout).toContain('The deployment strategy to use to replace existing pods with new ones.');
    expect(r.stdout).toMatch(/rollingUpdate\s+<RollingUpdateDeployment>/);
    expect(await kubectl.ok(['explain', 'svc.spec.ports.targetPort'])).toMatch(/^FIELD: targetPort <IntOrString>$/m);
    expect(await kubectl.ok(['explain', 'node.status.capacity'])).toMatch(/^FIELD: capacity <map\[string\]Quantity>$/m);
    const pods = await kubectl.ok(['explain', 'pods.spec.containers.ports']);
    expect(pods).toMatch(/containerPort\s+<integer> -required-/);
  });

  it('creates a valid manifest and refuses unknown fields with the strict decoding message', async () => {
    const ok = await kubectl.run(['create', '-f', '-'], { input: deployment() });
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('deployment.apps/web created');
    const bad = await kubectl.run(['create', '-f', '-'], { input: deployment('\n        imagex: nope').replace('name: web\nspec', 'name: web2\nspec') });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('strict decoding error: unknown field "spec.template.spec.containers[0].imagex"');
    const invalid = await kubectl.run(['create', '-f', '-'], { input: deployment().replace('name: web\nspec', 'name: web3\nspec').replace('labels: {app: web}', 'labels: {app: other}') });
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('The Deployment "web3" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`');
  });

  it('applies a manifest without discovery or OpenAPI warnings', async () => {
    const r = await kubectl.run(['apply', '-f', '-'], { input: deployment().replace(/web/g, 'api') });
    expectNoWarnings(r.stderr);
    expect(r.stdout.trim()).toBe('deployment.apps/api created');
  });

  it('prints tables with server-side columns', async () => {
    const out = await kubectl.ok(['get', 'deploy', 'web', '-o', 'wide']);
    expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/);
    expect(out.split('\n')[1]).toMatch(/^web\s+0\/2\s+0\s+0\s+\d+s\s+web\s+busybox:latest\s+app=web$/);
  });
});
