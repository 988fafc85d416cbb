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

import { spawn } from 'node:child_process';
import { masqueradeMark } from '../lib/masquerade.js';
import type { NetBackend, Route, RuleSpec } from './backend.js';

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

interface IpRoute { dst: string; type?: string; gateway?: string }

interface Jump { table: 'filter' | 'nat'; chain: string; target: string }

function jumps(forwardFrom: string): Jump[] {
  return [{ table: 'filter', chain: forwardFrom, target: FORWARD_CHAIN }, { table: 'nat', chain: 'POSTROUTING', target: POSTROUTING_CHAIN }];
}

const jumpArgs = (j: Jump) => ['-m', 'comment', '--comment', comment, '-j', j.target];

export interface LinuxBackendOptions {
  /**
   * A network namespace (a name under /run/netns) to program instead of the
   * one the agent runs in: every command runs under `ip netns exec`. For an
   * agent that must reach the API server from the root namespace (tests).
   */
  netns?: string;
}

export class LinuxBackend implements NetBackend {
  constructor(private readonly o: LinuxBackendOptions = {}) {
    if (o.netns !== undefined && !/^[\w.-]+$/.test(o.netns)) throw new Error(`invalid network namespace name ${JSON.stringify(o.netns)}`);
  }

  /** Runs a command in the namespace; rejects with its stderr. */
  private cmd(bin: string, args: string[], input?: string): Promise<string> {
    const argv = this.o.netns ? ['netns', 'exec', this.o.netns, bin, ...args] : args;
    const file = this.o.netns ? 'ip' : bin;
    return new Promise((resolve, reject) => {
      const p = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.stdin.on('error', () => { /* reported through close */ });
      p.on('error', (e) => { clearTimeout(timer); reject(e); });
      p.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`${bin} ${args.join(' ')}: ${err.trim() || `exit ${code}`}`));
      });
      p.stdin.end(input ?? '');
    });
  }

  async listRoutes(): Promise<Route[]> {
    const list = JSON.parse((await this.cmd('ip', ['-j', 'route', 'show', 'table', 'main', 'proto', ROUTE_PROTO])) || '[]') as IpRoute[];
    return list.map((r) => (r.type === 'unreachable' ? { dst: r.dst, type: 'unreachable' } : { dst: r.dst, type: 'unicast', via: r.gateway }));
  }

  async replaceRoute(r: Route): Promise<void> {
    if (r.type === 'unreachable') await this.cmd('ip', ['route', 'replace', 'unreachable', r.dst, 'proto', ROUTE_PROTO]);
    else await this.cmd('ip', ['route', 'replace', r.dst, 'via', r.via!, 'proto', ROUTE_PROTO]);
  }

  async deleteRoute(r: Route): Promise<void> {
    try {
      await this.cmd('ip', ['route', 'del', ...(r.type === 'unreachable' ? ['unreachable'] : []), r.dst, 'proto', ROUTE_PROTO]);
    } catch (e) {
      if (!/No such process|not found/i.test((e as Error).message)) throw e;
    }
  }

  private async chainExists(table: string, chain: string): Promise<boolean> {
    try {
      await this.cmd('iptables', ['-w', '-t', table, '-S', chain]);
      return true;
    } catch (e) {
      // Only "no such chain" counts as gone; a busy or failing iptables is not evidence.
      if (/No chain|does not exist|incompatible/i.test((e as Error).message)) return false;
      throw e;
    }
  }

  async syncRules(spec: RuleSpec): Promise<void> {
    await this.cmd('iptables-restore', ['--noflush', '--wait'], ruleText(spec));
    // Docker's DOCKER-USER comes before Docker's own FORWARD rules, which would drop a new connection for a pod from another node.
    const from = (await this.chainExists('filter', 'DOCKER-USER')) ? 'DOCKER-USER' : 'FORWARD';
    for (const j of jumps(from)) await this.ensureJumpAhead(j);
  }

  /**
   * The jump exists, and ahead of any MASQUERADE or DROP in its chain. Docker
   * inserts its MASQUERADE of a bridge subnet at the top of POSTROUTING when
   * the network is made, which on a node is after the agent started (the
   * kubelet makes it once the Node has a pod CIDR): a jump that only exists
   * would then come too late, so it moves back to the top.
   */
  private async ensureJumpAhead(j: Jump): Promise<void> {
    const rules = (await this.cmd('iptables', ['-w', '-t', j.table, '-S', j.chain])).split('\n').filter((l) => l.startsWith('-A '));
    const ours = rules.findIndex((l) => l.endsWith(`-j ${j.target}`));
    const blocker = rules.findIndex((l) => / -j (MASQUERADE|DROP|REJECT)\b/.test(l));
    if (ours >= 0 && (blocker < 0 || ours < blocker)) return;
    if (ours >= 0) {
      for (let i = 0; i < 100; i++) {
        try {
          await this.cmd('iptables', ['-w', '-t', j.table, '-D', j.chain, ...jumpArgs(j)]);
        } catch {
          break;
        }
      }
    }
    await this.cmd('iptables', ['-w', '-t', j.table, '-I', j.chain, '1', ...jumpArgs(j)]);
  }

  async enableForwarding(): Promise<void> {
    if ((await this.cmd('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim() !== '1') await this.cmd('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  async cleanup(): Promise<void> {
    for (const r of await this.listRoutes()) await this.deleteRoute(r);
    for (const j of [...jumps('DOCKER-USER'), ...jumps('FORWARD')]) {
      // -D removes one copy; until none is left (or the chain is not there).
      for (let i = 0; i < 100; i++) {
        try {
          await this.cmd('iptables', ['-w', '-t', j.table, '-D', j.chain, ...jumpArgs(j)]);
        } catch {
          break;
        }
      }
    }
    for (const [table, chain] of [['filter', FORWARD_CHAIN], ['nat', POSTROUTING_CHAIN]] as const) {
      if (!(await this.chainExists(table, chain))) continue;
      await this.cmd('iptables', ['-w', '-t', table, '-F', chain]);
      await this.cmd('iptables', ['-w', '-t', table, '-X', chain]);
    }
  }
}
