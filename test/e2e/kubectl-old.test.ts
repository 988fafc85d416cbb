// Older kubectls against a Skiff cluster: 1.27-1.29 run exec, attach and
// port-forward over SPDY/3.1 only (WebSockets came in 1.30), through the
// API server's upgrade proxy to the kubelet's remotecommand and portforward
// servers. kubectl 1.32 with its WebSocket switches off takes the same path
// as its fallback. The binaries are the ones bundled with the Cloud SDK;
// each one absent on this machine is skipped.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { freePort, waitFor } from '../util/ports.js';

const sdkBin = '/usr/lib/google-cloud-sdk/bin';
const old = ['1.27', '1.28', '1.29'].map((v) => ({ name: `kubectl ${v}`, bin: `${sdkBin}/kubectl.${v}`, env: {} as Record<string, string> }));
// 1.32 on PATH with WebSockets off: its SPDY fallback, the same wire as the old ones.
const clients = [...old, { name: 'kubectl 1.32 (SPDY)', bin: 'kubectl', env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } }];
const present = (bin: string) => bin === 'kubectl' || fs.existsSync(bin);

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
    command: ["sh", "-c", "mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 8080 -h /www"]
  - name: reader
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    stdin: true
    command: ["sh", "-c", "while read l; do echo got:$l; done"]
`;

describe('older kubectls: exec, attach and port-forward over SPDY/3.1', () => {
  let c: TestCluster;

  const run = (bin: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(bin, [`--kubeconfig=${c.kubeconfig}`, ...args], { env: { ...process.env, ...opts.env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end(opts.input ?? '');
  });

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
    await c.kubectl.ok(['apply', '-f', '-'], { input: podYaml });
    await c.kubectl.ok(['wait', '--for=condition=Ready', 'pod/web', '--timeout=90s'], { timeoutMs: 100_000 });
  }, 300_000);
  afterAll(async () => {
    await c?.down();
  }, 180_000);

  for (const k of clients) {
    describe.skipIf(!present(k.bin))(k.name, () => {
      it('execs with stdin, separate stdout and stderr, and the command\'s exit code', async () => {
        const r = await run(k.bin, ['exec', '-i', 'web', '-c', 'main', '--', 'sh', '-c', 'cat; echo to-stderr >&2'], { input: 'line one\nline two\n', env: k.env });
        expect(r, JSON.stringify(r)).toMatchObject({ code: 0, stdout: 'line one\nline two\n' });
        expect(r.stderr).toContain('to-stderr\n');
        const failed = await run(k.bin, ['exec', 'web', '-c', 'main', '--', 'sh', '-c', 'echo partial; exit 3'], { env: k.env });
        expect(failed.code, JSON.stringify(failed)).toBe(3);
        expect(failed.stdout).toBe('partial\n');
        const large = await run(k.bin, ['exec', 'web', '-c', 'main', '--', 'sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" y'], { env: k.env });
        expect(large.code).toBe(0);
        expect(large.stdout.length).toBe(200_000);
      });

      it('attaches to a container\'s own stdin and stdout', async () => {
        const word = `w${Math.random().toString(36).slice(2, 8)}`;
        const out = await new Promise<string>((resolve) => {
          const p = spawn(k.bin, [`--kubeconfig=${c.kubeconfig}`, 'attach', '-i', 'web', '-c', 'reader'], { env: { ...process.env, ...k.env } });
          let o = '';
          p.stdout.on('data', (d) => (o += d));
          p.stderr.on('data', (d) => (o += d));
          const iv = setInterval(() => p.stdin.write(`${word}\n`), 300);
          const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
          const check = setInterval(() => { if (o.includes(`got:${word}`)) p.kill('SIGTERM'); }, 50);
          p.on('close', () => { clearInterval(iv); clearInterval(check); clearTimeout(t); resolve(o); });
        });
        expect(out).toContain(`got:${word}`);
      });

      it('forwards a local port to the pod', async () => {
        const local = await freePort();
        const pf = spawn(k.bin, [`--kubeconfig=${c.kubeconfig}`, 'port-forward', 'pod/web', `${local}:8080`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...k.env } });
        let out = '';
        pf.stdout!.on('data', (d) => (out += d));
        pf.stderr!.on('data', (d) => (out += d));
        try {
          await waitFor('Forwarding from', () => out.includes(`Forwarding from 127.0.0.1:${local} -> 8080`), 20_000, 50);
          for (let i = 0; i < 2; i++) {
            const r = await fetch(`http://127.0.0.1:${local}/`, { headers: { Connection: 'close' } }).catch((e) => { throw new Error(`${e.cause ?? e}; kubectl said: ${out}`); });
            expect(await r.text(), out).toBe('hello-from-web\n');
          }
        } finally {
          pf.kill('SIGKILL');
        }
      });
    });
  }
});
