// The compiled kubelet against a real API server (and etcd) and the real
// Docker engine: pods are bound to its node directly (no scheduler), and the
// suite checks what runs in Docker and what the API reports. The kubelet runs
// as `skiff up` starts it: its node identity, HTTPS on its port with a
// serving certificate from the cluster CA, client certificates and tokens
// checked, every request authorized by the API server; the API server reaches
// it with its kubelet client certificate. Everything the suite creates
// (containers by node label, processes, temp dirs) is removed in afterAll,
// also on failure.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { Agent } from 'undici';
import { issue, writePair } from '../../lib/pki.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { testPKI, type TestPKI } from '../util/pki.js';
import { freePort, waitFor } from '../util/ports.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const kubeletJs = path.join(repo, 'dist', 'kubelet', 'main.js');

const node = `kt-${crypto.randomBytes(3).toString('hex')}`;

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

/** Containers of a pod on our node: [id, container name, state]. */
function containersOf(pod: string, all = false): { id: string; container: string }[] {
  const out = docker(['ps', ...(all ? ['-a'] : []), '--no-trunc', '--filter', `label=skiff.node=${node}`, '--filter', `label=io.kubernetes.pod.name=${pod}`, '--format', '{{.ID}} {{.Label "io.kubernetes.container.name"}}']);
  return out.split('\n').filter(Boolean).map((l) => {
    const [id, container] = l.split(' ');
    return { id, container };
  });
}

describe('kubelet on Docker', () => {
  let api: ApiServerProcess;
  let dir: string;
  let kubelet: ChildProcess | undefined;
  let kubeletArgs: string[];
  let kubeletLog = '';
  let pki: TestPKI;
  /** The cluster admin's kubeconfig (system:masters), for kubectl. */
  let adminKubeconfig: string;
  let kubeletPort = 0;
  let healthzPort = 0;

  const req = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${api.url}${p}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json: any;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: r.status, body: json };
  };
  const getPod = async (name: string) => (await req('GET', `/api/v1/namespaces/default/pods/${name}`)).body;
  const createPod = async (name: string, spec: any) => {
    const r = await req('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, ...spec } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  };
  const isReady = (p: any) => p?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

  /** TLS identities for talking to the kubelet or the API server directly: none, a user's certificate, the API server's kubelet client. */
  const tlsAs = (pair?: { cert: string | Buffer; key: string | Buffer }) => ({ ca: pki.ca.cert, cert: pair?.cert, key: pair?.key });
  const kubeletClientPair = () => ({ cert: fs.readFileSync(pki.kubeletClient.certFile), key: fs.readFileSync(pki.kubeletClient.keyFile) });
  const asKubeletClient = async () => new Agent({ connect: tlsAs(kubeletClientPair()) });
  /** A WebSocket exec of `id` in web's container: what it printed, or the HTTP answer that refused the upgrade. */
  const wsExec = (url: string, tlsOpts: ReturnType<typeof tlsAs>, origin?: string) => new Promise<{ status: number; body: string; out: string }>((resolve, reject) => {
    const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ...tlsOpts, origin });
    let out = '';
    ws.on('message', (d: Buffer) => { if (d[0] === 1) out += d.subarray(1).toString(); });
    ws.on('close', () => resolve({ status: 101, body: '', out }));
    ws.on('unexpected-response', (_q, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, out }));
    });
    ws.on('error', (e) => { if (!/Unexpected server response/.test(e.message)) reject(e); });
  });

  const startKubelet = async () => {
    kubelet = spawn(process.execPath, kubeletArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    kubelet.stderr!.on('data', (d) => { kubeletLog = (kubeletLog + d).slice(-20_000); });
  };

  beforeAll(async () => {
    pki = await testPKI();
    // ServiceAccount tokens on, so every pod gets the admission plugin's kube-api-access volume, as in a cluster.
    // The harness gives the API server its kubelet client (--kubelet-client-certificate, --kubelet-certificate-authority).
    api = await startApiServer({ serviceAccounts: true, args: ['--authorization-mode=Node,RBAC'] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kubelet-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.copyFileSync(await api.kubeconfigFor(`system:node:${node}`, ['system:nodes']), kubeconfig);
    adminKubeconfig = await api.kubeconfigFor('kubernetes-admin', ['system:masters']);
    // What the controller-manager's serviceaccount and root-ca-cert-publisher controllers would have made.
    expect((await req('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } })).status).toBe(201);
    expect((await req('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': pki.ca.cert } })).status).toBe(201);
    // The kubelet's serving certificate as `skiff up` issues it from the cluster CA.
    const serving = writePair(dir, 'kubelet', await issue(pki.ca, { cn: `system:node:${node}`, o: ['system:nodes'], sans: [node, '127.0.0.1'], usage: 'server' }));
    kubeletPort = await freePort();
    healthzPort = await freePort();
    kubeletArgs = [
      kubeletJs, `--kubeconfig=${kubeconfig}`, `--hostname-override=${node}`, '--node-ip=127.0.0.1', `--port=${kubeletPort}`, `--healthz-port=${healthzPort}`,
      `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`, `--client-ca-file=${pki.caFile}`,
      `--root-dir=${path.join(dir, 'root')}`, '--cpu=2', '--memory=2Gi',
    ];
    await startKubelet();
    await waitFor('node Ready', async () => isReady((await req('GET', `/api/v1/nodes/${node}`)).body) || undefined, 30_000, 200);
  }, 60_000);

  afterAll(async () => {
    kubelet?.kill('SIGKILL');
    try {
      const ids = docker(['ps', '-aq', '--filter', `label=skiff.node=${node}`]).split('\n').filter(Boolean);
      if (ids.length) docker(['rm', '-f', ...ids]);
    } catch { /* nothing left */ }
    await api?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('registers its node with capacity, addresses, runtime version and a lease', async () => {
    const n = (await req('GET', `/api/v1/nodes/${node}`)).body;
    expect(n.status.capacity).toMatchObject({ cpu: '2', memory: '2Gi', pods: '110' });
    expect(n.status.allocatable.cpu).toBe('2');
    expect(n.status.addresses).toEqual(expect.arrayContaining([{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: node }]));
    expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^docker:\/\/\d+/);
    expect(n.status.nodeInfo.kubeletVersion).toMatch(/^v1\.32\./);
    expect(n.status.daemonEndpoints.kubeletEndpoint.Port).toBeGreaterThan(0);
    expect(n.status.conditions.map((c: any) => c.type).sort()).toEqual(['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready']);
    const lease = await waitFor('lease', async () => {
      const r = await req('GET', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`);
      return r.status === 200 ? r.body : undefined;
    }, 15_000, 200);
    expect(lease.spec.holderIdentity).toBe(node);
  });

  it('records the kubelet\'s node events: Starting, the pressure conditions, NodeReady', async () => {
    const want = ['Starting', 'NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID', 'NodeReady'];
    const events = await waitFor('node events', async () => {
      const r = await req('GET', `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${node}`)}`);
      const items = (r.body.items ?? []) as any[];
      return want.every((w) => items.some((e) => e.reason === w)) ? items : undefined;
    }, 20_000, 200);
    for (const e of events) {
      // The kubelet's nodeRef: kind Node, the node's name as uid, no namespace or apiVersion.
      expect(e.involvedObject).toEqual({ kind: 'Node', name: node, uid: node });
      expect(e.source).toEqual({ component: 'kubelet', host: node });
    }
    const msg = (reason: string) => events.find((e) => e.reason === reason).message;
    expect(msg('Starting')).toBe('Starting kubelet.');
    expect(msg('NodeHasSufficientMemory')).toBe(`Node ${node} status is now: NodeHasSufficientMemory`);
    expect(msg('NodeReady')).toBe(`Node ${node} status is now: NodeReady`);
    expect(events.filter((e) => e.reason === 'NodeReady')).toHaveLength(1);
  });

  it('runs a pod that answers on its IP, with its status, env and volumes', async () => {
    await req('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { GREETING: 'hi', 'file.txt': 'from-configmap' } });
    await createPod('web', {
      terminationGracePeriodSeconds: 2,
      containers: [{
        name: 'httpd', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent',
        command: ['sh', '-c', 'mkdir -p /www && echo "$POD_NAME $(hostname) $GREETING $(cat /cfg/file.txt)" > /www/index.html && exec httpd -f -p 8080 -h /www'],
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'GREETING' } } }],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
        volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }],
      }],
      volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
    });
    const p = await waitFor('web Ready', async () => { const x = await getPod('web'); return isReady(x) ? x : undefined; }, 30_000, 100);
    expect(p.status.phase).toBe('Running');
    expect(p.status.hostIP).toBe('127.0.0.1');
    expect(p.status.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(p.status.podIPs).toEqual([{ ip: p.status.podIP }]);
    expect(p.status.startTime).toBeDefined();
    const cs = p.status.containerStatuses[0];
    expect(cs).toMatchObject({ name: 'httpd', ready: true, started: true, restartCount: 0, image: 'busybox:latest' });
    expect(cs.containerID).toMatch(/^docker:\/\/[0-9a-f]{64}$/);
    expect(cs.state.running.startedAt).toBeDefined();
    expect(p.status.conditions.map((c: any) => c.type)).toEqual(expect.arrayContaining(['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']));
    const body = await (await fetch(`http://${p.status.podIP}:8080/`)).text();
    expect(body.trim()).toBe('web web hi from-configmap');
    const cts = containersOf('web');
    expect(cts.map((c) => c.container).sort()).toEqual(['POD', 'httpd']);
    expect(`docker://${cts.find((c) => c.container === 'httpd')!.id}`).toBe(cs.containerID);
    // Hairpin mode is on for the sandbox's bridge port (the veth whose ifindex is its eth0's iflink) by the time the pod is Ready.
    const pid = docker(['inspect', '--format', '{{.State.Pid}}', cts.find((c) => c.container === 'POD')!.id]);
    const iflink = fs.readFileSync(`/proc/${pid}/root/sys/class/net/eth0/iflink`, 'utf8').trim();
    const veth = fs.readdirSync('/sys/class/net').find((d) => fs.readFileSync(`/sys/class/net/${d}/ifindex`, 'utf8').trim() === iflink);
    expect(veth).toBeDefined();
    expect(fs.readFileSync(`/sys/class/net/${veth}/brport/hairpin_mode`, 'utf8').trim()).toBe('1');
  });

  it('serves logs through the API server', async () => {
    await createPod('talker', { containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'for i in 1 2 3; do echo line $i; done; sleep 0.3; echo oops >&2; sleep 3600'] }], terminationGracePeriodSeconds: 1 });
    const logs = await waitFor('logs', async () => {
      const r = await req('GET', '/api/v1/namespaces/default/pods/talker/log');
      return r.status === 200 && String(r.body).includes('oops') ? String(r.body) : undefined;
    }, 30_000, 200);
    expect(logs).toBe('line 1\nline 2\nline 3\noops\n');
    const tail = await req('GET', '/api/v1/namespaces/default/pods/talker/log?tailLines=1');
    expect(String(tail.body)).toBe('oops\n');
    const ts = await req('GET', '/api/v1/namespaces/default/pods/talker/log?timestamps=true&tailLines=1');
    expect(String(ts.body)).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z oops\n$/);
  });

  it('restarts a container killed with docker kill', async () => {
    const before = containersOf('web').find((c) => c.container === 'httpd')!;
    docker(['kill', before.id]);
    const p = await waitFor('restarted and Ready', async () => {
      const x = await getPod('web');
      return x.status.containerStatuses?.[0].restartCount >= 1 && isReady(x) ? x : undefined;
    }, 30_000, 100);
    expect(p.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(containersOf('web').find((c) => c.container === 'httpd')!.id).not.toBe(before.id);
  });

  it('backs a crashing container off with CrashLoopBackOff', async () => {
    await createPod('crash', { containers: [{ name: 'crash', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'echo starting; exit 3'] }] });
    const p = await waitFor('CrashLoopBackOff after 2 restarts', async () => {
      const x = await getPod('crash');
      const cs = x.status?.containerStatuses?.[0];
      return cs?.restartCount >= 2 && cs.state.waiting?.reason === 'CrashLoopBackOff' ? x : undefined;
    }, 60_000, 200);
    const cs = p.status.containerStatuses[0];
    expect(cs.lastState.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(cs.state.waiting.message).toMatch(/^back-off (10|20|40)s restarting failed container=crash pod=crash_default/);
    expect(p.status.phase).toBe('Running');
    expect(p.status.conditions.find((c: any) => c.type === 'Ready').status).toBe('False');
    const prev = await req('GET', '/api/v1/namespaces/default/pods/crash/log?previous=true');
    expect(String(prev.body)).toContain('starting');
  });

  it('fails only the pod whose image cannot be had', async () => {
    await createPod('noimage', { containers: [{ name: 'c', image: 'skiff.invalid/missing:1', imagePullPolicy: 'IfNotPresent' }] });
    await createPod('never', { containers: [{ name: 'c', image: 'skiff.invalid/missing:2', imagePullPolicy: 'Never' }] });
    const reasons = new Set<string>();
    await waitFor('ErrImagePull then ImagePullBackOff', async () => {
      const r = (await getPod('noimage')).status?.containerStatuses?.[0]?.state?.waiting?.reason;
      if (r) reasons.add(r);
      return reasons.has('ImagePullBackOff') && reasons.has('ErrImagePull');
    }, 30_000, 50);
    const never = await waitFor('ErrImageNeverPull', async () => {
      const x = await getPod('never');
      return x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull' ? x : undefined;
    }, 30_000, 100);
    expect(never.status.phase).toBe('Pending');
    expect(never.status.containerStatuses[0].state.waiting.message).toBe('Container image "skiff.invalid/missing:2" is not present with pull policy of Never');
    expect(isReady(await getPod('web'))).toBe(true);
  });

  it('runs kubectl exec over WebSocket, with stdin and exit codes', async () => {
    const kubectl = (args: string[], input?: string) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
      const p = spawn('kubectl', [`--kubeconfig=${adminKubeconfig}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.stdin.end(input ?? '');
      const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('close', (code) => { clearTimeout(t); resolve({ code: code ?? -1, out, err }); });
    });
    const cat = await kubectl(['exec', 'web', '--', 'cat', '/www/index.html']);
    expect(cat.code, cat.err).toBe(0);
    expect(cat.out.trim()).toBe('web web hi from-configmap');
    const both = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2']);
    expect(both.out).toBe('out\n');
    expect(both.err).toContain('err');
    const fail = await kubectl(['exec', 'web', '--', 'sh', '-c', 'exit 3']);
    expect(fail.code).toBe(3);
    const stdin = await kubectl(['exec', '-i', 'web', '--', 'sh', '-c', 'tr a-z A-Z'], 'hello\n');
    expect(stdin.code, stdin.err).toBe(0);
    expect(stdin.out).toBe('HELLO\n');
  });

  it('locks the kubelet\'s port: 401 without credentials, 403 for a user without nodes/proxy, the API server\'s client served; health on the loopback port alone', async () => {
    const base = `https://127.0.0.1:${kubeletPort}`;
    const execURL = (host: string) => `${host}/exec/default/web/httpd?command=id&stdout=true`;
    const anon = await fetch(`${base}/pods`, { dispatcher: new Agent({ connect: tlsAs() }) } as RequestInit);
    expect([anon.status, await anon.text()]).toEqual([401, 'Unauthorized']);
    expect(await wsExec(execURL(`wss://127.0.0.1:${kubeletPort}`), tlsAs())).toMatchObject({ status: 401, body: 'Unauthorized', out: '' });
    // A valid certificate of the cluster's CA for a user RBAC gives nothing.
    const mallory = await pki.client('mallory', ['devs']);
    const denied = await fetch(`${base}/pods`, { dispatcher: new Agent({ connect: tlsAs(mallory) }) } as RequestInit);
    expect([denied.status, await denied.text()]).toEqual([403, 'Forbidden (user=mallory, verb=get, resource=nodes, subresource=proxy)']);
    expect(await wsExec(execURL(`wss://127.0.0.1:${kubeletPort}`), tlsAs(mallory))).toMatchObject({ status: 403, body: 'Forbidden (user=mallory, verb=create, resource=nodes, subresource=proxy)', out: '' });
    // Nor does the API server let mallory exec through it.
    expect((await wsExec(`wss://127.0.0.1:${api.port}/api/v1/namespaces/default/pods/web/exec?command=id&stdout=true`, tlsAs(mallory))).status).toBe(403);
    // The API server's kubelet client runs the command.
    const ok = await wsExec(execURL(`wss://127.0.0.1:${kubeletPort}`), tlsAs(kubeletClientPair()));
    expect(ok.status).toBe(101);
    expect(ok.out).toMatch(/^uid=0\(root\)/);
    // Plain HTTP gets nothing from the kubelet's port; /healthz answers without credentials on the loopback health port, and nothing else does.
    const plain = await new Promise<string>((resolve) => {
      const r = http.get({ host: '127.0.0.1', port: kubeletPort, path: '/pods' }, (res) => resolve(String(res.statusCode)));
      r.on('error', (e) => resolve(e.message));
    });
    expect(plain).not.toBe('200');
    expect(plain).not.toBe('401');
    const h = await fetch(`http://127.0.0.1:${healthzPort}/healthz`);
    expect([h.status, await h.text()]).toEqual([200, 'ok']);
    expect((await fetch(`http://127.0.0.1:${healthzPort}/pods`)).status).toBe(404);
  });

  it('refuses a WebSocket exec from a foreign Origin on the API server and on the kubelet, and allows it without one', async () => {
    const admin = tlsAs({ cert: api.admin.cert!, key: api.admin.key! });
    const viaAPI = `wss://127.0.0.1:${api.port}/api/v1/namespaces/default/pods/web/exec?command=id&stdout=true`;
    const direct = `wss://127.0.0.1:${kubeletPort}/exec/default/web/httpd?command=id&stdout=true`;
    const evil = 'https://evil.example';
    for (const [url, who] of [[viaAPI, admin], [direct, tlsAs(kubeletClientPair())]] as const) {
      const refused = await wsExec(url, who, evil);
      expect(refused.status, url).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 });
      expect(refused.out).toBe('');
      const fine = await wsExec(url, who);
      expect(fine.status, url).toBe(101);
      expect(fine.out).toMatch(/^uid=0\(root\)/);
    }
    // The server's own origin is not foreign.
    expect((await wsExec(viaAPI, admin, `https://127.0.0.1:${api.port}`)).out).toMatch(/^uid=0/);
  });

  it('mounts the ServiceAccount token volume: a bound token the API server and the kubelet accept, the cluster CA and the namespace', async () => {
    const pod = await getPod('web');
    expect(pod.spec.volumes.some((v: any) => v.name.startsWith('kube-api-access-') && v.projected)).toBe(true);
    const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
    const run = (...cmd: string[]) => execFileSync('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'exec', 'web', '--', ...cmd], { encoding: 'utf8' });
    expect(run('cat', `${dir}/namespace`)).toBe('default');
    expect(run('cat', `${dir}/ca.crt`)).toBe(pki.ca.cert);
    // Links through ..data, which the kubelet swaps in one rename when it refreshes the token.
    expect(run('readlink', `${dir}/token`).trim()).toBe('..data/token');
    expect(run('sh', '-c', `touch ${dir}/x 2>&1 || true`)).toMatch(/Read-only file system/);
    const token = run('cat', `${dir}/token`);
    // The API server knows it as the pod's ServiceAccount, bound to the pod.
    const review = await req('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
    expect(review.body.status).toMatchObject({ authenticated: true, user: { username: 'system:serviceaccount:default:default' } });
    expect(review.body.status.user.extra['authentication.kubernetes.io/pod-name']).toEqual(['web']);
    // So does the kubelet, by its own TokenReview; RBAC gives the ServiceAccount nothing on the node.
    const r = await fetch(`https://127.0.0.1:${kubeletPort}/pods`, { headers: { Authorization: `Bearer ${token}` }, dispatcher: new Agent({ connect: tlsAs() }) } as RequestInit);
    expect([r.status, await r.text()]).toEqual([403, 'Forbidden (user=system:serviceaccount:default:default, verb=get, resource=nodes, subresource=proxy)']);
    const forged = await fetch(`https://127.0.0.1:${kubeletPort}/pods`, { headers: { Authorization: `Bearer ${token.slice(0, -4)}AAAA` }, dispatcher: new Agent({ connect: tlsAs() }) } as RequestInit);
    expect(forged.status).toBe(401);
    expect(kubeletLog).not.toContain(token);
  });

  it('mounts Secret volumes and sets env from Secrets; a missing Secret holds its pod in ContainerCreating until it exists', async () => {
    const password = `pw-${crypto.randomBytes(6).toString('hex')}`;
    expect((await req('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, type: 'Opaque', stringData: { username: 'admin', password } })).status).toBe(201);
    await createPod('secretive', {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent',
        command: ['sh', '-c', 'echo "env:$PW"; echo "file:$(cat /creds/username)"; stat -c "mode:%a" /creds/..data/password; touch /creds/x 2>&1 | grep -o "Read-only file system"; exec sleep 3600'],
        env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }],
        volumeMounts: [{ name: 'creds', mountPath: '/creds' }],
      }],
      volumes: [{ name: 'creds', secret: { secretName: 'creds', defaultMode: 0o400 } }],
    });
    const logs = await waitFor('secretive output', async () => {
      const r = await req('GET', '/api/v1/namespaces/default/pods/secretive/log');
      return r.status === 200 && String(r.body).includes('Read-only') ? String(r.body) : undefined;
    }, 30_000, 200);
    expect(logs).toBe(`env:${password}\nfile:admin\nmode:400\nRead-only file system\n`);

    await createPod('waits', {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], volumeMounts: [{ name: 's', mountPath: '/s' }] }],
      volumes: [{ name: 's', secret: { secretName: 'later' } }],
    });
    const ev = await waitFor('FailedMount', async () => {
      const r = await req('GET', `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.name=waits,reason=FailedMount')}`);
      return r.body.items?.[0];
    }, 30_000, 200);
    expect(ev.message).toBe('MountVolume.SetUp failed for volume "s" : secret "later" not found');
    const waiting = await waitFor('waits status', async () => (await getPod('waits')).status?.containerStatuses?.[0]?.state?.waiting, 30_000, 200);
    expect(waiting.reason).toBe('ContainerCreating');
    expect(containersOf('waits').map((c) => c.container)).not.toContain('c');
    await req('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'later' }, stringData: { k: 'v' } });
    await waitFor('waits Ready', async () => isReady(await getPod('waits')), 30_000, 200);
    // Secret values reach the container and nothing else: not the kubelet's log, not the events.
    expect(kubeletLog).not.toContain(password);
    expect(JSON.stringify((await req('GET', '/api/v1/namespaces/default/events')).body)).not.toContain(password);
  });

  it('runs kubectl exec -it in a terminal: sized as the outer one, raw bytes, no stray NUL', async () => {
    // script gives kubectl a real pty sized 40x100. Its stdin stays open until
    // the end: at EOF script types the terminal's EOF character, which in
    // kubectl's raw mode arrives in the container as a NUL (docker exec -it
    // shows the same), so closing early would test script, not the kubelet.
    // The sleep: like containerd's CRI, Docker (Engine API < 1.42) sizes an
    // exec's terminal only once it has started.
    const inner = `sh -c 'tty; sleep 0.3; stty size; read l; echo got:$l'`;
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      const p = spawn('script', ['-qec', `stty rows 40 cols 100; kubectl --kubeconfig=${adminKubeconfig} exec -it web -- ${inner}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      let typed = false;
      p.stdout.on('data', (d) => {
        out += d.toString('latin1');
        if (!typed && /\d+ \d+\r\n/.test(out)) { typed = true; p.stdin.write('hi\r'); }
      });
      const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('close', (code) => { clearTimeout(t); p.stdin.destroy(); resolve({ code: code ?? -1, out }); });
    });
    expect(r.code, JSON.stringify(r.out)).toBe(0);
    expect(r.out).toMatch(/^\/dev\/pts\/\d+\r\n40 100\r\n/);
    // The container's terminal echoes what was typed, then the line read back.
    expect(r.out).toContain('hi\r\ngot:hi\r\n');
    expect(r.out).not.toContain('\0');
    expect(r.out).not.toContain('^@');
  });

  it('forwards a local port to the pod with kubectl port-forward (WebSocket tunnel and SPDY)', async () => {
    // kubectl 1.32 tunnels SPDY over WebSocket by default; KUBECTL_PORT_FORWARD_WEBSOCKETS=false makes it upgrade to SPDY directly.
    execFileSync('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'exec', 'web', '--', 'sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x > /www/big']);
    for (const websockets of ['true', 'false']) {
      // A listener in the pod that keeps what it is sent: the upload direction. Its stdin stays open: a
      // background nc reading /dev/null would end its side at once and reset an upload still arriving.
      const sink = websockets === 'true' ? 9000 : 9001;
      execFileSync('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'exec', 'web', '--', 'sh', '-c', `sleep 60 2>/dev/null | nc -l -p ${sink} > /tmp/up${sink} 2>/dev/null &`]);
      // The listener starts in the background: an upload before it listens would be refused (ECONNRESET here).
      await waitFor('listener in the pod', () => execFileSync('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'exec', 'web', '--', 'netstat', '-ltn'], { encoding: 'utf8' }).includes(`:${sink} `), 10_000, 100);
      const local = await freePort();
      const localSink = await freePort();
      const pf = spawn('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'port-forward', 'pod/web', `${local}:8080`, `${localSink}:${sink}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECTL_PORT_FORWARD_WEBSOCKETS: websockets } });
      let out = '';
      pf.stdout!.on('data', (d) => (out += d));
      pf.stderr!.on('data', (d) => (out += d));
      try {
        await waitFor('Forwarding from', () => out.includes(`Forwarding from 127.0.0.1:${local} -> 8080`), 20_000, 50);
        // Several connections in a row: each is its own pair of streams on the one SPDY connection.
        for (let i = 0; i < 3; i++) {
          const r = await fetch(`http://127.0.0.1:${local}/`, { headers: { Connection: 'close' } }).catch((e) => { throw new Error(`${e.cause ?? e}; kubectl said: ${out}`); });
          expect(await r.text(), out).toBe('web web hi from-configmap\n');
        }
        // A large body: many DATA frames, well past SPDY's initial 64 KiB window.
        const big = await (await fetch(`http://127.0.0.1:${local}/big`)).text();
        expect(big.length).toBe(300_000);
        expect(/^x+$/.test(big)).toBe(true);
        const upload = crypto.randomBytes(3_000_000);
        await new Promise<void>((resolve, reject) => {
          const sock = net.connect(localSink, '127.0.0.1', () => sock.end(upload));
          sock.on('error', reject);
          sock.on('close', () => resolve());
          sock.resume();
        });
        const want = crypto.createHash('md5').update(upload).digest('hex');
        await waitFor('upload complete in the pod', () => execFileSync('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'exec', 'web', '--', 'md5sum', `/tmp/up${sink}`], { encoding: 'utf8' }).startsWith(want), 10_000, 200);
      } finally {
        pf.kill('SIGKILL');
      }
      if (websockets === 'false') {
        // Nothing listens on port 9 in the pod: the kubelet says so on the error stream and kubectl reports it.
        const local2 = await freePort();
        const pf2 = spawn('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'port-forward', 'pod/web', `${local2}:9`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECTL_PORT_FORWARD_WEBSOCKETS: websockets } });
        let out2 = '';
        pf2.stdout!.on('data', (d) => (out2 += d));
        pf2.stderr!.on('data', (d) => (out2 += d));
        try {
          await waitFor('Forwarding from', () => out2.includes('Forwarding from'), 20_000, 50);
          await fetch(`http://127.0.0.1:${local2}/`).then((r) => r.text()).catch(() => '');
          await waitFor('error forwarding', () => out2.includes('error forwarding port 9 to pod'), 10_000, 50);
          expect(out2).toMatch(/connection refused/);
        } finally {
          pf2.kill('SIGKILL');
        }
      }
    }
  });

  it('attaches kubectl to a container\'s own stdin and stdout (stdinOnce closes it after)', async () => {
    await createPod('reader', {
      restartPolicy: 'Never', terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', stdin: true, stdinOnce: true, command: ['sh', '-c', 'while read l; do echo got:$l; done; echo stdin-closed'] }],
    });
    await waitFor('reader running', async () => (await getPod('reader')).status?.containerStatuses?.[0]?.state?.running, 30_000, 100);
    const r = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
      const p = spawn('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'attach', '-i', 'reader'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.stdin.write('hello\nworld\n');
      // Closing stdin only after the output is back: the lines must travel while attached.
      const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
      const iv = setInterval(() => { if (out.includes('got:world')) { clearInterval(iv); p.stdin.end(); } }, 50);
      p.on('close', (code) => { clearTimeout(t); clearInterval(iv); resolve({ code: code ?? -1, out, err }); });
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('got:hello\ngot:world\n');
    const done = await waitFor('Succeeded once stdin closed', async () => { const x = await getPod('reader'); return x.status?.phase === 'Succeeded' ? x : undefined; }, 30_000, 100);
    expect(done.status.containerStatuses[0].state.terminated.exitCode).toBe(0);
    const logs = await req('GET', '/api/v1/namespaces/default/pods/reader/log');
    expect(String(logs.body)).toBe('got:hello\ngot:world\nstdin-closed\n');
  });

  it('runs init containers in order to completion before the app container, as kubectl shows them', async () => {
    await createPod('inits', {
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [
        { name: 'first', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'sleep 2; echo first >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
        { name: 'second', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'echo second >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      ],
      containers: [{ name: 'app', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'cat /work/order; echo app; exec sleep 3600'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
    });
    const table = await waitFor('Init:0/2 in kubectl get', () => {
      const out = execFileSync('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'get', 'pod', 'inits', '--no-headers'], { encoding: 'utf8' });
      return /Init:0\/2/.test(out) ? out : undefined;
    }, 20_000, 100);
    expect(table).toMatch(/^inits\s+0\/1\s+Init:0\/2\s+0\s/);
    const init = await getPod('inits');
    expect(init.status.phase).toBe('Pending');
    expect(init.status.conditions.find((c: any) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized' });
    const p = await waitFor('inits Ready', async () => { const x = await getPod('inits'); return isReady(x) ? x : undefined; }, 30_000, 100);
    expect(p.status.initContainerStatuses.map((s: any) => [s.name, s.state.terminated?.reason, s.state.terminated?.exitCode])).toEqual([['first', 'Completed', 0], ['second', 'Completed', 0]]);
    expect(p.status.conditions.find((c: any) => c.type === 'Initialized').status).toBe('True');
    const logs = await waitFor('app log', async () => { const r = await req('GET', '/api/v1/namespaces/default/pods/inits/log?container=app'); return String(r.body).includes('app') ? String(r.body) : undefined; }, 10_000, 100);
    expect(logs).toBe('first\nsecond\napp\n');
    expect(execFileSync('kubectl', [`--kubeconfig=${adminKubeconfig}`, 'get', 'pod', 'inits', '--no-headers'], { encoding: 'utf8' })).toMatch(/^inits\s+1\/1\s+Running\s+0\s/);
  });

  it('runs a postStart exec hook in the started container', async () => {
    await createPod('hooked', {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent',
        command: ['sh', '-c', 'until [ -f /tmp/hook ]; do sleep 0.1; done; echo "hook wrote: $(cat /tmp/hook)"; exec sleep 3600'],
        lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo $HOSTNAME > /tmp/hook'] } } },
      }],
    });
    const logs = await waitFor('hook output', async () => { const r = await req('GET', '/api/v1/namespaces/default/pods/hooked/log'); return String(r.body).includes('hook wrote') ? String(r.body) : undefined; }, 30_000, 100);
    expect(logs).toBe('hook wrote: hooked\n');
    expect((await getPod('hooked')).status.containerStatuses[0].restartCount).toBe(0);
  });

  it('passes service-link variables for the kubernetes service and the namespace\'s services', async () => {
    const svc = await req('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'my-db' }, spec: { selector: { app: 'none' }, ports: [{ name: 'sql', port: 5432 }] } });
    expect(svc.status, JSON.stringify(svc.body)).toBe(201);
    const ip = svc.body.spec.clusterIP;
    const kube = (await req('GET', '/api/v1/namespaces/default/services/kubernetes')).body;
    try {
      await createPod('links', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'env | grep -E "^(KUBERNETES|MY_DB)_" | sort'] }] });
      await createPod('nolinks', { restartPolicy: 'Never', enableServiceLinks: false, containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'env | grep -E "^(KUBERNETES|MY_DB)_SERVICE_HOST" | sort'] }] });
      const logs = async (name: string) => waitFor(`${name} done`, async () => ((await getPod(name)).status?.phase === 'Succeeded' ? String((await req('GET', `/api/v1/namespaces/default/pods/${name}/log`)).body) : undefined), 30_000, 100);
      const env = new Map((await logs('links')).trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      expect(env.get('KUBERNETES_SERVICE_HOST')).toBe(kube.spec.clusterIP);
      expect(env.get('KUBERNETES_SERVICE_PORT')).toBe('443');
      expect(env.get('MY_DB_SERVICE_HOST')).toBe(ip);
      expect(env.get('MY_DB_SERVICE_PORT_SQL')).toBe('5432');
      expect(env.get('MY_DB_PORT_5432_TCP')).toBe(`tcp://${ip}:5432`);
      expect((await logs('nolinks')).trim()).toBe(`KUBERNETES_SERVICE_HOST=${kube.spec.clusterIP}`);
    } finally {
      await req('DELETE', '/api/v1/namespaces/default/services/my-db');
    }
  });

  it('serves /stats/summary for metrics.k8s.io, to the API server\'s kubelet client', async () => {
    const n = (await req('GET', `/api/v1/nodes/${node}`)).body;
    expect(n.status.daemonEndpoints.kubeletEndpoint.Port).toBe(kubeletPort);
    const r = await fetch(`https://127.0.0.1:${kubeletPort}/stats/summary`, { dispatcher: await asKubeletClient() } as RequestInit);
    expect(r.status).toBe(200);
    const s: any = await r.json();
    expect(s.node.nodeName).toBe(node);
    expect(s.node.memory.workingSetBytes).toBeGreaterThan(0);
    const web = s.pods.find((p: any) => p.podRef.name === 'web');
    expect(web.podRef.namespace).toBe('default');
    expect(web.containers[0].name).toBe('httpd');
    expect(web.containers[0].memory.workingSetBytes).toBeGreaterThan(0);
  });

  it('keeps running containers when the kubelet is killed and restarted', async () => {
    const before = containersOf('web').map((c) => c.id).sort();
    const restarts = (await getPod('web')).status.containerStatuses[0].restartCount;
    kubelet!.kill('SIGKILL');
    await new Promise((r) => kubelet!.once('exit', r));
    await startKubelet();
    // Long enough for the new kubelet to list, sync every pod and write any status change.
    await new Promise((r) => setTimeout(r, 4000));
    const p = await getPod('web');
    expect(isReady(p)).toBe(true);
    expect(p.status.containerStatuses[0].restartCount).toBe(restarts);
    expect(containersOf('web').map((c) => c.id).sort()).toEqual(before);
  });

  it('deletes gracefully: preStop, containers removed, object gone', async () => {
    await createPod('bye', {
      terminationGracePeriodSeconds: 5,
      containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop > /proc/1/fd/1'] } } } }],
    });
    await waitFor('bye running', async () => (await getPod('bye')).status?.phase === 'Running', 30_000, 100);
    const started = Date.now();
    const del = await req('DELETE', '/api/v1/namespaces/default/pods/bye');
    expect(del.status).toBe(200);
    await waitFor('object gone', async () => (await req('GET', '/api/v1/namespaces/default/pods/bye')).status === 404, 30_000, 100);
    // sleep ignores SIGTERM as PID 1: the kubelet waits out the grace period, then kills.
    expect(Date.now() - started).toBeGreaterThan(3000);
    await waitFor('containers removed', () => containersOf('bye', true).length === 0, 15_000, 100);
    for (const name of ['web', 'talker', 'crash', 'noimage', 'never', 'reader', 'inits', 'hooked', 'links', 'nolinks', 'secretive', 'waits']) await req('DELETE', `/api/v1/namespaces/default/pods/${name}?gracePeriodSeconds=0`);
    await waitFor('every container removed', () => docker(['ps', '-aq', '--filter', `label=skiff.node=${node}`]) === '', 30_000, 200);
  });
});
