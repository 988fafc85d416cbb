// A whole Skiff cluster started the way a user starts it: `skiff up` with its
// own $SKIFF_HOME and free ports, and `skiff down` afterwards.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { Kubectl } from './kubectl.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const skiff = path.join(repo, 'dist', 'cli', 'main.js');

export interface TestCluster {
  home: string;
  server: string;
  kubeconfig: string;
  kubectl: Kubectl;
  nodes: string[];
  down(): Promise<void>;
  skiff(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [skiff, ...args], { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** nodeMode: the suites written before netns nodes reach pods from this namespace, so shared unless asked. */
export async function skiffUp(opts: { nodes?: number; proxyMode?: 'iptables' | 'userspace'; name?: string; nodeMode?: 'netns' | 'shared'; args?: string[] } = {}): Promise<TestCluster> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-home-'));
  const apiPort = await freePort();
  const etcdPort = await freePort();
  const env = { ...process.env, SKIFF_HOME: home };
  const name = opts.name ?? `t${process.pid % 10000}`;
  const args = ['up', `--nodes=${opts.nodes ?? 1}`, `--name=${name}`, `--apiserver-port=${apiPort}`, `--etcd-port=${etcdPort}`];
  if (opts.proxyMode) args.push(`--proxy-mode=${opts.proxyMode}`);
  args.push(`--node-mode=${opts.nodeMode ?? 'shared'}`, ...(opts.args ?? []));
  const up = await run(args, env, 180_000);
  const cluster: TestCluster = {
    home,
    server: `https://127.0.0.1:${apiPort}`,
    kubeconfig: path.join(home, 'kubeconfig'),
    kubectl: new Kubectl(`https://127.0.0.1:${apiPort}`, path.join(home, 'kubeconfig')),
    nodes: Array.from({ length: opts.nodes ?? 1 }, (_, i) => `${name}-node-${i + 1}`),
    skiff: (a) => run(a, env, 120_000),
    async down() {
      await run(['down'], env, 120_000);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
  if (up.code !== 0) {
    const logs = fs.existsSync(path.join(home, 'logs')) ? fs.readdirSync(path.join(home, 'logs')).map((f) => `--- ${f}\n` + fs.readFileSync(path.join(home, 'logs', f), 'utf8').split('\n').slice(-20).join('\n')).join('\n') : '';
    await cluster.down();
    throw new Error(`skiff up failed (${up.code}):\n${up.stdout}\n${up.stderr}\n${logs}`);
  }
  return cluster;
}
