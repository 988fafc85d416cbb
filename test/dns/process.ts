// Runs the compiled cluster DNS (dist/dns/main.js) against an API server as
// its own identity, on loopback, for integration tests and the benchmark.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dnsGroups, dnsUser } from '../../dns/identity.js';
import { freePort, stopProcess, waitFor } from '../util/ports.js';
import { testPKI } from '../util/pki.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = path.join(repo.endsWith('dist') ? repo : path.join(repo, 'dist'), 'dns', 'main.js');

export interface DnsProcess {
  proc: ChildProcess;
  /** UDP and TCP port on 127.0.0.1. */
  port: number;
  metricsPort: number;
  logs(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startDns(master: string, extraArgs: string[] = []): Promise<DnsProcess> {
  const metricsPort = await freePort();
  const kubeconfig = await (await testPKI()).kubeconfig(master, dnsUser, dnsGroups);
  // Port 0 would hide the port from us: take a free one (UDP and TCP are bound together, retried by the test if taken).
  const port = await freePort();
  const proc = spawn(process.execPath, [main, `--kubeconfig=${kubeconfig}`, '--bind-address=127.0.0.1', `--port=${port}`, `--metrics-bind-address=127.0.0.1:${metricsPort}`, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SKIFF_LOG_LEVEL: process.env.SKIFF_LOG_LEVEL ?? 'info' },
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let tail = '';
  let serving = false;
  const onData = (d: Buffer) => {
    tail = (tail + d).slice(-8000);
    if (tail.includes('serving cluster DNS')) serving = true;
  };
  proc.stderr!.on('data', onData);
  proc.stdout!.on('data', onData);
  const handle: DnsProcess = {
    proc, port, metricsPort,
    logs: () => tail,
    stop: () => stopProcess(proc),
  };
  try {
    await waitFor('dns serving', () => {
      if (proc.exitCode !== null) throw new Error(`dns exited: ${tail}`);
      return serving;
    }, 20_000);
  } catch (e) {
    await handle.stop();
    throw e;
  }
  return handle;
}
