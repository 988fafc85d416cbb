// The real kubectl 1.32 against the compiled API server: its typed create
// generators send protobuf bodies, `get` asks for Tables, `-w` watches.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubectl } from '../util/kubectl.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';

let srv: ApiServerProcess;
let kubectl: Kubectl;

beforeAll(async () => {
  srv = await startApiServer();
  kubectl = new Kubectl(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

describe('kubectl', () => {
  it('creates namespaces, configmaps, services and deployments with its protobuf generators', async () => {
    await kubectl.ok(['create', 'namespace', 'team']);
    await kubectl.ok(['-n', 'team', 'create', 'configmap', 'settings', '--from-literal=color=blue']);
    await kubectl.ok(['-n', 'team', 'create', 'service', 'nodeport', 'front', '--tcp=80:8080']);
    await kubectl.ok(['-n', 'team', 'create', 'deployment', 'web', '--image=busybox:latest', '--replicas=2']);
    const cm = await kubectl.json(['-n', 'team', 'get', 'configmap', 'settings', '-o', 'json']);
    expect(cm.data).toEqual({ color: 'blue' });
    const svc = await kubectl.json(['-n', 'team', 'get', 'service', 'front', '-o', 'json']);
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080, protocol: 'TCP' });
    expect(svc.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    const deploy = await kubectl.json(['-n', 'team', 'get', 'deployment', 'web', '-o', 'json']);
    expect(deploy.spec.replicas).toBe(2);
    expect(deploy.spec.template.spec.containers[0]).toMatchObject({ name: 'busybox', image: 'busybox:latest' });
    expect(deploy.spec.selector.matchLabels).toEqual({ app: 'web' });
  });

  it('prints server-side tables and deletes', async () => {
    await kubectl.ok(['run', 'solo', '--image=busybox:latest']);
    const out = await kubectl.ok(['get', 'pods']);
    expect(out).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(out).toMatch(/solo\s+0\/1\s+Pending/);
    await kubectl.ok(['delete', 'pod', 'solo']);
    const gone = await kubectl.run(['get', 'pod', 'solo']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('pods "solo" not found');
  });
});
