// Runs the real kubectl (the one on PATH) against a Skiff API server, with a
// kubeconfig of its own so the user's configuration is never read or changed.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeKubeconfig } from '../../client/kubeconfig.js';
import { testPKISync } from './pki.js';

export interface KubectlResult { code: number; stdout: string; stderr: string }

export class Kubectl {
  readonly kubeconfig: string;

  constructor(server: string, kubeconfig?: string) {
    if (kubeconfig) {
      this.kubeconfig = kubeconfig;
      return;
    }
    // As the cluster's admin (system:masters), verifying the server against the test CA.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kubectl-'));
    this.kubeconfig = path.join(dir, 'kubeconfig');
    const pki = testPKISync();
    writeKubeconfig(this.kubeconfig, { server, name: 'skiff', ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key });
  }

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    // A fresh cache dir per config keeps discovery from a previous server out of the picture.
    return { ...process.env, KUBECONFIG: this.kubeconfig, KUBECACHEDIR: path.join(path.dirname(this.kubeconfig), 'cache'), ...extra };
  }

  run(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile('kubectl', args, { env: this.env(opts.env), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
      if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
  }

  /** Runs and fails the test with kubectl's own output when it exits non-zero. */
  async ok(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  async json<T = any>(args: string[]): Promise<T> {
    return JSON.parse(await this.ok([...args, '-o', 'json'])) as T;
  }

  /** A long-running kubectl (get -w, logs -f, port-forward) whose output accumulates. */
  background(args: string[]): { proc: ChildProcess; output: () => string; stop: () => void } {
    const proc = spawn('kubectl', args, { env: this.env() });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    return { proc, output: () => out, stop: () => { proc.kill('SIGTERM'); } };
  }
}
