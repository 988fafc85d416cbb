// Starts the compiled kube-proxy (dist/kube-proxy/main.js) against an API
// server, plus the busybox httpd "pods" it forwards to, for the kube-proxy
// integration test and bench:proxy. Everything started here is stopped by
// stop()/removeContainers(), and by a process exit hook if a test throws first.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../util/ports.js';
import { testPKI } from '../util/pki.js';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
export const kubeProxyMain = path.join(repoRoot(), 'dist', 'kube-proxy', 'main.js');

export const containerLabel = 'skiff.test=kube-proxy';

export interface KubeProxyProcess {
  proc: ChildProcess;
  metrics: string;
  logs(): string;
  /** SIGKILL, as a crash: rules stay in the kernel. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startKubeProxy(server: string, opts: { mode: 'iptables' | 'userspace'; node?: string; args?: string[]; dir?: string }): Promise<KubeProxyProcess> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kp-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  if (!fs.existsSync(kubeconfig)) fs.copyFileSync(await (await testPKI()).kubeconfig(server, 'system:kube-proxy'), kubeconfig);
  const port = await freePort();
  const metrics = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [
    kubeProxyMain, `--kubeconfig=${kubeconfig}`, `--hostname-override=${opts.node ?? 'node-a'}`,
    '--service-cluster-ip-range=10.96.0.0/12', `--metrics-bind-address=127.0.0.1:${port}`, `--proxy-mode=${opts.mode}`, ...(opts.args ?? []),
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-20_000); });
  const exited = new Promise<void>((r) => proc.once('exit', () => { running.delete(proc); r(); }));
  const handle: KubeProxyProcess = {
    proc,
    metrics,
    logs: () => stderr,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await waitFor('kube-proxy /healthz', async () => {
      if (proc.exitCode !== null) throw new Error(`kube-proxy exited: ${stderr.slice(-3000)}`);
      return (await fetch(`${metrics}/healthz`).catch(() => undefined))?.ok;
    }, 30_000, 100);
  } catch (e) {
    await handle.kill();
    throw e;
  }
  return handle;
}

/** `kube-proxy --cleanup`, as `skiff down` runs it. */
export function runCleanup(): void {
  execFileSync(process.execPath, [kubeProxyMain, '--cleanup'], { stdio: 'pipe', timeout: 60_000 });
}

/** busybox httpd "pods" answering GET / with their name, on :8080. */
export function startPods(names: string[]): { name: string; id: string; ip: string }[] {
  const out: { name: string; id: string; ip: string }[] = [];
  for (const name of names) {
    const id = execFileSync('docker', ['run', '-d', '--label', containerLabel, '--name', `skiff-kp-${name}-${process.pid}`, 'busybox:latest', 'sh', '-c',
      `mkdir -p /www && echo ${name} > /www/index.html && httpd -f -p 8080 -h /www`], { encoding: 'utf8' }).trim();
    const ip = execFileSync('docker', ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', id], { encoding: 'utf8' }).trim();
    out.push({ name, id, ip });
  }
  return out;
}

export function removeContainers(): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${containerLabel}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'pipe' });
}

/** Every KUBE- line of iptables-save, counters stripped, sorted. */
export function kubeRules(): string[] {
  return execFileSync('iptables-save', [], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /KUBE-/.test(l) && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
    .sort();
}

/** One GET on a new connection; rejects with the socket error (code ECONNREFUSED and so on). */
export function hit(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

export async function spread(host: string, port: number, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const who = await hit(host, port);
    counts[who] = (counts[who] ?? 0) + 1;
  }
  return counts;
}

export function makeServiceRangeLocal(): void {
  execFileSync('ip', ['route', 'replace', 'local', '10.96.0.0/12', 'dev', 'lo', 'table', 'local']);
}
