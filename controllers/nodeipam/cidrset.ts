// kube's cidrset (pkg/controller/nodeipam/ipam/cidrset): the cluster CIDR cut
// into node-sized subnets, one bit each. Allocation goes round from the
// subnet after the last one handed out, so a CIDR released by a deleted node
// is not at once given to the next node (whose routes elsewhere may still
// point at the old one).

import { cidrsOverlap, formatCIDR, parseCIDR, type IPv4Net } from '../../lib/ipv4.js';

/** kube's clusterSubnetMaxDiff for IPv4: at most 2^16 subnets in one set. */
const maxDiff = 16;

export class CIDRRangeFullError extends Error {
  constructor() {
    // kube's ErrCIDRRangeNoCIDRsRemaining.
    super('CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range');
  }
}

export class CIDRSet {
  readonly cluster: IPv4Net;
  private readonly used: Uint8Array;
  private readonly max: number;
  private nextCandidate = 0;
  private allocated = 0;

  constructor(clusterCIDR: string, readonly maskSize: number) {
    this.cluster = parseCIDR(clusterCIDR);
    if (!Number.isInteger(maskSize) || maskSize < this.cluster.bits || maskSize > 32) {
      throw new Error(`node CIDR mask size ${maskSize} must be between the cluster CIDR's (${this.cluster.bits}) and 32`);
    }
    if (maskSize - this.cluster.bits > maxDiff) throw new Error('New CIDR set failed; the node CIDR size is too big');
    this.max = 2 ** (maskSize - this.cluster.bits);
    this.used = new Uint8Array(this.max);
  }

  get subnetSize(): number {
    return 2 ** (32 - this.maskSize);
  }

  /** Subnets in use (what kube's cidrset_usage_cidrs metric reports as a ratio). */
  usage(): { used: number; max: number } {
    return { used: this.allocated, max: this.max };
  }

  private subnet(i: number): string {
    return formatCIDR({ network: this.cluster.network + i * this.subnetSize, bits: this.maskSize, size: this.subnetSize });
  }

  allocateNext(): string {
    for (let k = 0; k < this.max; k++) {
      const i = (this.nextCandidate + k) % this.max;
      if (this.used[i]) continue;
      this.used[i] = 1;
      this.allocated++;
      this.nextCandidate = (i + 1) % this.max;
      return this.subnet(i);
    }
    throw new CIDRRangeFullError();
  }

  /** The indexes of the subnets a CIDR covers (a wider CIDR covers several, a narrower one its subnet). */
  private indices(cidr: string): [number, number] {
    const n = parseCIDR(cidr);
    if (!cidrsOverlap(n, this.cluster)) throw new Error(`cidr ${cidr} is out the range of cluster cidr ${formatCIDR(this.cluster)}`);
    const first = Math.max(n.network, this.cluster.network);
    const last = Math.min(n.network + n.size, this.cluster.network + this.cluster.size) - 1;
    return [Math.floor((first - this.cluster.network) / this.subnetSize), Math.floor((last - this.cluster.network) / this.subnetSize)];
  }

  occupy(cidr: string): void {
    const [a, b] = this.indices(cidr);
    for (let i = a; i <= b; i++) {
      if (!this.used[i]) this.allocated++;
      this.used[i] = 1;
    }
  }

  release(cidr: string): void {
    const [a, b] = this.indices(cidr);
    for (let i = a; i <= b; i++) {
      if (this.used[i]) this.allocated--;
      this.used[i] = 0;
    }
  }

  isUsed(cidr: string): boolean {
    const [a, b] = this.indices(cidr);
    for (let i = a; i <= b; i++) if (this.used[i]) return true;
    return false;
  }
}
