// The pods/ephemeralcontainers subresource as kube serves it, and the real
// kubectl debug against the API server: it adds ephemeral containers with a
// strategic merge patch of the subresource, and creates the pods of
// `--copy-to` and `node/<name>` as protobuf.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { Kubectl } from '../util/kubectl.js';
import { tlsDispatcher } from '../util/pki.js';
import { client, pod } from './helpers.js';

let srv: ApiServerProcess;
let api: ReturnType<typeof client>;
let kubectl: Kubectl;

const base = '/api/v1/namespaces/default/pods';
const causes = (r: { body: any }) => (r.body?.details?.causes ?? []).map((c: any) => `${c.field}: ${c.message}`);

beforeAll(async () => {
  srv = await startApiServer();
  api = client(srv.url);
  kubectl = new Kubectl(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

describe('pods/ephemeralcontainers', () => {
  it('is in discovery with get, patch and update', async () => {
    const r = await api.get('/api/v1');
    const sub = r.body.resources.find((x: any) => x.name === 'pods/ephemeralcontainers');
    expect(sub).toMatchObject({ kind: 'Pod', namespaced: true, verbs: ['get', 'patch', 'update'] });
  });

  it('refuses ephemeral containers on create and through an update of the pod itself', async () => {
    const created = await api.post(base, pod('eph-create', { spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] } }));
    expect(created.status).toBe(422);
    expect(causes(created)).toContain('spec.ephemeralContainers: Forbidden: cannot be set on create');

    expect((await api.post(base, pod('eph-main'))).status).toBe(201);
    const patched = await api.patch(`${base}/eph-main`, { spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] } }, 'application/strategic-merge-patch+json');
    expect(patched.status).toBe(422);
    expect(patched.text).toContain('pod updates may not change fields');
  });

  it('adds one with a strategic merge patch, as kubectl debug does, and changes nothing else', async () => {
    expect((await api.post(base, pod('eph-add'))).status).toBe(201);
    const r = await api.patch(`${base}/eph-add/ephemeralcontainers`, {
      metadata: { labels: { sneaky: 'yes' } },
      spec: { containers: [{ name: 'c', image: 'other:1' }], ephemeralContainers: [{ name: 'dbg', image: 'busybox', stdin: true, tty: true, targetContainerName: 'c', resources: {} }] },
    }, 'application/strategic-merge-patch+json');
    expect(r.status, r.text).toBe(200);
    expect(r.body.kind).toBe('Pod');
    expect(r.body.spec.ephemeralContainers).toEqual([expect.objectContaining({ name: 'dbg', image: 'busybox', targetContainerName: 'c', imagePullPolicy: 'Always', terminationMessagePolicy: 'File' })]);
    expect(r.body.spec.containers[0].image).toBe('busybox:latest');
    expect(r.body.metadata.labels?.sneaky).toBeUndefined();
    const got = await api.get(`${base}/eph-add/ephemeralcontainers`);
    expect(got.status).toBe(200);
    expect(got.body.spec.ephemeralContainers.map((c: any) => c.name)).toEqual(['dbg']);
  });

  it('refuses removing or changing an existing one, duplicate names, unknown targets and fields of the workload', async () => {
    expect((await api.post(base, pod('eph-rules'))).status).toBe(201);
    const add = await api.patch(`${base}/eph-rules/ephemeralcontainers`, { spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] } }, 'application/strategic-merge-patch+json');
    expect(add.status, add.text).toBe(200);
    const current = add.body;

    const removed = await api.put(`${base}/eph-rules/ephemeralcontainers`, { ...current, spec: { ...current.spec, ephemeralContainers: [] } });
    expect(removed.status).toBe(422);
    expect(causes(removed)).toContain('spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be removed\n');

    const changed = await api.put(`${base}/eph-rules/ephemeralcontainers`, { ...current, spec: { ...current.spec, ephemeralContainers: [{ ...current.spec.ephemeralContainers[0], image: 'alpine' }] } });
    expect(changed.status).toBe(422);
    expect(causes(changed)[0]).toMatch(/^spec\.ephemeralContainers\[dbg\]: Forbidden: existing ephemeral containers "dbg" may not be changed/);

    // $setElementOrder as kubectl's two-way patch sends it: the existing container first, the new one after it.
    const add2 = (ec: Record<string, unknown>) => api.patch(`${base}/eph-rules/ephemeralcontainers`, {
      spec: { '$setElementOrder/ephemeralContainers': [{ name: 'dbg' }, { name: ec.name }], ephemeralContainers: [ec] },
    }, 'application/strategic-merge-patch+json');
    const dup = await add2({ name: 'c', image: 'busybox' });
    expect(dup.status).toBe(422);
    expect(causes(dup), dup.text).toContain('spec.ephemeralContainers[1].name: Duplicate value: "c"');
    const target = await add2({ name: 'dbg2', image: 'busybox', targetContainerName: 'nope' });
    expect(target.status).toBe(422);
    expect(causes(target)).toContain('spec.ephemeralContainers[1].targetContainerName: Not found: "nope"');
    const ports = await add2({ name: 'dbg3', image: 'busybox', ports: [{ containerPort: 80 }], readinessProbe: { exec: { command: ['true'] } } });
    expect(ports.status).toBe(422);
    expect(causes(ports)).toEqual(expect.arrayContaining([
      'spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[1].readinessProbe: Forbidden: cannot be set for an Ephemeral Container',
    ]));
  });

  it('is not for nodes: a kubelet may not add ephemeral containers, even to its own pods', async () => {
    expect((await api.post(base, pod('eph-node', { spec: { nodeName: 'n1' } }))).status).toBe(201);
    const conn = await srv.connectionFor('system:node:n1', ['system:nodes']);
    const r = await fetch(`${srv.url}${base}/eph-node/ephemeralcontainers`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({ spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] } }),
      dispatcher: tlsDispatcher(conn),
    } as RequestInit);
    expect(r.status).toBe(403);
    expect((await r.json()).message).toContain('cannot patch resource "pods/ephemeralcontainers"');
  });
});

describe('kubectl debug against the API server', () => {
  it('adds an ephemeral container to a running pod', async () => {
    expect((await api.post(base, pod('kd-target'))).status).toBe(201);
    const out = await kubectl.ok(['debug', 'kd-target', '--image=busybox:latest', '-c', 'debugger', '--target=c', '--', 'sleep', '60']);
    expect(out).toContain('Targeting container "c"');
    const p = await kubectl.json(['get', 'pod', 'kd-target']);
    expect(p.spec.ephemeralContainers).toEqual([expect.objectContaining({ name: 'debugger', image: 'busybox:latest', targetContainerName: 'c', command: ['sleep', '60'] })]);
  });

  it('copies a pod with --copy-to (sent as protobuf): the copy has the whole spec and the debug container', async () => {
    const src = pod('kd-src', {
      metadata: { labels: { app: 'src' } },
      spec: {
        containers: [{
          name: 'c', image: 'busybox:latest', command: ['sleep', '3600'], env: [{ name: 'A', value: '1' }, { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          volumeMounts: [{ name: 'data', mountPath: '/data' }], resources: { limits: { cpu: '100m', memory: '64Mi' } },
          securityContext: { runAsUser: 1000 }, readinessProbe: { exec: { command: ['true'] }, periodSeconds: 5 },
        }],
        volumes: [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }, { name: 'cfg', configMap: { name: 'cm', optional: true } }],
        tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }],
        nodeSelector: { disk: 'ssd' },
        terminationGracePeriodSeconds: 5,
      },
    });
    expect((await api.post(base, src)).status).toBe(201);
    const run = await kubectl.run(['debug', 'kd-src', '--image=busybox:latest', '--copy-to=kd-copy', '--share-processes', '-c', 'dbg', '-v=8', '--', 'sleep', '60']);
    expect(run.code, run.stderr).toBe(0);
    // The create went out as protobuf: this is the decoding path, not JSON.
    const sent = run.stderr.split('\n').filter((l) => /POST|Content-Type/.test(l)).join('\n');
    expect(sent).toMatch(/POST[^\n]*\/api\/v1\/namespaces\/default\/pods[^\n]*\n[^\n]*Content-Type: application\/vnd\.kubernetes\.protobuf/);
    const orig = await kubectl.json(['get', 'pod', 'kd-src']);
    const copy = await kubectl.json(['get', 'pod', 'kd-copy']);
    expect(copy.spec.shareProcessNamespace).toBe(true);
    expect(copy.spec.containers.map((c: any) => c.name)).toEqual(['c', 'dbg']);
    expect(copy.spec.containers[0]).toEqual(orig.spec.containers[0]);
    for (const k of ['volumes', 'tolerations', 'nodeSelector', 'terminationGracePeriodSeconds', 'restartPolicy', 'dnsPolicy', 'enableServiceLinks']) expect(copy.spec[k], k).toEqual(orig.spec[k]);
  });

  it('debugs a node with a host-namespace pod: refused where PodSecurity enforces baseline, created where privileged', async () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'kd-node', labels: { 'kubernetes.io/hostname': 'kd-node' } } };
    expect((await api.post('/api/v1/nodes', node)).status).toBe(201);
    for (const [ns, level] of [['kd-baseline', 'baseline'], ['kd-privileged', 'privileged']]) {
      const r = await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': level } } });
      expect(r.status).toBe(201);
    }
    const refused = await kubectl.run(['debug', 'node/kd-node', '-n', 'kd-baseline', '--image=busybox:latest']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true, hostPID=true, hostIPC=true\), hostPath volumes \(volume "host-root"\)/);

    const ok = await kubectl.ok(['debug', 'node/kd-node', '-n', 'kd-privileged', '--image=busybox:latest']);
    const name = /Creating debugging pod (\S+) with container/.exec(ok)?.[1];
    expect(name, ok).toBeDefined();
    const p = await kubectl.json(['get', 'pod', '-n', 'kd-privileged', name!]);
    expect(p.spec).toMatchObject({ nodeName: 'kd-node', hostNetwork: true, hostPID: true, hostIPC: true, restartPolicy: 'Never' });
    expect(p.spec.volumes).toContainEqual({ name: 'host-root', hostPath: { path: '/', type: '' } });
    expect(p.spec.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ name: 'host-root', mountPath: '/host' }));
  });
});
