// One PKI per test process, made with the same code as `skiff up`
// (cli/pki.ts): a CA, the API server's serving certificate, the
// ServiceAccount signing key, and client certificates for any identity on
// demand. Its files live in a temp dir removed when the process exits.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issue, type KeyPair } from '../../lib/pki.js';
import { ensureClusterPKI } from '../../cli/pki.js';
import { Agent } from 'undici';
import { writeKubeconfig, type ConnectionConfig } from '../../client/kubeconfig.js';

export interface TestPKI {
  dir: string;
  ca: KeyPair;
  caFile: string;
  /** The API server's serving pair (SANs 127.0.0.1, localhost, kubernetes.default.svc...). */
  serving: { certFile: string; keyFile: string };
  /** The API server's client certificate for kubelets (kube-apiserver-kubelet-client, bound to system:kubelet-api-admin). */
  kubeletClient: { certFile: string; keyFile: string };
  /** ServiceAccount token keys. */
  saKeyFile: string;
  saPubFile: string;
  /** system:masters. */
  admin: KeyPair;
  /** A client certificate for the identity, cached. */
  client(user: string, groups?: string[]): Promise<KeyPair>;
  /** A ConnectionConfig for `server` as that identity. */
  connection(server: string, user: string, groups?: string[]): Promise<ConnectionConfig>;
  /** A kubeconfig file for `server` as that identity (one file per identity and server). */
  kubeconfig(server: string, user: string, groups?: string[]): Promise<string>;
}

let pending: Promise<TestPKI> | undefined;
let made: TestPKI | undefined;

export function testPKI(): Promise<TestPKI> {
  pending ??= make().then((p) => (made = p));
  return pending;
}

/** The PKI once testPKI() has resolved (the integration setup file awaits it before any test runs). */
export function testPKISync(): TestPKI {
  if (!made) throw new Error('testPKI() has not resolved yet: is test/util/setup.ts the setup file?');
  return made;
}

async function make(): Promise<TestPKI> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-pki-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  // The same files `skiff up` makes, from the same code.
  const { ca, caFile, apiserver: serving, kubeletClient, saKeyFile, saPubFile } = await ensureClusterPKI(dir, { advertise: [], serviceIP: '10.96.0.1' });
  const admin = await issue(ca, { cn: 'kubernetes-admin', o: ['system:masters'], usage: 'client' });
  const clients = new Map<string, Promise<KeyPair>>([['kubernetes-admin|system:masters', Promise.resolve(admin)]]);
  const client = (user: string, groups: string[] = []) => {
    const k = `${user}|${groups.join(',')}`;
    if (!clients.has(k)) clients.set(k, issue(ca, { cn: user, o: groups, usage: 'client' }));
    return clients.get(k)!;
  };
  let files = 0;
  return {
    dir, ca, caFile, serving, kubeletClient, saKeyFile, saPubFile, admin, client,
    async connection(server, user, groups) {
      const c = await client(user, groups);
      return { server, ca: ca.cert, cert: c.cert, key: c.key };
    },
    async kubeconfig(server, user, groups) {
      const c = await client(user, groups);
      const file = path.join(dir, `kubeconfig-${++files}`);
      writeKubeconfig(file, { server, name: 'skiff', ca: ca.cert, cert: c.cert, key: c.key });
      return file;
    },
  };
}

/**
 * An undici dispatcher for fetch({ dispatcher }) as this connection's
 * identity: its client certificate if it has one, none otherwise (token or
 * anonymous callers put their own Authorization header on the request).
 */
export function tlsDispatcher(conn: Pick<ConnectionConfig, 'ca' | 'cert' | 'key'>): import('undici').Dispatcher {
  return new Agent({ connect: { ca: conn.ca, cert: conn.cert, key: conn.key } });
}
