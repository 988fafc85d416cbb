// Starts the compiled API server (dist/apiserver/main.js) on a free loopback
// port against a real etcd (its own unless one is given), waits for /readyz,
// and stops everything it started, for integration tests and benchmarks.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd, type EtcdProcess } from './etcd.js';
import { freePort, isAddressInUse, waitFor } from './ports.js';
import { apiServerNodeFlags } from '../../apiserver/nodeflags.js';
import type { ConnectionConfig } from '../../client/kubeconfig.js';
import { testPKI, tlsDispatcher } from './pki.js';

/** The repository root, from test/util or from its compiled copy in dist/test/util. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const repo = repoRoot();
const mainJs = path.join(repo, 'dist', 'apiserver', 'main.js');
/** The issuer (and so the API audience) of ServiceAccount tokens, as kubeadm names it. */
export const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

export interface ApiServerOptions {
  /** An etcd endpoint to use; when absent a private etcd is started (and stopped with the server). */
  etcd?: string;
  serviceClusterIpRange?: string;
  serviceNodePortRange?: string;
  /**
   * Serve ServiceAccount tokens as `skiff up` does: --service-account-issuer, the test PKI's sa.key / sa.pub.
   * Opt-in for now: it also turns on the ServiceAccount admission plugin, which refuses pods until a
   * controller-manager has made their namespace's default ServiceAccount.
   */
  serviceAccounts?: boolean;
  /** Extra flags for main.js. */
  args?: string[];
  env?: Record<string, string>;
  /** Flags for node itself, before the script (--cpu-prof for the benchmarks' profiles). */
  nodeFlags?: string[];
}

export interface ApiServerProcess {
  /** https://127.0.0.1:<port>: the server speaks TLS only. */
  url: string;
  port: number;
  /** The test CA the server's certificate is signed by. */
  caFile: string;
  /** system:masters, as the admin kubeconfig of `skiff up`. */
  admin: ConnectionConfig;
  /** A client certificate connection for any identity (signed by the test CA). */
  connectionFor(user: string, groups?: string[]): Promise<ConnectionConfig>;
  /** A kubeconfig file for that identity. */
  kubeconfigFor(user: string, groups?: string[]): Promise<string>;
  proc: ChildProcess;
  /** The etcd in use: the one passed in, or the private one. */
  etcdEndpoint: string;
  /** Set when startApiServer started etcd itself. */
  etcd?: EtcdProcess;
  /** Last lines of the server's stderr, for assertion messages. */
  logs(): string;
  stop(): Promise<void>;
  /** Kill the process and start it again on the same port and etcd. */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A test that throws before stop() must not leave servers behind.
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServerProcess> {
  const etcd = opts.etcd ? undefined : await startEtcd();
  const endpoint = opts.etcd ?? etcd!.endpoint;
  const pki = await testPKI();
  const adminDispatcher = tlsDispatcher({ ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key });
  let port = await freePort();
  let url = `https://127.0.0.1:${port}`;
  const args = [
    ...apiServerNodeFlags,
    ...(opts.nodeFlags ?? []),
    mainJs,
    `--etcd-servers=${endpoint}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.serving.certFile}`,
    `--tls-private-key-file=${pki.serving.keyFile}`,
    `--client-ca-file=${pki.caFile}`,
    `--kubelet-client-certificate=${pki.kubeletClient.certFile}`, `--kubelet-client-key=${pki.kubeletClient.keyFile}`, `--kubelet-certificate-authority=${pki.caFile}`,
    `--service-cluster-ip-range=${opts.serviceClusterIpRange ?? '10.96.0.0/12'}`,
    `--service-node-port-range=${opts.serviceNodePortRange ?? '30000-32767'}`,
    '--etcd-prefix=/registry',
    // Run whole suites against other server flags (SKIFF_APISERVER_ARGS="--workers=2"); a test's own args win.
    ...(process.env.SKIFF_APISERVER_ARGS?.split(/\s+/).filter(Boolean) ?? []),
    ...(opts.serviceAccounts ? [`--service-account-issuer=${serviceAccountIssuer}`, `--service-account-key-file=${pki.saPubFile}`, `--service-account-signing-key-file=${pki.saKeyFile}`] : []),
    ...(opts.args ?? []),
  ];
  let stderr = '';
  const launch = async (): Promise<ChildProcess> => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    proc.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-20_000); });
    // Fail at once when the process dies instead of polling until the timeout.
    const exited = new Promise<never>((_, reject) => {
      proc.once('exit', (code) => reject(new Error(`apiserver exited with ${code}: ${stderr.slice(-4000)}`)));
    });
    exited.catch(() => {});
    const ready = async () => {
      // Its own dispatcher: benches use this harness outside vitest's setup file.
      const init = { dispatcher: adminDispatcher } as RequestInit;
      await waitFor('API server /readyz', async () => (await fetch(`${url}/readyz`, init).catch(() => undefined))?.ok, 30_000);
      // Ready means storage answers; the system namespaces follow right after.
      await waitFor('namespace default', async () => (await fetch(`${url}/api/v1/namespaces/default`, init).catch(() => undefined))?.ok, 30_000);
    };
    try {
      await Promise.race([ready(), exited]);
    } catch (e) {
      await kill(proc);
      throw e;
    }
    return proc;
  };
  const kill = async (proc: ChildProcess) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };
  let proc: ChildProcess;
  for (let attempt = 1; ; attempt++) {
    try {
      proc = await launch();
      break;
    } catch (e) {
      // Another suite bound the port between our probe and the server's listen.
      if (attempt < 5 && isAddressInUse(String(e))) {
        port = await freePort();
        url = `https://127.0.0.1:${port}`;
        args[args.findIndex((a) => a.startsWith('--secure-port='))] = `--secure-port=${port}`;
        stderr = '';
        continue;
      }
      await etcd?.stop();
      throw e;
    }
  }
  const handle: ApiServerProcess = {
    url,
    port,
    caFile: pki.caFile,
    admin: { server: url, ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key },
    connectionFor: (user, groups) => pki.connection(url, user, groups),
    kubeconfigFor: (user, groups) => pki.kubeconfig(url, user, groups),
    proc,
    etcdEndpoint: endpoint,
    etcd,
    logs: () => stderr,
    async stop() {
      await kill(handle.proc);
      await etcd?.stop();
    },
    async restart() {
      await kill(handle.proc);
      handle.proc = await launch();
    },
  };
  return handle;
}
