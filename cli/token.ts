// `skiff token create|list|delete`: bootstrap tokens as kubeadm's `token`
// subcommands make them, Secrets bootstrap-token-<id> of type
// bootstrap.kubernetes.io/token in kube-system. A token lets a joining node
// authenticate as system:bootstrap:<id> (groups system:bootstrappers and
// system:bootstrappers:kubeadm:default-node-token) until it expires.

import crypto from 'node:crypto';
import { isNotFound } from '../api/errors.js';
import { R } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';
import type { Client } from '../client/interfaces.js';
import { bootstrapTokenPattern, bootstrapTokenSecretType } from '../api/auth.js';

export const defaultTokenGroups = ['system:bootstrappers:kubeadm:default-node-token'];
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

function random(n: number): string {
  // Rejection sampling keeps every character equally likely (36 does not divide 256).
  let out = '';
  while (out.length < n) {
    for (const b of crypto.randomBytes(n * 2)) {
      if (b < 252 && out.length < n) out += alphabet[b % 36];
    }
  }
  return out;
}

export function generateToken(): string {
  return `${random(6)}.${random(16)}`;
}

export interface TokenOptions { ttlSeconds: number; description?: string; groups?: string[]; token?: string }

export async function createToken(client: Client, o: TokenOptions): Promise<string> {
  const token = o.token ?? generateToken();
  const m = bootstrapTokenPattern.exec(token);
  if (!m) throw new Error(`token "${token}" does not match the pattern [a-z0-9]{6}.[a-z0-9]{16}`);
  const [, id, secret] = m;
  const data: Record<string, string> = {
    'token-id': id,
    'token-secret': secret,
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
    'auth-extra-groups': (o.groups ?? defaultTokenGroups).join(','),
  };
  if (o.ttlSeconds > 0) data.expiration = new Date(Date.now() + o.ttlSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  if (o.description) data.description = o.description;
  await client.resource(R.secrets, 'kube-system').create({
    apiVersion: 'v1', kind: 'Secret', type: bootstrapTokenSecretType,
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  } as KubeObject);
  return token;
}

export interface TokenRow { token: string; ttl: string; expires: string; usages: string; description: string; groups: string }

/** kubeadm token list: the secret part is never shown again, only `<id>.<16 stars>`. */
export async function listTokens(client: Client, now = Date.now()): Promise<TokenRow[]> {
  const list = await client.resource(R.secrets, 'kube-system').list({ fieldSelector: `type=${bootstrapTokenSecretType}` });
  const field = (s: KubeObject, k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString('utf8') : '');
  return list.items.map((s) => {
    const exp = field(s, 'expiration');
    const left = exp ? Math.max(0, Date.parse(exp) - now) : Infinity;
    return {
      token: `${field(s, 'token-id')}.****************`,
      ttl: left === Infinity ? '<forever>' : left === 0 ? '<invalid>' : formatTTL(left),
      expires: exp || '<never>',
      usages: Object.keys(s.data ?? {}).filter((k) => k.startsWith('usage-bootstrap-') && field(s, k) === 'true').map((k) => k.slice('usage-bootstrap-'.length)).join(','),
      description: field(s, 'description') || '<none>',
      groups: field(s, 'auth-extra-groups'),
    };
  });
}

function formatTTL(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  return h >= 1 ? `${h}h` : `${Math.max(1, Math.floor(ms / 60_000))}m`;
}

/** By token id or whole token. */
export async function deleteToken(client: Client, idOrToken: string): Promise<boolean> {
  const id = idOrToken.split('.')[0];
  if (!/^[a-z0-9]{6}$/.test(id)) throw new Error(`"${idOrToken}" is neither a token id ([a-z0-9]{6}) nor a token`);
  try {
    await client.resource(R.secrets, 'kube-system').delete(`bootstrap-token-${id}`);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
