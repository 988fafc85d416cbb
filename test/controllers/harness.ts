// Processes for the controller integration suites: the compiled
// controller-manager (dist/controllers/main.js) against a real API server and
// etcd, with simulated nodes. Everything started is stopped again, also when
// a test fails part way.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RestClient } from '../../client/rest.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { freePort, waitFor } from '../util/ports.js';
import { startSimNodes, type SimNodes } from '../util/simnodes.js';
import { testPKI } from '../util/pki.js';

/** The repository root, from test/controllers or its compiled copy in dist/ (which bench scripts use). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const repo = repoRoot();
const mainJs = path.join(repo, 'dist', 'controllers', 'main.js');

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export interface ControllerManagerProcess {
  proc: ChildProcess;
  port: number;
  logs(): string;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Short leases so that takeover tests finish quickly. */
export const fastLeaderElection = ['--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline=3s', '--leader-elect-retry-period=1s'];

export async function startControllerManager(server: string, args: string[] = []): Promise<ControllerManagerProcess> {
  const port = await freePort();
  const kubeconfig = await (await testPKI()).kubeconfig(server, 'system:kube-controller-manager');
  const proc = spawn(process.execPath, [mainJs, `--kubeconfig=${kubeconfig}`, `--port=${port}`, '--node-monitor-period=1s', ...fastLeaderElection, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SKIFF_LOG_LEVEL: 'info' },
  });
  running.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitFor('controller-manager /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok, 20_000).catch((e) => {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${stderr.slice(-3000)}`);
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    await exited;
    running.delete(proc);
  };
  return { proc, port, logs: () => stderr, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

export interface ControllerCluster {
  api: ApiServerProcess;
  client: RestClient;
  nodes: SimNodes;
  cm: ControllerManagerProcess;
  stop(): Promise<void>;
}

/** API server + etcd, simulated nodes that also bind pods, and one controller-manager. */
export async function startControllerCluster(o: { nodes?: number; cmArgs?: string[] } = {}): Promise<ControllerCluster> {
  const api = await startApiServer();
  const stops: (() => Promise<void>)[] = [() => api.stop()];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const client = new RestClient(api.admin, { component: 'controllers-test' });
    const nodes = await startSimNodes(client, { count: o.nodes ?? 3, bind: true });
    stops.push(() => nodes.stop());
    const cm = await startControllerManager(api.url, o.cmArgs);
    const cluster: ControllerCluster = { api, client, nodes, cm, stop: stopAll };
    stops.push(() => cluster.cm.stop());
    return cluster;
  } catch (e) {
    await stopAll();
    throw e;
  }
}
