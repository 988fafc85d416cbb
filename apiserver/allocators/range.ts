// Allocation of Service ClusterIPs and NodePorts shared by every API server
// on the same etcd. Each taken value is its own key, claimed with a create
// (as kube's IPAddress objects for the MultiCIDR allocator do): two servers
// racing for one value cannot both win, and unrelated allocations never
// contend on one shared bitmap.

import type { KubeObject } from '../../api/types.js';
import { ipToInt } from '../../lib/ipv4.js';
import { StorageError, type Storage } from '../storage/interface.js';

export interface Owner { namespace?: string; name?: string }

export class RangeFull extends Error {}
export class AlreadyAllocated extends Error {}

/** A contiguous range of integers [first, last] stored as keys under prefix. */
export class RangeAllocator {
  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
    readonly first: number,
    readonly last: number,
    private readonly render: (n: number) => string,
    private readonly kind: string,
  ) {}

  contains(n: number): boolean {
    return n >= this.first && n <= this.last;
  }

  private key(n: number): string {
    return `${this.prefix}/${this.render(n)}`;
  }

  private record(n: number, owner: Owner): KubeObject {
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: this.kind,
      metadata: { name: this.render(n) },
      spec: { parentRef: { group: '', resource: 'services', namespace: owner.namespace, name: owner.name } },
    };
  }

  /** Claim exactly n; AlreadyAllocated when someone holds it. */
  async allocate(n: number, owner: Owner): Promise<void> {
    try {
      await this.storage.create(this.key(n), this.record(n, owner));
    } catch (e) {
      if (e instanceof StorageError && e.code === 'KeyExists') throw new AlreadyAllocated(this.render(n));
      throw e;
    }
  }

  /**
   * Claim any free value. Random probing first (cheap while the range is
   * sparse, and concurrent allocators rarely collide), then a scan from a
   * random start so a nearly full range still finds its last holes.
   */
  async allocateNext(owner: Owner): Promise<number> {
    const size = this.last - this.first + 1;
    for (let i = 0; i < 32; i++) {
      const n = this.first + Math.floor(Math.random() * size);
      try {
        await this.allocate(n, owner);
        return n;
      } catch (e) {
        if (!(e instanceof AlreadyAllocated)) throw e;
      }
    }
    const taken = new Set((await this.storage.list(`${this.prefix}/`)).items.map((o) => o.metadata.name));
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const n = this.first + ((start + i) % size);
      if (taken.has(this.render(n))) continue;
      try {
        await this.allocate(n, owner);
        return n;
      } catch (e) {
        if (!(e instanceof AlreadyAllocated)) throw e;
      }
    }
    throw new RangeFull(`range is full`);
  }

  async release(n: number): Promise<void> {
    try {
      await this.storage.delete(this.key(n));
    } catch (e) {
      if (!(e instanceof StorageError && e.code === 'KeyNotFound')) throw e;
    }
  }
}

/** "10.96.0.0/12" -> [network, broadcast]. */
export function parseCIDR(cidr: string): { network: number; broadcast: number } {
  const [ip, bitsStr] = cidr.split('/');
  const bits = Number(bitsStr);
  const base = ipToInt(ip);
  if (Number.isNaN(base) || !Number.isInteger(bits) || bits < 1 || bits > 30) throw new Error(`invalid CIDR: ${cidr}`);
  const size = 2 ** (32 - bits);
  const network = base - (base % size);
  return { network, broadcast: network + size - 1 };
}

/** "30000-32767" -> [30000, 32767]. */
export function parsePortRange(s: string): { first: number; last: number } {
  const m = /^(\d+)-(\d+)$/.exec(s.trim());
  if (!m || Number(m[1]) > Number(m[2])) throw new Error(`invalid port range: ${s}`);
  return { first: Number(m[1]), last: Number(m[2]) };
}
