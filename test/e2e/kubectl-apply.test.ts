// The real kubectl's apply, diff, patch, label, annotate, set image, scale and
// edit against a Skiff API server on a real etcd: what kubectl computes from
// the last-applied configuration, and server-side apply with field managers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';

const deployment = (o: { sidecar: boolean; envB: boolean; tier: boolean; replicas?: number }) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels:
    app: app
${o.tier ? '    tier: web\n' : ''}spec:
  replicas: ${o.replicas ?? 2}
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: main
        image: busybox:latest
        command: ["sleep", "3600"]
        ports:
        - containerPort: 8080
        env:
        - name: A
          value: "1"
${o.envB ? '        - name: B\n          value: "2"\n' : ''}${o.sidecar ? '      - name: sidecar\n        image: busybox:latest\n        command: ["sleep", "3600"]\n' : ''}`;

describe('kubectl apply, diff and patch against the API server', () => {
  let server: ApiServerProcess;
  let kubectl: Kubectl;
  let dir: string;
  const k = (args: string[], opts?: Parameters<Kubectl['ok']>[1]) => kubectl.ok(args, opts);

  beforeAll(async () => {
    server = await startApiServer();
    kubectl = new Kubectl(server.url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kubectl-apply-'));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (kubectl) fs.rmSync(path.dirname(kubectl.kubeconfig), { recursive: true, force: true });
  });

  it('applies, diffs and removes what the file no longer has', async () => {
    const f = path.join(dir, 'app.yaml');
    fs.writeFileSync(f, deployment({ sidecar: true, envB: true, tier: true }));
    expect(await k(['apply', '-f', f])).toBe('deployment.apps/app created\n');
    expect(await k(['apply', '-f', f])).toBe('deployment.apps/app unchanged\n');
    expect((await kubectl.run(['diff', '-f', f])).code).toBe(0);

    fs.writeFileSync(f, deployment({ sidecar: false, envB: false, tier: false }));
    const diff = await kubectl.run(['diff', '-f', f]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^-\s+name: sidecar$/m);
    expect(diff.stdout).toMatch(/^-\s+tier: web$/m);
    expect(diff.stdout).toMatch(/^-\s+- name: B$/m);

    expect(await k(['apply', '-f', f])).toBe('deployment.apps/app configured\n');
    const got = await kubectl.json(['get', 'deploy', 'app']);
    expect(got.metadata.labels).toEqual({ app: 'app' });
    expect(got.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['main']);
    expect(got.spec.template.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
    expect(got.metadata.generation).toBe(2);
    expect((await kubectl.run(['diff', '-f', f])).code).toBe(0);

    // put a container back: it returns after main, as the file orders it
    fs.writeFileSync(f, deployment({ sidecar: true, envB: false, tier: false }));
    await k(['apply', '-f', f]);
    const back = await kubectl.json(['get', 'deploy', 'app']);
    expect(back.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['main', 'sidecar']);

    const shown = await kubectl.json(['get', 'deploy', 'app', '--show-managed-fields']);
    const csa = shown.metadata.managedFields.find((m: any) => m.manager === 'kubectl-client-side-apply');
    expect(csa).toMatchObject({ operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    expect(csa.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']).toHaveProperty(['k:{"name":"sidecar"}']);
  });

  it('reports a server-side apply conflict with client-side apply as kube does, and --force-conflicts takes the field', async () => {
    const f = path.join(dir, 'app.yaml');
    fs.writeFileSync(f, deployment({ sidecar: true, envB: false, tier: false, replicas: 5 }));
    const r = await kubectl.run(['apply', '--server-side', '--field-manager=ops', '-f', f]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    expect(await k(['apply', '--server-side', '--field-manager=ops', '--force-conflicts', '-f', f])).toBe('deployment.apps/app serverside-applied\n');
    const got = await kubectl.json(['get', 'deploy', 'app', '--show-managed-fields']);
    expect(got.spec.replicas).toBe(5);
    const ops = got.metadata.managedFields.find((m: any) => m.manager === 'ops');
    expect(ops.operation).toBe('Apply');
    expect(ops.fieldsV1['f:spec']).toHaveProperty('f:replicas');
    // nobody else owns it now (kubectl also folds client-side apply's entry into the applier's after a server-side apply)
    const others = got.metadata.managedFields.filter((m: any) => m.manager !== 'ops');
    for (const m of others) expect(m.fieldsV1['f:spec'] ?? {}).not.toHaveProperty('f:replicas');
  });

  it('server-side applies with managers, conflicts and removal of fields no longer applied', async () => {
    const cm = (data: Record<string, string>) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n${Object.entries(data).map(([a, b]) => `  ${a}: "${b}"`).join('\n')}\n`;
    expect(await k(['apply', '--server-side', '-f', '-'], { input: cm({ key: 'a', extra: 'x' }) })).toBe('configmap/ssa serverside-applied\n');
    const got = await kubectl.json(['get', 'cm', 'ssa', '--show-managed-fields']);
    expect(got.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', fieldsV1: { 'f:data': { 'f:extra': {}, 'f:key': {} } } })]);

    const conflict = await kubectl.run(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: cm({ key: 'b' }) });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .data.key');
    expect(await k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], { input: cm({ key: 'b' }) })).toBe('configmap/ssa serverside-applied\n');
    expect((await kubectl.json(['get', 'cm', 'ssa'])).data).toEqual({ key: 'b', extra: 'x' });

    // kubectl stops applying "extra": it goes, since nobody else owns it
    await k(['apply', '--server-side', '-f', '-'], { input: cm({ key: 'b' }) });
    expect((await kubectl.json(['get', 'cm', 'ssa'])).data).toEqual({ key: 'b' });
  });

  it('patches with --type strategic, merge and json, with kube\'s errors', async () => {
    await k(['patch', 'deployment', 'app', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"main","env":[{"name":"P","value":"s"}]}]}}}}']);
    await k(['patch', 'deployment', 'app', '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}']);
    await k(['patch', 'deployment', 'app', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":3}]']);
    const got = await kubectl.json(['get', 'deploy', 'app']);
    expect(got.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['main', 'sidecar']);
    // a new item of a merged list goes before the live ones, as strategicpatch's normalizeElementOrder puts it
    expect(got.spec.template.spec.containers[0].env).toEqual([{ name: 'P', value: 's' }, { name: 'A', value: '1' }]);
    expect(got.metadata.labels).toEqual({ app: 'app', m: '1' });
    expect(got.spec.replicas).toBe(3);

    const failedTest = await kubectl.run(['patch', 'deployment', 'app', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":9}]']);
    expect(failedTest.code).not.toBe(0);
    expect(failedTest.stderr).toContain('the server rejected our request due to an error in our request');
    const missing = await kubectl.run(['patch', 'deployment', 'app', '--type=json', '-p', '[{"op":"remove","path":"/spec/nothing"}]']);
    expect(missing.code).not.toBe(0);
    const noop = await k(['patch', 'deployment', 'app', '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}']);
    expect(noop).toBe('deployment.apps/app patched (no change)\n');
  });

  it('labels, annotates, sets the image, scales and edits', async () => {
    expect(await k(['label', 'deployment', 'app', 'team=a'])).toBe('deployment.apps/app labeled\n');
    expect(await k(['annotate', 'deployment', 'app', 'note=hi'])).toBe('deployment.apps/app annotated\n');
    expect(await k(['set', 'image', 'deployment/app', 'sidecar=busybox:1'])).toBe('deployment.apps/app image updated\n');
    expect(await k(['scale', 'deployment/app', '--replicas=4'])).toBe('deployment.apps/app scaled\n');
    let got = await kubectl.json(['get', 'deploy', 'app', '--show-managed-fields']);
    expect(got.metadata.labels.team).toBe('a');
    expect(got.metadata.annotations.note).toBe('hi');
    expect(got.spec.template.spec.containers.map((c: any) => c.image)).toEqual(['busybox:latest', 'busybox:1']);
    expect(got.spec.replicas).toBe(4);
    const managers = got.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}${m.subresource ? '/' + m.subresource : ''}`);
    expect(managers).toEqual(expect.arrayContaining(['kubectl-label/Update', 'kubectl-annotate/Update', 'kubectl-set/Update']));
    expect(got.metadata.managedFields.find((m: any) => m.subresource === 'scale')?.fieldsV1).toEqual({ 'f:spec': { 'f:replicas': {} } });

    expect(await k(['label', 'deployment', 'app', 'team-'])).toBe('deployment.apps/app unlabeled\n');
    const editor = path.join(dir, 'editor.sh');
    fs.writeFileSync(editor, '#!/bin/sh\nsed -i "/- name: P/,+1d" "$1"\n');
    fs.chmodSync(editor, 0o755);
    expect(await k(['edit', 'deployment', 'app'], { env: { EDITOR: editor, KUBE_EDITOR: editor } })).toBe('deployment.apps/app edited\n');
    got = await kubectl.json(['get', 'deploy', 'app']);
    expect(got.metadata.labels.team).toBeUndefined();
    expect(got.spec.template.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
  });
});
