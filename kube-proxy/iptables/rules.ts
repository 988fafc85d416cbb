// Kubernetes' iptables proxier as a pure function: the service map in,
// iptables-restore text out (pkg/proxy/iptables/proxier.go). Chains and
// comments are named as kube names them, so `iptables-save` reads the same.
// Differences from kube, on purpose: endpoints are chosen with the statistic
// match in nth mode (strict round robin: rule i of n takes every (n-i)th new
// connection that reaches it) instead of random probabilities, and the rules
// never mention the node, so every kube-proxy on one host writes the same set.
// Every chain name starts with a prefix, kube's KUBE unless --chain-prefix
// gives a cluster its own, so clusters sharing a kernel do not collide.

import { hash } from 'node:crypto';
import { masqueradeMark } from '../../lib/masquerade.js';
import type { ServicePortInfo } from '../backend.js';

/** Kube's own chain prefix, and the default. */
export const defaultChainPrefix = 'KUBE';

/**
 * The top-level chains for one chain prefix. Kube's are KUBE-SERVICES and so
 * on; a cluster that shares its kernel with another gets its own prefix
 * (--chain-prefix), so that neither rewrites, flushes or deletes the other's.
 */
export function chainNames(prefix: string = defaultChainPrefix) {
  return {
    services: `${prefix}-SERVICES`,
    externalServices: `${prefix}-EXTERNAL-SERVICES`,
    nodePorts: `${prefix}-NODEPORTS`,
    postrouting: `${prefix}-POSTROUTING`,
    markMasq: `${prefix}-MARK-MASQ`,
    forward: `${prefix}-FORWARD`,
    firewall: `${prefix}-FIREWALL`,
    /** Empty; its disappearance tells kube-proxy that someone flushed its rules (kube's KUBE-PROXY-CANARY). */
    canary: `${prefix}-PROXY-CANARY`,
  };
}

/**
 * Longest prefix: KUBE-SVC-<16 characters> is 25 of the 28 characters
 * iptables allows in a chain name, and the prefix replaces KUBE's 4.
 */
export const maxChainPrefixLength = 7;

export function validChainPrefix(prefix: string): boolean {
  return new RegExp(`^[A-Z][A-Z0-9]{0,${maxChainPrefixLength - 1}}$`).test(prefix);
}

/**
 * The prefix `skiff up` gives a cluster's kube-proxies: kube's own for the
 * default cluster, otherwise K and six characters of a hash of the name, so
 * that clusters side by side on one host keep apart.
 */
export function chainPrefixForCluster(name: string): string {
  return name === 'skiff' ? defaultChainPrefix : 'K' + hash16(`cluster/${name}`).slice(0, 6);
}

export type TableName = 'filter' | 'nat';

/** Chains of one table, in writing order, each with its complete rule lines. */
export type Chains = Map<string, string[]>;
export interface RuleSet {
  filter: Chains;
  nat: Chains;
  /** Whose chains these are: a full sync deletes stale service chains with this prefix only. */
  chainPrefix: string;
}

export interface RuleOptions {
  /** --cluster-cidr: traffic to a ClusterIP from outside it is masqueraded. */
  clusterCIDR?: string;
  /** --masquerade-all. */
  masqueradeAll?: boolean;
  /** --nodeport-addresses: CIDRs whose local addresses serve NodePorts; empty means every local address. */
  nodePortAddresses?: string[];
  /** --chain-prefix (KUBE unless set). */
  chainPrefix?: string;
}

/** A rule in a built-in chain that sends traffic to one of ours (kube's iptablesJumpChains). */
export interface JumpRule {
  table: TableName;
  chain: string;
  args: string[];
}

const newConn = ['-m', 'conntrack', '--ctstate', 'NEW'];
function jump(table: TableName, chain: string, target: string, comment: string, extra: string[] = []): JumpRule {
  return { table, chain, args: [...extra, '-m', 'comment', '--comment', comment, '-j', target] };
}

/** Inserted first in each built-in chain so that Docker's rules (also matching local destinations) never see a ClusterIP first. */
export function jumpRulesFor(prefix: string = defaultChainPrefix): JumpRule[] {
  const c = chainNames(prefix);
  return [
    jump('filter', 'INPUT', c.externalServices, 'kubernetes externally-visible service portals', newConn),
    jump('filter', 'FORWARD', c.externalServices, 'kubernetes externally-visible service portals', newConn),
    jump('filter', 'INPUT', c.nodePorts, 'kubernetes health check service ports'),
    jump('filter', 'FORWARD', c.services, 'kubernetes service portals', newConn),
    jump('filter', 'OUTPUT', c.services, 'kubernetes service portals', newConn),
    jump('filter', 'FORWARD', c.forward, 'kubernetes forwarding rules'),
    { table: 'filter', chain: 'INPUT', args: ['-j', c.firewall] },
    jump('nat', 'OUTPUT', c.services, 'kubernetes service portals'),
    jump('nat', 'PREROUTING', c.services, 'kubernetes service portals'),
    jump('nat', 'POSTROUTING', c.postrouting, 'kubernetes postrouting rules'),
  ];
}

export const jumpRules: JumpRule[] = jumpRulesFor();

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The first 16 characters of the base32 of a sha256: its first 10 bytes are exactly 80 bits, 16 characters. */
function base32Prefix16(digest: Buffer): string {
  let out = '';
  for (let i = 0; i < 10; i += 5) {
    // Five bytes are 40 bits, eight characters; two 20-bit halves stay within 32-bit integer arithmetic.
    const hi = (digest[i] << 12) | (digest[i + 1] << 4) | (digest[i + 2] >>> 4);
    const lo = ((digest[i + 2] & 15) << 16) | (digest[i + 3] << 8) | digest[i + 4];
    out += base32Alphabet[hi >>> 15] + base32Alphabet[(hi >>> 10) & 31] + base32Alphabet[(hi >>> 5) & 31] + base32Alphabet[hi & 31]
      + base32Alphabet[lo >>> 15] + base32Alphabet[(lo >>> 10) & 31] + base32Alphabet[(lo >>> 5) & 31] + base32Alphabet[lo & 31];
  }
  return out;
}

// Every sync rebuilds every chain name; a sha256 per endpoint was a sixth of a 10,000-endpoint sync. The first sync
// has nothing cached, so the hash itself is the one-shot crypto.hash (no Hash object per name).
const hashMemo = new Map<string, string>();
function hash16(s: string): string {
  let h = hashMemo.get(s);
  if (h === undefined) {
    if (hashMemo.size >= 200_000) hashMemo.clear();
    h = base32Prefix16(hash('sha256', s, 'buffer'));
    hashMemo.set(s, h);
  }
  return h;
}

/** kube's portProtoHash: the same service port gets the same chain on every node and across restarts. */
export function serviceChain(prefix: string, name: string, protocol: string): string {
  return prefix + hash16(name + protocol.toLowerCase());
}

export function endpointChain(name: string, protocol: string, endpoint: string, chainPrefix: string = defaultChainPrefix): string {
  return `${chainPrefix}-SEP-` + hash16(name + protocol.toLowerCase() + endpoint);
}

/** Quote as iptables-restore tokenizes: double quotes around anything with a space. */
function q(s: string): string {
  return /[\s"]/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : s;
}

export function buildRules(ports: readonly ServicePortInfo[], opts: RuleOptions = {}): RuleSet {
  const b = buildRulesStepwise(ports, opts, Infinity);
  for (const _ of b.steps) { /* every step */ }
  return b.rules;
}

/** buildRules a few service ports at a time, so that a full sync can stream their rules while it builds the next. */
export interface RuleBuilder {
  /** Filled as the steps are taken: complete once they are exhausted. */
  rules: RuleSet;
  /** Each step builds the next service ports' chains, complete, and yields their names in order; the last also finishes the top-level chains. */
  steps: Iterable<string[]>;
}

export function buildRulesStepwise(ports: readonly ServicePortInfo[], opts: RuleOptions = {}, portsPerStep = 100): RuleBuilder {
  const filter: Chains = new Map();
  const nat: Chains = new Map();
  const prefix = opts.chainPrefix ?? defaultChainPrefix;
  const c = chainNames(prefix);
  for (const x of [c.services, c.externalServices, c.nodePorts, c.forward, c.firewall]) filter.set(x, []);
  for (const x of [c.services, c.nodePorts, c.postrouting, c.markMasq, c.canary]) nat.set(x, []);

  // Kube's "large cluster mode": past 1,000 endpoints the per-endpoint rules go without comments, which makes the
  // rule set much smaller and its restore faster (appendServiceCommentLocked in pkg/proxy/iptables/proxier.go).
  let totalEndpoints = 0;
  for (const sp of ports) totalEndpoints += sp.endpoints.length;
  const largeCluster = totalEndpoints > largeClusterEndpointsThreshold;

  const f = (chain: string, ...rule: string[]) => filter.get(chain)!.push(`-A ${chain} ${rule.join(' ')}`);
  const n = (chain: string, ...rule: string[]) => {
    if (!nat.has(chain)) nat.set(chain, []);
    nat.get(chain)!.push(`-A ${chain} ${rule.filter(Boolean).join(' ')}`);
  };

  f(c.forward, '-m comment --comment', q('kubernetes forwarding rules'), `-m mark --mark ${masqueradeMark}/${masqueradeMark}`, '-j ACCEPT');
  f(c.forward, '-m comment --comment', q('kubernetes forwarding conntrack rule'), '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  // route_localnet lets NodePorts answer on 127.0.0.1; this keeps anything from outside the host from reaching loopback services through it.
  f(c.firewall, '-m comment --comment', q('block incoming localnet connections'), '-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP');

  n(c.postrouting, `-m mark ! --mark ${masqueradeMark}/${masqueradeMark} -j RETURN`);
  // Clear the mark so a packet re-traversing (after IPsec, say) is not masqueraded again.
  n(c.postrouting, `-j MARK --xor-mark ${masqueradeMark}`);
  // --random-fully as kube (kubernetes#76699: without it, flows starting together race for one source port and all but
  // one lose packets). Its known cost on kernels whose TCP timestamp offset covers the ports: a random translated tuple
  // the pod still holds in TIME-WAIT, from a client whose timestamps ran on another offset, has its SYN answered with
  // an ACK and retried 2 jiffies later (bench:proxy counts these as the pod's PAWSTimewait); a kernel matter, kept.
  n(c.postrouting, '-m comment --comment', q('kubernetes service traffic requiring SNAT'), '-j MASQUERADE --random-fully');
  n(c.markMasq, `-j MARK --or-mark ${masqueradeMark}`);

  function* steps(): Generator<string[]> {
    let batch: string[] = [];
    let inBatch = 0;
    for (const sp of ports) {
      if (inBatch++ === portsPerStep) {
        yield batch;
        batch = [];
        inBatch = 1;
      }
      const proto = sp.protocol.toLowerCase();
      const m = `-m ${proto} -p ${proto}`;
      if (sp.endpoints.length === 0) {
        // As kube: no DNAT, and a REJECT so clients fail at once instead of timing out.
        f(c.services, '-m comment --comment', q(`${sp.name} has no endpoints`), m, `-d ${sp.clusterIP} --dport ${sp.port}`, '-j REJECT');
        if (sp.nodePort) f(c.externalServices, '-m comment --comment', q(`${sp.name} has no endpoints`), '-m addrtype --dst-type LOCAL', m, `--dport ${sp.nodePort}`, '-j REJECT');
        continue;
      }
      const svc = serviceChain(`${prefix}-SVC-`, sp.name, sp.protocol);
      const clusterComment = q(`${sp.name} cluster IP`);
      n(c.services, '-m comment --comment', clusterComment, m, `-d ${sp.clusterIP} --dport ${sp.port}`, `-j ${svc}`);

      if (sp.nodePort) {
        const ext = serviceChain(`${prefix}-EXT-`, sp.name, sp.protocol);
        n(c.nodePorts, '-m comment --comment', q(sp.name), m, `--dport ${sp.nodePort}`, `-j ${ext}`);
        // externalTrafficPolicy Cluster: the endpoint may be anywhere, so replies must come back through this host.
        n(ext, '-m comment --comment', q(`masquerade traffic for ${sp.name} external destinations`), `-j ${c.markMasq}`);
        n(ext, `-j ${svc}`);
        batch.push(ext);
      }

      if (!nat.has(svc)) {
        nat.set(svc, []);
        batch.push(svc);
      }
      if (opts.masqueradeAll) {
        n(svc, '-m comment --comment', clusterComment, m, `-d ${sp.clusterIP} --dport ${sp.port}`, `-j ${c.markMasq}`);
      } else if (opts.clusterCIDR) {
        n(svc, '-m comment --comment', clusterComment, m, `-d ${sp.clusterIP} --dport ${sp.port}`, `! -s ${opts.clusterCIDR}`, `-j ${c.markMasq}`);
      }
      // The per-endpoint rules are most of the text: built as whole strings, without the helpers' argument arrays.
      const svcRules = nat.get(svc)!;
      const sepComment = largeCluster ? '' : `-m comment --comment ${q(sp.name)} `;
      const eps = sp.endpoints;
      const seps: string[] = new Array(eps.length);
      const epStrs: string[] = new Array(eps.length);
      for (let i = 0; i < eps.length; i++) {
        const ep = `${eps[i].ip}:${eps[i].port}`;
        epStrs[i] = ep;
        seps[i] = endpointChain(sp.name, sp.protocol, ep, prefix);
      }
      const svcComment = (i: number) => (largeCluster ? '' : `-m comment --comment ${q(`${sp.name} -> ${epStrs[i]}`)} `);
      if (sp.affinitySeconds > 0) {
        for (let i = 0; i < eps.length; i++) svcRules.push(`-A ${svc} ${svcComment(i)}-m recent --name ${seps[i]} --rcheck --seconds ${sp.affinitySeconds} --reap -j ${seps[i]}`);
      }
      for (let i = 0; i < eps.length; i++) {
        const left = eps.length - i;
        const pick = left > 1 ? `-m statistic --mode nth --every ${left} --packet 0 ` : '';
        svcRules.push(`-A ${svc} ${svcComment(i)}${pick}-j ${seps[i]}`);
      }
      for (let i = 0; i < eps.length; i++) {
        const sep = seps[i];
        const recent = sp.affinitySeconds > 0 ? `-m recent --name ${sep} --set ` : '';
        // Hairpin: a pod reaching itself through its Service must see the reply come from the Service.
        const masq = `-A ${sep} ${sepComment}-s ${eps[i].ip} -j ${c.markMasq}`;
        const dnat = `-A ${sep} ${sepComment}${recent}${m} -j DNAT --to-destination ${epStrs[i]}`;
        const rules = nat.get(sep);
        if (rules) rules.push(masq, dnat);
        else {
          nat.set(sep, [masq, dnat]);
          batch.push(sep);
        }
      }
    }

    // Must stay last: NodePorts match any local destination, ClusterIPs included.
    const nodePortComment = q('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
    const addrs = opts.nodePortAddresses ?? [];
    if (addrs.length === 0 || addrs.some((a) => a === '0.0.0.0/0')) {
      n(c.services, '-m comment --comment', nodePortComment, '-m addrtype --dst-type LOCAL', `-j ${c.nodePorts}`);
    } else {
      for (const cidr of addrs) n(c.services, '-m comment --comment', nodePortComment, `-d ${cidr}`, `-j ${c.nodePorts}`);
    }
    yield batch;
  }
  return { rules: { filter, nat, chainPrefix: prefix }, steps: { [Symbol.iterator]: steps } };
}

/** Chains that belong to one service port or endpoint: the ones a sync may delete. */
export function isServiceChain(name: string, chainPrefix: string = defaultChainPrefix): boolean {
  return name.startsWith(`${chainPrefix}-`) && /^(SVC|SEP|EXT|SVL|FW)-/.test(name.slice(chainPrefix.length + 1));
}

/**
 * Declared chains in one table block from which renderRestore starts the
 * block with a chainless `-S`. iptables-nft (1.8.x) records every chain a
 * restore command names in a sorted linked list (nft-cache.c,
 * cache_chain_list_insert) so that it fetches only those chains: each command
 * walks that list, which makes a restore of kube's full rule set quadratic
 * (1,000 Services x 10 endpoints: 11,000 chains, 42,000 commands, ~7 s of
 * strcmp). A command without a chain makes it fetch the whole table instead
 * and stop keeping the list. `-S` is the only such command that changes
 * nothing (-F, -X and -Z without a chain would touch Docker's rules); it
 * prints the table as it was, to iptables-restore's stdout, which we discard.
 * That costs about one iptables-save, so small (partial) syncs go without;
 * a full sync's nat block always lists, since the number of stale chains it
 * deletes is known only after its head has been written.
 */
export const listFirstChains = 500;

/** Kube's largeClusterEndpointsThreshold. */
export const largeClusterEndpointsThreshold = 1000;

/**
 * The jump rules that iptables-save output (one table's, or several
 * concatenated) lacks. A jump counts as present when its built-in chain has a
 * rule jumping to its target with its comment, wherever it stands, as kube's
 * EnsureRule (-C) only asks whether the rule exists.
 */
export function missingJumps(save: string, rules: readonly JumpRule[] = jumpRules): JumpRule[] {
  const present = new Set<string>();
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    const m = /^-A (\S+) (.*)-j (\S+)\s*$/.exec(line);
    if (m) present.add(`${table} ${m[1]} ${m[3]} ${/--comment (".*?(?<!\\)"|\S+)/.exec(m[2])?.[1]?.replace(/^"|"$/g, '') ?? ''}`);
  }
  return rules.filter((j) => {
    const comment = j.args.includes('--comment') ? j.args[j.args.indexOf('--comment') + 1] : '';
    return !present.has(`${j.table} ${j.chain} ${j.args[j.args.length - 1]} ${comment}`);
  });
}

export interface RenderOptions {
  /** What the last successful sync wrote: unchanged chains are left alone. Absent means a full sync. */
  previous?: RuleSet;
  /** Overrides listFirstChains (0 always lists, Infinity never: the bench measures both). */
  listFirstChains?: number;
}

export interface LateState {
  /** Chains present in the kernel (from iptables-save), for a full sync to remove stale ones. */
  existing?: { filter: string[]; nat: string[] };
  /** Jump rules to insert at the top of their built-in chains, in a last block per table (after our chains exist). */
  jumps?: readonly JumpRule[];
}

/** renderRestore's text in two parts, so that iptables-restore can parse the bulk while the kernel is still being read. */
export interface RestoreParts {
  /** What depends only on the desired rules and the previous sync, in chunks of about 64 KiB, built as they are taken. */
  head: Iterable<string>;
  /** The rest, once the kernel's chains and jumps are known (call after head is consumed). */
  tail(late?: LateState): string;
}

const chunkChars = 64 * 1024;

/**
 * iptables-restore --noflush input. Declaring a chain flushes it, so only
 * chains whose rules changed are declared and rewritten: an untouched
 * KUBE-SVC chain keeps its nth counters, and round robin stays exact across
 * syncs. Stale service chains are flushed and deleted in the same transaction
 * that drops the last jump to them, after the rules that no longer jump
 * there. The nat block comes first, as it is the big one and the only one
 * whose stale chains depend on the kernel: everything up to them can be
 * written while iptables-save still runs. Given the steps of a
 * buildRulesStepwise (a full sync), the head takes them as it goes, so that
 * iptables-restore parses one batch of service chains while the next is built.
 */
export function restoreParts(desired: RuleSet, opts: RenderOptions = {}, building?: Iterable<string[]>): RestoreParts {
  const threshold = opts.listFirstChains ?? listFirstChains;
  const prefix = desired.chainPrefix;
  /** Chains whose rules differ from the previous sync's; undefined on a full sync, where every chain is written. */
  const changedIn = (table: TableName): Set<string> | undefined => {
    const prev = opts.previous?.[table];
    if (!prev) return undefined;
    const out = new Set<string>();
    for (const [chain, rules] of desired[table]) {
      const before = prev.get(chain);
      if (!before || before.length !== rules.length || before.some((r, i) => r !== rules[i])) out.add(chain);
    }
    return out;
  };
  const staleIn = (table: TableName, existing: Iterable<string>): string[] => {
    const out: string[] = [];
    for (const chain of existing) if (!desired[table].has(chain) && isServiceChain(chain, prefix)) out.push(chain);
    return out;
  };
  const natChanged = changedIn('nat');
  const natStale = staleIn('nat', opts.previous?.nat.keys() ?? []);
  let natOpen = false;

  function* head(): Generator<string> {
    const nat = desired.nat;
    const write = (chain: string) => !natChanged || natChanged.has(chain);
    let list = threshold !== Infinity;
    if (natChanged) {
      if (natChanged.size === 0 && natStale.length === 0) return;
      list = natChanged.size + natStale.length >= threshold;
    }
    natOpen = true;
    // The top-level chains first (they exist before any service's are built) and their rules last: a rule may jump
    // only to a chain declared before it, and KUBE-SERVICES is complete only once every service port is.
    const top = [...nat.keys()].filter((c) => !isServiceChain(c, prefix) && write(c));
    let buf = '*nat\n' + (list ? '-S\n' : '');
    for (const chain of top) buf += `:${chain} - [0:0]\n`;
    for (const step of building ?? [[...nat.keys()].filter((c) => isServiceChain(c, prefix))]) {
      const chains = natChanged ? step.filter(write) : step;
      for (const chain of chains) {
        buf += `:${chain} - [0:0]\n`;
        if (buf.length >= chunkChars) { yield buf; buf = ''; }
      }
      for (const chain of chains) {
        for (const rule of nat.get(chain)!) buf += rule + '\n';
        if (buf.length >= chunkChars) { yield buf; buf = ''; }
      }
    }
    for (const chain of top) for (const rule of nat.get(chain)!) buf += rule + '\n';
    if (buf) yield buf;
  }

  function tail(late: LateState = {}): string {
    const out: string[] = [];
    const stale = new Set(natStale);
    if (!opts.previous) for (const chain of staleIn('nat', late.existing?.nat ?? [])) stale.add(chain);
    const natStaleList = [...stale].sort();
    if (!natOpen && natStaleList.length) out.push('*nat', ...(natStaleList.length >= threshold ? ['-S'] : []));
    if (natOpen || natStaleList.length) {
      for (const chain of natStaleList) out.push(`:${chain} - [0:0]`);
      for (const chain of natStaleList) out.push(`-X ${chain}`);
      out.push('COMMIT');
    }
    // The filter block, small: written whole here.
    const filterChanged = changedIn('filter');
    const write = [...desired.filter.keys()].filter((c) => !filterChanged || filterChanged.has(c));
    const filterStale = new Set(staleIn('filter', opts.previous?.filter.keys() ?? []));
    if (!opts.previous) for (const chain of staleIn('filter', late.existing?.filter ?? [])) filterStale.add(chain);
    const filterStaleList = [...filterStale].sort();
    if (write.length || filterStaleList.length) {
      out.push('*filter');
      if (write.length + filterStaleList.length >= threshold) out.push('-S');
      for (const chain of write) out.push(`:${chain} - [0:0]`);
      for (const chain of write) out.push(...desired.filter.get(chain)!);
      for (const chain of filterStaleList) out.push(`:${chain} - [0:0]`);
      for (const chain of filterStaleList) out.push(`-X ${chain}`);
      out.push('COMMIT');
    }
    for (const table of ['filter', 'nat'] as const) {
      // Inserting at the head in reverse keeps jumpRules' order at the top of each chain. A block of their own, after
      // ours committed: behind a -S, iptables-nft fails to create a built-in chain it has not seen (an empty nat table).
      const jumps = (late.jumps ?? []).filter((j) => j.table === table).reverse().map((j) => `-I ${j.chain} ${j.args.map(q).join(' ')}`);
      if (jumps.length) out.push(`*${table}`, ...jumps, 'COMMIT');
    }
    return out.length ? out.join('\n') + '\n' : '';
  }

  return { head: { [Symbol.iterator]: head }, tail };
}

/** The whole of restoreParts' text at once. */
export function renderRestore(desired: RuleSet, opts: RenderOptions & LateState = {}): string {
  const parts = restoreParts(desired, opts);
  let text = '';
  for (const chunk of parts.head) text += chunk;
  return text + parts.tail(opts);
}

/** Every rule count, for the metrics kube exports (sync_proxy_rules_iptables_total). */
export function ruleCount(rs: RuleSet, table: TableName): number {
  let n = 0;
  for (const rules of rs[table].values()) n += rules.length;
  return n;
}
