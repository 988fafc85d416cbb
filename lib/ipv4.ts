// IPv4 addresses and CIDRs as 32-bit unsigned integers: what the service IP
// and node IPAM allocators, the kubelet's pod network, kube-proxy, the
// network agent and the VM-like nodes' LAN compute with.

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return NaN;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface IPv4Net {
  /** The network address (host bits cleared). */
  network: number;
  bits: number;
  /** Number of addresses. */
  size: number;
}

/** "10.244.1.7/24" -> 10.244.1.0/24 as numbers (host bits cleared, as Go's net.ParseCIDR); throws on anything else. */
export function parseCIDR(cidr: string): IPv4Net {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const base = m ? ipToInt(m[1]) : NaN;
  const bits = m ? Number(m[2]) : NaN;
  if (Number.isNaN(base) || !(bits >= 0 && bits <= 32)) throw new Error(`invalid CIDR address: ${cidr}`);
  const size = 2 ** (32 - bits);
  return { network: base - (base % size), bits, size };
}

export function formatCIDR(n: IPv4Net): string {
  return `${intToIp(n.network)}/${n.bits}`;
}

export function cidrContainsIP(cidr: string | IPv4Net, ip: string): boolean {
  const n = typeof cidr === 'string' ? parseCIDR(cidr) : cidr;
  const x = ipToInt(ip);
  return x >= n.network && x < n.network + n.size;
}

/** Whether two ranges share any address. */
export function cidrsOverlap(a: IPv4Net, b: IPv4Net): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

export function isIPv4(s: string): boolean {
  return !Number.isNaN(ipToInt(s));
}
