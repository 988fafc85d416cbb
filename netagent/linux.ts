// The NetBackend on Linux: ip for routes, iptables for rules, in the network
// namespace the agent runs in (on a VM the host's; in a netns cluster the
// node's). Routes carry a protocol number of their own, so the agent finds
// and removes exactly what it made and never a route someone else added.
//
// The rules (kindnetd's and ip-masq-agent's shape):
//  filter: FORWARD (through Docker's DOCKER-USER when there is one, which
//    Docker's own FORWARD rules cannot precede) accepts traffic to and from
//    the cluster CIDR: Docker's FORWARD chain would otherwise drop a new
//    connection arriving from another node for a pod on its bridge.
//  nat: POSTROUTING, first, leaves pod-to-pod traffic untranslated, so the
//    receiving pod sees the sender's pod IP (Docker's MASQUERADE of its
//    bridge subnet would otherwise rewrite it to the node's address), and
//    masquerades what pods send out of the cluster CIDR. Packets kube-proxy
//    marked for masquerade (a hairpin, a NodePort) are left to kube-proxy.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { chainExists, ensureJumpRules, iptablesRestore, withHostLock } from '../kube-proxy/iptables/executor.js';
import { masqueradeMark } from '../kube-proxy/iptables/rules.js';
import type { JumpRule } from '../kube-proxy/iptables/rules.js';
import type { NetBackend, Route, RuleSpec } from './backend.js';

const run = promisify(execFile);

/** The rtnetlink protocol number marking the agent's routes (unassigned in /etc/iproute2/rt_protos). */
export const ROUTE_PROTO = '213';
export const FORWARD_CHAIN = 'SKIFF-NETAGENT-FORWARD';
export const POSTROUTING_CHAIN = 'SKIFF-NETAGENT-POSTROUTING';
const comment = 'skiff network agent';

/** The agent's chains as iptables-restore --noflush input: declaring a chain flushes it, so the text is the whole state. */
export function ruleText(spec: RuleSpec): string {
  const c = spec.clusterCIDR;
  const cm = ['-m', 'comment', '--comment', `"${comment}"`].join(' ');
  return [
    '*filter',
    `:${FORWARD_CHAIN} - [0:0]`,
    `-A ${FORWARD_CHAIN} -s ${c} ${cm} -j ACCEPT`,
    `-A ${FORWARD_CHAIN} -d ${c} ${cm} -j ACCEPT`,
    'COMMIT',
    '*nat',
    `:${POSTROUTING_CHAIN} - [0:0]`,
    `-A ${POSTROUTING_CHAIN} -m mark --mark ${masqueradeMark}/${masqueradeMark} ${cm} -j RETURN`,
    `-A ${POSTROUTING_CHAIN} -s ${c} -d ${c} ${cm} -j ACCEPT`,
    `-A ${POSTROUTING_CHAIN} -s ${c} ! -d ${c} ${cm} -j MASQUERADE`,
    'COMMIT',
    '',
  ].join('\n');
}

function jumps(forwardFrom: string): JumpRule[] {
  const j = (table: 'filter' | 'nat', chain: string, target: string): JumpRule => ({ table, chain, args: ['-m', 'comment', '--comment', comment, '-j', target] });
  return [j('filter', forwardFrom, FORWARD_CHAIN), j('nat', 'POSTROUTING', POSTROUTING_CHAIN)];
}

function stderrOf(e: unknown): string {
  return String((e as { stderr?: string }).stderr || (e as Error).message || e).trim();
}

async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { timeout: 30_000 })).stdout;
  } catch (e) {
    throw new Error(`ip ${args.join(' ')}: ${stderrOf(e)}`);
  }
}

interface IpRoute { dst: string; type?: string; gateway?: string }

export class LinuxBackend implements NetBackend {
  async listRoutes(): Promise<Route[]> {
    const list = JSON.parse((await ip('-j', 'route', 'show', 'table', 'main', 'proto', ROUTE_PROTO)) || '[]') as IpRoute[];
    return list.map((r) => (r.type === 'unreachable' ? { dst: r.dst, type: 'unreachable' } : { dst: r.dst, type: 'unicast', via: r.gateway }));
  }

  async replaceRoute(r: Route): Promise<void> {
    if (r.type === 'unreachable') await ip('route', 'replace', 'unreachable', r.dst, 'proto', ROUTE_PROTO);
    else await ip('route', 'replace', r.dst, 'via', r.via!, 'proto', ROUTE_PROTO);
  }

  async deleteRoute(r: Route): Promise<void> {
    try {
      await ip('route', 'del', ...(r.type === 'unreachable' ? ['unreachable'] : []), r.dst, 'proto', ROUTE_PROTO);
    } catch (e) {
      if (!/No such process|not found/i.test((e as Error).message)) throw e;
    }
  }

  async syncRules(spec: RuleSpec): Promise<void> {
    await iptablesRestore(ruleText(spec));
    const from = (await chainExists('filter', 'DOCKER-USER')) ? 'DOCKER-USER' : 'FORWARD';
    await ensureJumpRules(jumps(from));
  }

  async enableForwarding(): Promise<void> {
    if (fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  }

  async cleanup(): Promise<void> {
    for (const r of await this.listRoutes()) await this.deleteRoute(r);
    await withHostLock(async () => {
      for (const j of [...jumps('DOCKER-USER'), ...jumps('FORWARD')]) {
        // -D removes one copy; loop until none is left.
        for (;;) {
          try {
            await run('iptables', ['-w', '-t', j.table, '-D', j.chain, ...j.args], { timeout: 30_000 });
          } catch {
            break;
          }
        }
      }
      for (const [table, chain] of [['filter', FORWARD_CHAIN], ['nat', POSTROUTING_CHAIN]] as const) {
        if (!(await chainExists(table, chain))) continue;
        await run('iptables', ['-w', '-t', table, '-F', chain], { timeout: 30_000 });
        await run('iptables', ['-w', '-t', table, '-X', chain], { timeout: 30_000 });
      }
    });
  }
}
