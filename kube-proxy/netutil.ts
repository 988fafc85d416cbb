// Host networking helpers kube-proxy needs outside the rule sets.

import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { logger } from '../lib/log.js';

const run = promisify(execFile);
const log = logger('kube-proxy');

/**
 * Route the service range to this host (`ip route replace local <cidr> dev lo
 * table local`): a ClusterIP is then never sent anywhere else, with or without
 * rules, and the userspace backend may bind ClusterIPs. Replacing is idempotent,
 * so every kube-proxy and `skiff up` may do it. --cleanup leaves it on purpose.
 */
export async function makeRangeLocal(cidr: string): Promise<void> {
  if (cidr.includes(':')) return;
  for (let attempt = 1; ; attempt++) {
    try {
      await run('ip', ['route', 'replace', 'local', cidr, 'dev', 'lo', 'table', 'local'], { timeout: 10_000 });
      return;
    } catch (e) {
      if (attempt >= 5) throw new Error(`could not make ${cidr} local: ${String((e as { stderr?: string }).stderr ?? e).trim()}`);
      log.warn('retrying ip route replace', { cidr, attempt });
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') out.push(a.address);
  return out;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
}

export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bitsStr] = cidr.split('/');
  const bits = Number(bitsStr ?? 32);
  if (ip.includes(':') || base.includes(':')) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipToInt(ip) & mask) === (ipToInt(base) & mask);
}
