// Host networking helpers kube-proxy needs outside the rule sets.

import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { cidrContainsIP } from '../lib/ipv4.js';
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

/** Whether an IPv4 address lies in a CIDR (or equals a bare address); false for IPv6 on either side. */
export function cidrContains(cidr: string, ip: string): boolean {
  if (ip.includes(':') || cidr.includes(':')) return false;
  return cidrContainsIP(cidr.includes('/') ? cidr : `${cidr}/32`, ip);
}
