// Starts a real etcd (Debian etcd-server) on free loopback ports with a
// temporary data dir, for tests and benchmarks; stop() kills it and removes
// the directory.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, isAddressInUse, waitFor } from './ports.js';

export interface EtcdProcess {
  endpoint: string;
  dataDir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  /** Kill and start again on the same ports and data (for restart tests). */
  restart(): Promise<void>;
}

export async function startEtcd(opts: { quotaBytes?: number } = {}): Promise<EtcdProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-etcd-'));
  // Another suite can bind a port between our probe and etcd's bind; then
  // etcd exits at once and we try again on new ports.
  for (let attempt = 1; ; attempt++) {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const endpoint = `http://127.0.0.1:${clientPort}`;
    const args = [
      '--name', 'skiff-test',
      '--data-dir', dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `skiff-test=http://127.0.0.1:${peerPort}`,
      '--quota-backend-bytes', String(opts.quotaBytes ?? 4 * 1024 * 1024 * 1024),
      '--log-level', 'error',
    ];
    let proc: ChildProcess;
    try {
      proc = await launch(args, endpoint);
    } catch (e) {
      if (attempt < 5 && isAddressInUse(String(e))) {
        // A fresh directory: the failed start may have recorded its peer URL.
        fs.rmSync(dataDir, { recursive: true, force: true });
        fs.mkdirSync(dataDir);
        continue;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
    const handle: EtcdProcess = {
      endpoint,
      dataDir,
      proc,
      async stop() {
        await kill(handle.proc);
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
      async restart() {
        await kill(handle.proc);
        handle.proc = await launch(args, endpoint);
      },
    };
    return handle;
  }
}

const running = new Set<ChildProcess>();
// A suite that throws before stop() (a failing beforeAll) must not leave etcd behind.
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

async function launch(args: string[], endpoint: string): Promise<ChildProcess> {
  const proc = spawn(etcdBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let stderr = '';
  proc.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  try {
    await waitFor('etcd health', async () => {
      if (proc.exitCode !== null) throw new Error(`etcd exited: ${stderr}`);
      const r = await fetch(`${endpoint}/health`).catch(() => undefined);
      return r?.ok;
    }, 20_000);
  } catch (e) {
    // Never healthy: nobody will hold a handle to stop it.
    await kill(proc);
    throw e;
  }
  return proc;
}

async function kill(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

export function etcdBinary(): string {
  for (const p of ['/usr/bin/etcd', '/usr/local/bin/etcd']) if (fs.existsSync(p)) return p;
  return 'etcd';
}
