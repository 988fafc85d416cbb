// Each pod's /etc/resolv.conf as the kubelet forms it (pkg/kubelet/network/dns:
// GetPodDNS): by dnsPolicy from the cluster DNS (--cluster-dns,
// --cluster-domain) or the host's resolver file (--resolv-conf), with the
// pod's dnsConfig merged in and kube's limits applied, written as the CRI
// runtime writes it (search, nameserver lines, options) into the pod's
// directory and bind-mounted over each container's /etc/resolv.conf.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Pod } from '../api/types.js';
import type { EventRecorder } from '../client/events.js';
import type { Mount } from './runtime/interface.js';

/** validation.MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars; DNS1123SubdomainMaxLength. */
export const maxNameservers = 3;
export const maxSearchPaths = 32;
export const maxSearchListChars = 2048;
const maxSearchLength = 253;

export interface DnsConfig { servers: string[]; searches: string[]; options: string[] }

interface PodDnsConfig { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] }

export interface DnsConfigurerOptions {
  /** --cluster-dns: the cluster DNS Service's IPs. */
  clusterDNS: string[];
  /** --cluster-domain. */
  clusterDomain: string;
  /** --resolv-conf: the host's resolver file that Default pods get; '' means none (localhost, search "."). */
  resolvConf: string;
  nodeIPs?: string[];
  recorder?: EventRecorder;
}

/** The nameserver, search and options lines of a resolv.conf (later search lines replace earlier ones, as glibc reads them). */
export function parseResolvConf(text: string): DnsConfig {
  const c: DnsConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...fields] = line.split(/\s+/);
    if (key === 'nameserver' && fields[0]) c.servers.push(fields[0]);
    else if (key === 'search') c.searches = fields.map((s) => s.replace(/\.$/, '') || '.');
    else if (key === 'options') c.options.push(...fields);
  }
  return c;
}

/** As containerd writes it: search, one nameserver line each, options. */
export function formatResolvConf(c: DnsConfig): string {
  let s = '';
  if (c.searches.length) s += `search ${c.searches.join(' ')}\n`;
  for (const n of c.servers) s += `nameserver ${n}\n`;
  if (c.options.length) s += `options ${c.options.join(' ')}\n`;
  return s;
}

const uniq = (v: string[]) => [...new Set(v)];

/** mergeDNSOptions: the pod's options replace same-named ones; name:value, or the bare name without a value. */
function mergeOptions(existing: string[], pod: { name: string; value?: string }[]): string[] {
  const m = new Map<string, string>();
  for (const o of existing) {
    const i = o.indexOf(':');
    if (i === -1) m.set(o, ''); else m.set(o.slice(0, i), o.slice(i + 1));
  }
  for (const o of pod) m.set(o.name, o.value ?? '');
  return [...m].map(([k, v]) => (v ? `${k}:${v}` : k));
}

type PodDNSType = 'cluster' | 'host' | 'none';

function podDNSType(pod: Pod): PodDNSType {
  switch (pod.spec.dnsPolicy ?? 'ClusterFirst') {
    case 'None': return 'none';
    case 'ClusterFirstWithHostNet': return 'cluster';
    case 'ClusterFirst': return pod.spec.hostNetwork ? 'host' : 'cluster';
    default: return 'host';
  }
}

export class DnsConfigurer {
  constructor(private readonly o: DnsConfigurerOptions) {}

  private hostConfig(): DnsConfig {
    if (!this.o.resolvConf) return { servers: [], searches: [], options: [] };
    try {
      return parseResolvConf(fs.readFileSync(this.o.resolvConf, 'utf8'));
    } catch {
      // kube fails the pod on an unreadable --resolv-conf; an empty base keeps it running with cluster DNS.
      return { servers: [], searches: [], options: [] };
    }
  }

  /** GetPodDNS. */
  podDNS(pod: Pod): DnsConfig {
    let c = this.hostConfig();
    let type = podDNSType(pod);
    if (type === 'none') c = { servers: [], searches: [], options: [] };
    if (type === 'cluster') {
      if (this.o.clusterDNS.length) {
        c.servers = [...this.o.clusterDNS];
        c.searches = this.clusterSearches(c.searches, pod);
        c.options = ['ndots:5'];
      } else {
        const msg = `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`;
        this.o.recorder?.event(pod, 'Warning', 'MissingClusterDNS', `pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})". ${msg}`);
        type = 'host';
      }
    }
    if (type === 'host' && !this.o.resolvConf) {
      // No host resolver file: the resolver library's own default, the local machine.
      const ips = this.o.nodeIPs ?? [];
      c.servers = ips.length ? ips.map((ip) => (net.isIPv6(ip) ? '::1' : '127.0.0.1')) : ['127.0.0.1'];
      c.searches = ['.'];
    }
    const dc = (pod.spec as { dnsConfig?: PodDnsConfig }).dnsConfig;
    if (dc) {
      c.servers = uniq([...c.servers, ...(dc.nameservers ?? [])]);
      c.searches = uniq([...c.searches, ...(dc.searches ?? [])]);
      c.options = mergeOptions(c.options, dc.options ?? []);
    }
    return this.fitLimits(c, pod);
  }

  private clusterSearches(host: string[], pod: Pod): string[] {
    const d = this.o.clusterDomain;
    if (!d) return host;
    return uniq([`${pod.metadata.namespace}.svc.${d}`, `svc.${d}`, d, ...host]);
  }

  /** formDNSConfigFitsLimits: at most 3 nameservers; search paths within kube's count and length limits, with an event saying what was applied. */
  private fitLimits(c: DnsConfig, pod: Pod): DnsConfig {
    if (c.servers.length > maxNameservers) {
      c.servers = c.servers.slice(0, maxNameservers);
      this.o.recorder?.event(pod, 'Warning', 'DNSConfigForming', `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${c.servers.join(' ')}`);
    }
    let exceeded = false;
    let s = c.searches;
    if (s.length > maxSearchPaths) { s = s.slice(0, maxSearchPaths); exceeded = true; }
    const kept = s.filter((x) => x.length <= maxSearchLength);
    if (kept.length !== s.length) exceeded = true;
    s = kept;
    const lineLen = s.join(' ').length;
    if (lineLen > maxSearchListChars) {
      let cut = 0;
      let cutLen = 0;
      for (let i = s.length - 1; i >= 0; i--) {
        cutLen += s[i].length + 1;
        cut++;
        if (lineLen - cutLen <= maxSearchListChars) break;
      }
      s = s.slice(0, s.length - cut);
      exceeded = true;
    }
    if (exceeded) this.o.recorder?.event(pod, 'Warning', 'DNSConfigForming', `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${s.join(' ')}`);
    c.searches = s;
    return c;
  }

  /**
   * Write the pod's resolv.conf into its directory (only when it changed:
   * containers already running hold the file's inode) and give the mount
   * over /etc/resolv.conf, as CRI runtimes mount the sandbox's file.
   */
  mount(pod: Pod, podDir: string): Mount {
    const file = path.join(podDir, 'etc-resolv.conf');
    const text = formatResolvConf(this.podDNS(pod));
    let current: string | undefined;
    try { current = fs.readFileSync(file, 'utf8'); } catch { /* first container */ }
    if (current !== text) {
      fs.mkdirSync(podDir, { recursive: true });
      if (current === undefined) {
        const tmp = `${file}.tmp`;
        fs.writeFileSync(tmp, text, { mode: 0o644 });
        fs.renameSync(tmp, file);
      } else {
        // In place, so containers that bind it see the new text.
        fs.writeFileSync(file, text);
      }
    }
    return { hostPath: file, containerPath: '/etc/resolv.conf' };
  }
}
