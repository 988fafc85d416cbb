// The Service registry's allocation rules (pkg/registry/core/service/storage):
// ClusterIPs from --service-cluster-ip-range, NodePorts from
// --service-node-port-range, both immutable once set and released with the
// Service.

import { errors, fieldCause } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { Storage } from '../storage/interface.js';
import type { StoreHooks } from '../registry/store.js';
import { intToIp, ipToInt } from '../../lib/ipv4.js';
import { AlreadyAllocated, RangeAllocator, RangeFull, parseCIDR, parsePortRange } from './range.js';

export interface ServiceAllocatorConfig {
  storage: Storage;
  etcdPrefix: string;
  serviceClusterIPRange: string;
  serviceNodePortRange: string;
}

const wantsNodePorts = (svc: KubeObject) => svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
const isHeadless = (svc: KubeObject) => svc.spec?.clusterIP === 'None';
const needsClusterIP = (svc: KubeObject) => svc.spec?.type !== 'ExternalName' && !isHeadless(svc);

export class ServiceAllocators {
  readonly ips: RangeAllocator;
  readonly ports: RangeAllocator;
  readonly cidr: string;
  /** The first usable address: reserved for the `kubernetes` Service. */
  readonly apiServerIP: string;

  constructor(cfg: ServiceAllocatorConfig) {
    const prefix = cfg.etcdPrefix.replace(/\/$/, '');
    const { network, broadcast } = parseCIDR(cfg.serviceClusterIPRange);
    this.cidr = cfg.serviceClusterIPRange;
    this.apiServerIP = intToIp(network + 1);
    this.ips = new RangeAllocator(cfg.storage, `${prefix}/ranges/serviceips`, network + 1, broadcast - 1, intToIp, 'IPAddress');
    const { first, last } = parsePortRange(cfg.serviceNodePortRange);
    this.ports = new RangeAllocator(cfg.storage, `${prefix}/ranges/servicenodeports`, first, last, String, 'ServiceNodePort');
  }

  hooks(): StoreHooks {
    return {
      beforeCreate: (svc, dryRun) => this.allocate(svc, undefined, dryRun),
      createFailed: (svc) => this.release(svc),
      beforeUpdate: (svc, old, dryRun) => this.allocate(svc, old, dryRun),
      afterDelete: (svc) => this.release(svc),
    };
  }

  private invalid(svc: KubeObject, field: string, message: string) {
    return errors.invalid('Service', svc.metadata.name ?? '', [fieldCause(field, 'FieldValueInvalid', message)]);
  }

  /** Allocate what svc needs; on failure, give back whatever this call already took. */
  private async allocate(svc: KubeObject, old: KubeObject | undefined, dryRun: boolean): Promise<void> {
    const taken: (() => Promise<void>)[] = [];
    try {
      await this.allocateInto(svc, old, dryRun, taken);
    } catch (e) {
      await Promise.all(taken.map((undo) => undo().catch(() => undefined)));
      throw e;
    }
  }

  private async allocateInto(svc: KubeObject, old: KubeObject | undefined, dryRun: boolean, taken: (() => Promise<void>)[]): Promise<void> {
    svc.spec ??= {};
    const spec = svc.spec;
    const owner = { namespace: svc.metadata.namespace, name: svc.metadata.name };
    if (old) {
      const oldIP = old.spec?.clusterIP;
      if (oldIP && spec.clusterIP && spec.clusterIP !== oldIP && spec.type !== 'ExternalName') {
        throw this.invalid(svc, 'spec.clusterIPs[0]', `Invalid value: []string{"${spec.clusterIP}"}: may not change once set`);
      }
      if (oldIP && !spec.clusterIP) {
        spec.clusterIP = oldIP;
        spec.clusterIPs = old.spec.clusterIPs;
      }
    }
    if (needsClusterIP(svc) && !(old && spec.clusterIP === old.spec?.clusterIP)) {
      spec.clusterIP = await this.claimIP(svc, spec.clusterIP, owner, dryRun);
      const ip = ipToInt(spec.clusterIP);
      if (!dryRun) taken.push(() => this.ips.release(ip));
    }
    if (spec.type !== 'ExternalName') {
      spec.clusterIPs = [spec.clusterIP];
      spec.ipFamilies = ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
    }
    if (wantsNodePorts(svc)) {
      const oldPorts = new Map<string, number>((old?.spec?.ports ?? []).filter((p: any) => p.nodePort).map((p: any) => [`${p.port}/${p.protocol ?? 'TCP'}`, p.nodePort]));
      const ports: { nodePort?: number; port: number; protocol?: string }[] = spec.ports ?? [];
      for (const p of ports) {
        const kept = oldPorts.get(`${p.port}/${p.protocol ?? 'TCP'}`);
        if (!p.nodePort && kept) p.nodePort = kept;
      }
      // Requested ports first, as kube does, so a random pick cannot take one a sibling port asked for.
      const order = [...ports.keys()].sort((a, b) => Number(!ports[a].nodePort) - Number(!ports[b].nodePort));
      for (const i of order) {
        const p = ports[i];
        if (p.nodePort && [...oldPorts.values()].includes(p.nodePort)) continue;
        p.nodePort = await this.claimPort(svc, i, p.nodePort, owner, dryRun);
        const port = p.nodePort;
        if (!dryRun && port) taken.push(() => this.ports.release(port));
      }
    }
  }

  private async claimIP(svc: KubeObject, requested: string | undefined, owner: { namespace?: string; name?: string }, dryRun: boolean): Promise<string> {
    if (requested) {
      const n = ipToInt(requested);
      if (!this.ips.contains(n)) {
        throw this.invalid(svc, 'spec.clusterIPs[0]', `Invalid value: "${requested}": provided IP is not in the valid range. The range of valid IPs is ${this.cidr}`);
      }
      if (dryRun) return requested;
      try {
        await this.ips.allocate(n, owner);
      } catch (e) {
        if (e instanceof AlreadyAllocated) {
          throw this.invalid(svc, 'spec.clusterIPs', `Invalid value: []string{"${requested}"}: failed to allocate IP ${requested}: provided IP is already allocated`);
        }
        throw e;
      }
      return requested;
    }
    if (dryRun) return '';
    try {
      return intToIp(await this.ips.allocateNext(owner));
    } catch (e) {
      if (e instanceof RangeFull) throw errors.internal('failed to allocate a serviceIP: range is full');
      throw e;
    }
  }

  private async claimPort(svc: KubeObject, index: number, requested: number | undefined, owner: { namespace?: string; name?: string }, dryRun: boolean): Promise<number | undefined> {
    if (requested) {
      if (!this.ports.contains(requested)) {
        throw this.invalid(svc, `spec.ports[${index}].nodePort`, `Invalid value: ${requested}: provided port is not in the valid range. The range of valid ports is ${this.ports.first}-${this.ports.last}`);
      }
      if (dryRun) return requested;
      try {
        await this.ports.allocate(requested, owner);
      } catch (e) {
        if (e instanceof AlreadyAllocated) throw this.invalid(svc, `spec.ports[${index}].nodePort`, `Invalid value: ${requested}: provided port is already allocated`);
        throw e;
      }
      return requested;
    }
    if (dryRun) return undefined;
    try {
      return await this.ports.allocateNext(owner);
    } catch (e) {
      if (e instanceof RangeFull) throw errors.internal('failed to allocate a nodePort: range is full');
      throw e;
    }
  }

  private async release(svc: KubeObject): Promise<void> {
    const ip = svc.spec?.clusterIP;
    if (ip && ip !== 'None') {
      const n = ipToInt(ip);
      if (this.ips.contains(n)) await this.ips.release(n);
    }
    for (const p of svc.spec?.ports ?? []) if (p.nodePort) await this.ports.release(p.nodePort);
  }
}
