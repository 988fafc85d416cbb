// kube-proxy --cleanup: remove every rule and chain kube-proxy ever made (with
// its --chain-prefix), in
// one transaction per table, then exit. Found from the kernel's own listing
// (not from memory), so it also removes what a crashed or older run left.
// The local route for the service range stays: ClusterIPs must never leave
// the machine, even with no kube-proxy running.

import { chainsIn, iptablesRestore, iptablesSave, withHostLock } from './iptables/executor.js';
import { defaultChainPrefix, type TableName } from './iptables/rules.js';

const builtin = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']);

/**
 * The restore text that removes every chain with our prefix (KUBE- unless
 * --chain-prefix says otherwise) and every jump to one from a built-in chain.
 * Other prefixes are other clusters' kube-proxies on this host: left alone.
 */
export function cleanupRestore(saves: Record<TableName, string>, chainPrefix: string = defaultChainPrefix): string {
  const out: string[] = [];
  const mine = `${chainPrefix}-`;
  for (const table of ['filter', 'nat'] as const) {
    const save = saves[table];
    const ours = chainsIn(save).filter((c) => c.startsWith(mine));
    const jumps = save.split('\n').filter((l) => {
      const m = /^-A (\S+) .*-j (\S+)\s*$/.exec(l);
      return m && builtin.has(m[1]) && m[2].startsWith(mine);
    });
    if (ours.length === 0 && jumps.length === 0) continue;
    out.push(`*${table}`);
    for (const c of ours) out.push(`:${c} - [0:0]`);
    for (const j of jumps) out.push('-D' + j.slice(2));
    for (const c of ours) out.push(`-X ${c}`);
    out.push('COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : '';
}

export async function cleanupLeftovers(chainPrefix: string = defaultChainPrefix): Promise<{ removedChains: number }> {
  return withHostLock(async () => {
    const saves = { filter: await iptablesSave('filter'), nat: await iptablesSave('nat') };
    const text = cleanupRestore(saves, chainPrefix);
    await iptablesRestore(text);
    return { removedChains: text.split('\n').filter((l) => l.startsWith('-X ')).length };
  });
}
