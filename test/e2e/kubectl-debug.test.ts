// kubectl debug against a Skiff cluster with real containers: an ephemeral
// container started by the kubelet in the pod's network namespace and, with
// --target, the target container's process namespace, attached to with -i;
// a copy of the pod sharing one process namespace (--copy-to
// --share-processes); and a node debugging pod with the host's namespaces.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

const podYaml = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www; echo hello-from-main > /www/index.html; exec httpd -f -p 8080 -h /www"]
`;

describe('kubectl debug against a Skiff cluster', () => {
  let c: TestCluster;
  const k = (args: string[], input?: string) => c.kubectl.ok(args, { input, timeoutMs: 90_000 });

  /** kubectl with stdin written after a pause (what attach reads) and closed once `until` is in its output. */
  const interactive = (args: string[], line: string, until: string) => new Promise<{ code: number; out: string }>((resolve) => {
    const p = spawn('kubectl', [`--kubeconfig=${c.kubeconfig}`, ...args], { env: process.env });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const iv = setInterval(() => p.stdin.write(`${line}\n`), 500);
    const done = setInterval(() => { if (out.includes(until)) { clearInterval(iv); clearInterval(done); p.stdin.end(); } }, 50);
    const t = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.on('close', (code) => { clearInterval(iv); clearInterval(done); clearTimeout(t); resolve({ code: code ?? -1, out }); });
  });

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
    await k(['apply', '-f', '-'], podYaml);
    await k(['wait', '--for=condition=Ready', 'pod/web', '--timeout=90s']);
  }, 300_000);
  afterAll(async () => {
    await c?.down();
  }, 180_000);

  it('runs an ephemeral container in the pod\'s namespaces, sharing the target\'s processes, and attaches to it (debug -i --target)', async () => {
    const script = 'read x; echo got:$x; ps -o args | grep -c "[h]ttpd -f -p 8080" | sed s/^/httpd-seen:/; wget -qO- http://127.0.0.1:8080/';
    const r = await interactive(['debug', '-i', 'web', '--image=busybox:latest', '--image-pull-policy=IfNotPresent', '--target=main', '-c', 'debugger', '--', 'sh', '-c', script], 'hello', 'hello-from-main');
    expect(r.out).toContain('got:hello');
    // The target's httpd is visible (one process namespace) and answers on the pod's loopback (one network namespace).
    expect(r.out).toContain('httpd-seen:1');
    expect(r.out).toContain('hello-from-main');
    const pod = await waitFor('ephemeral container status', async () => {
      const p = await c.kubectl.json(['get', 'pod', 'web']);
      return p.status.ephemeralContainerStatuses?.[0]?.state?.terminated ? p : undefined;
    }, 30_000, 200);
    expect(pod.status.ephemeralContainerStatuses[0]).toMatchObject({ name: 'debugger', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } });
    // Never restarted, and the pod's own container untouched.
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'main', restartCount: 0, ready: true });
    expect(await k(['logs', 'web', '-c', 'debugger'])).toContain('got:hello');
  });

  it('copies the pod with --copy-to --share-processes: one process namespace for all its containers', async () => {
    await k(['debug', 'web', '--copy-to=web-copy', '--share-processes', '--image=busybox:latest', '--image-pull-policy=IfNotPresent', '-c', 'dbg', '--', 'sleep', '3600']);
    await k(['wait', '--for=condition=Ready', 'pod/web-copy', '--timeout=90s']);
    const ps = await k(['exec', 'web-copy', '-c', 'dbg', '--', 'ps', '-o', 'args']);
    expect(ps).toContain('httpd -f -p 8080');
    expect(ps).toContain('sleep 3600');
  });

  it('debugs the node with a pod in the host\'s network, process and IPC namespaces and its / at /host', async () => {
    await k(['create', 'namespace', 'node-debug']);
    const out = await k(['debug', `node/${c.nodes[0]}`, '-n', 'node-debug', '--image=busybox:latest', '--image-pull-policy=IfNotPresent', '--', 'sh', '-c', 'ls /host/etc/hostname; readlink /proc/self/ns/pid; readlink /proc/self/ns/net']);
    const name = /Creating debugging pod (\S+) with container/.exec(out)?.[1];
    expect(name, out).toBeDefined();
    const p = await waitFor('node debug pod done', async () => {
      const x = await c.kubectl.json(['get', 'pod', '-n', 'node-debug', name!]);
      return x.status.phase === 'Succeeded' ? x : undefined;
    }, 60_000, 200);
    expect(p.spec).toMatchObject({ nodeName: c.nodes[0], hostPID: true, hostIPC: true, hostNetwork: true });
    const logs = await k(['logs', '-n', 'node-debug', name!]);
    expect(logs).toContain('/host/etc/hostname');
    // The host's PID and network namespaces: the ones this test runs in; the pod's IP is the node's.
    const fs = await import('node:fs');
    expect(logs).toContain(fs.readlinkSync('/proc/self/ns/pid'));
    expect(logs).toContain(fs.readlinkSync('/proc/self/ns/net'));
    expect(p.status.podIP).toBe(p.status.hostIP);
  });
});
