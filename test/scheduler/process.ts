// Runs the compiled scheduler (dist/scheduler/main.js) against an API server
// on a free metrics port, for integration tests and the benchmark.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, stopProcess, waitFor } from '../util/ports.js';
import { testPKI } from '../util/pki.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** From test/scheduler (vitest) or dist/test/scheduler (compiled): the same dist entry point. */
const main = path.join(repo.endsWith('dist') ? repo : path.join(repo, 'dist'), 'scheduler', 'main.js');

export interface SchedulerProcess {
  proc: ChildProcess;
  port: number;
  /** The last lines it logged, for failure messages. */
  logs(): string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A suite that throws before stop() must not leave schedulers behind.
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** nodeArgs go to node itself, e.g. --cpu-prof for the benchmark's profile. */
export async function startScheduler(master: string, extraArgs: string[] = [], nodeArgs: string[] = []): Promise<SchedulerProcess> {
  const port = await freePort();
  const kubeconfig = await (await testPKI()).kubeconfig(master, 'system:kube-scheduler');
  const proc = spawn(process.execPath, [...nodeArgs, main, `--kubeconfig=${kubeconfig}`, `--port=${port}`, ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SKIFF_LOG_LEVEL: process.env.SKIFF_LOG_LEVEL ?? 'warn' } });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let tail = '';
  proc.stderr!.on('data', (d) => { tail = (tail + d).slice(-8000); });
  const handle: SchedulerProcess = {
    proc,
    port,
    logs: () => tail,
    metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    stop: () => stopProcess(proc),
  };
  try {
    await waitFor('scheduler /healthz', async () => {
      if (proc.exitCode !== null) throw new Error(`scheduler exited: ${tail}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok;
    }, 20_000);
  } catch (e) {
    await handle.stop();
    throw e;
  }
  return handle;
}
