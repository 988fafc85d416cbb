// kubeconfig files (clientcmd): the current context's cluster and user,
// resolved into what the REST client needs to connect. Components take
// --kubeconfig and --master (a server URL that overrides the file's).

import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

export interface ConnectionConfig {
  server: string;
  /** PEM; verify the server against it. */
  ca?: string;
  insecureSkipTLSVerify?: boolean;
  token?: string;
  /** PEM client certificate and key. */
  cert?: string;
  key?: string;
}

interface Named<T> { name: string; [k: string]: unknown; cluster?: T; user?: T; context?: T }
interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Named<{ server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string; 'insecure-skip-tls-verify'?: boolean }>[];
  users?: Named<{ token?: string; 'token-file'?: string; 'client-certificate-data'?: string; 'client-key-data'?: string; 'client-certificate'?: string; 'client-key'?: string }>[];
  contexts?: Named<{ cluster: string; user?: string; namespace?: string }>[];
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** Resolve a kubeconfig file's current (or the named) context. Relative file references are relative to the kubeconfig. */
export function loadKubeconfig(file: string, context?: string): ConnectionConfig {
  const doc = (yaml.load(fs.readFileSync(file, 'utf8')) ?? {}) as KubeconfigFile;
  const dir = path.dirname(file);
  const read = (p: string) => fs.readFileSync(path.resolve(dir, p), 'utf8');
  const ctxName = context ?? doc['current-context'];
  if (!ctxName) throw new Error(`${file}: no current-context`);
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`${file}: context "${ctxName}" not found`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`${file}: cluster "${ctx.cluster}" not found or has no server`);
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const out: ConnectionConfig = { server: cluster.server };
  if (cluster['certificate-authority-data']) out.ca = b64(cluster['certificate-authority-data']);
  else if (cluster['certificate-authority']) out.ca = read(cluster['certificate-authority']);
  if (cluster['insecure-skip-tls-verify']) out.insecureSkipTLSVerify = true;
  if (user.token) out.token = user.token;
  else if (user['token-file']) out.token = read(user['token-file']).trim();
  if (user['client-certificate-data']) out.cert = b64(user['client-certificate-data']);
  else if (user['client-certificate']) out.cert = read(user['client-certificate']);
  if (user['client-key-data']) out.key = b64(user['client-key-data']);
  else if (user['client-key']) out.key = read(user['client-key']);
  return out;
}

/**
 * What components do with their --kubeconfig and --master flags: --master
 * alone is enough; with both, --master overrides the file's server.
 */
export function connectionFromFlags(flags: { kubeconfig?: string; master?: string }): ConnectionConfig {
  if (flags.kubeconfig) {
    const cfg = loadKubeconfig(flags.kubeconfig);
    return flags.master ? { ...cfg, server: flags.master } : cfg;
  }
  if (flags.master) return { server: flags.master };
  throw new Error('one of --kubeconfig or --master is required');
}

/**
 * A kubeconfig with one cluster, user and context all called `name`, as
 * `skiff up` writes for kubectl and the components: the server verified
 * against `ca` (never insecure-skip-tls-verify), the user a client
 * certificate or a token, all embedded so the file stands alone.
 */
export function writeKubeconfig(file: string, opts: { server: string; name: string; ca?: string; cert?: string; key?: string; token?: string; namespace?: string }): void {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user: Record<string, string> = {};
  if (opts.cert) user['client-certificate-data'] = b64(opts.cert);
  if (opts.key) user['client-key-data'] = b64(opts.key);
  if (opts.token) user.token = opts.token;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': opts.name,
    clusters: [{ name: opts.name, cluster: { server: opts.server, ...(opts.ca ? { 'certificate-authority-data': b64(opts.ca) } : {}) } }],
    users: [{ name: opts.name, user }],
    contexts: [{ name: opts.name, context: { cluster: opts.name, user: opts.name, namespace: opts.namespace ?? 'default' } }],
    preferences: {},
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, yaml.dump(doc), { mode: 0o600 });
}
