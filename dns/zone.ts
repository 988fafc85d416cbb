// The cluster zone as CoreDNS' kubernetes plugin answers it (default
// Corefile: `kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure }`,
// TTL 5): Services, their endpoints, pods by dashed IP, SRV for named ports,
// PTR for ClusterIPs and endpoint addresses. Pure lookups over informer
// caches; the wire format lives in server.ts.

import net from 'node:net';
import type { Answer } from 'dns-packet';
import type { EndpointSlice, KubeObject, Service } from '../api/types.js';
import { R } from '../api/resources.js';
import type { Informer, InformerFactory, Lister } from '../client/interfaces.js';

export const DEFAULT_TTL = 5;
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';

export interface Lookup {
  rcode: Rcode;
  answers: Answer[];
  /** The zone's SOA on NXDOMAIN and NODATA, as CoreDNS adds for negative caching. */
  authorities: Answer[];
  additionals: Answer[];
  /** Not ours: the caller forwards it or refuses it. */
  outOfZone?: boolean;
}

export interface ZoneOptions {
  services: Lister<Service>;
  endpointSlices: Informer<EndpointSlice>;
  /** Namespaces, for "does this namespace exist" (NXDOMAIN vs NODATA), as CoreDNS' namespaceExposed. */
  namespaces: Lister<KubeObject>;
  /** The cluster domain, kube's --cluster-domain (cluster.local). */
  domain: string;
  ttl?: number;
}

interface Endpoint { ip: string; hostname?: string; family: 4 | 6; ports: { name: string; port: number; protocol: string }[] }

/** An endpoint's DNS label: its hostname, else its address with dashes (CoreDNS' endpointHostname). */
function endpointLabel(e: Endpoint): string {
  if (e.hostname) return e.hostname.toLowerCase();
  return e.family === 4 ? e.ip.replace(/\./g, '-') : expandIPv6(e.ip).replace(/:/g, '-');
}

function expandIPv6(ip: string): string {
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const fill = tail !== undefined ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join(':');
}

/** The reverse name of an address: d.c.b.a.in-addr.arpa or the nibbles under ip6.arpa. */
export function reverseName(ip: string): string {
  if (net.isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  return `${expandIPv6(ip).replace(/:/g, '').split('').reverse().join('.')}.ip6.arpa`;
}

/** The address a reverse name stands for, when it names a whole one. */
function fromReverse(labels: string[]): string | undefined {
  const n = labels.length;
  if (n === 6 && labels[4] === 'in-addr' && labels[5] === 'arpa') {
    const ip = labels.slice(0, 4).reverse().join('.');
    return net.isIPv4(ip) ? ip : undefined;
  }
  if (n === 34 && labels[32] === 'ip6' && labels[33] === 'arpa' && labels.slice(0, 32).every((l) => /^[0-9a-f]$/.test(l))) {
    const hex = labels.slice(0, 32).reverse().join('');
    return expandIPv6(hex.match(/.{4}/g)!.join(':'));
  }
  return undefined;
}

function isReady(e: NonNullable<EndpointSlice['endpoints']>[number]): boolean {
  // A nil ready condition means ready (discovery/v1).
  return e.conditions?.ready !== false;
}

/** Is a query of this type answered by an address of this family? */
const familyOf = (ip: string): 4 | 6 => (net.isIPv6(ip) ? 6 : 4);

export class ClusterZone {
  readonly domain: string;
  private readonly ttl: number;
  /** "ns/svc" → its slices by name, kept by the informer's events (a label lookup per query would scan). */
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();
  private ptr: Map<string, string[]> | undefined;
  private serial = Math.floor(Date.now() / 1000);

  constructor(private readonly o: ZoneOptions) {
    this.domain = o.domain.replace(/\.$/, '').toLowerCase();
    this.ttl = o.ttl ?? DEFAULT_TTL;
    const key = (s: EndpointSlice) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      return svc ? `${s.metadata.namespace}/${svc}` : undefined;
    };
    const remove = (s: EndpointSlice) => {
      const k = key(s);
      const m = k ? this.slices.get(k) : undefined;
      m?.delete(s.metadata.name!);
      if (m && m.size === 0) this.slices.delete(k!);
    };
    const add = (s: EndpointSlice) => {
      const k = key(s);
      if (!k) return;
      let m = this.slices.get(k);
      if (!m) this.slices.set(k, (m = new Map()));
      m.set(s.metadata.name!, s);
    };
    o.endpointSlices.addEventHandler({
      onAdd: (s) => { add(s); this.changed(); },
      onUpdate: (old, s) => { remove(old); add(s); this.changed(); },
      onDelete: (s) => { remove(s); this.changed(); },
    });
  }

  /** Services' changes also move PTR records and the SOA serial: server wiring calls this from their informer. */
  changed(): void {
    this.ptr = undefined;
    this.serial = Math.floor(Date.now() / 1000);
  }

  soa(): Answer {
    return {
      name: this.domain, type: 'SOA', ttl: this.ttl, class: 'IN',
      data: { mname: `ns.dns.${this.domain}`, rname: `hostmaster.${this.domain}`, serial: this.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }

  /** Ready endpoints of a Service (all of them with publishNotReadyAddresses), deduplicated by address. */
  endpoints(svc: Service): Endpoint[] {
    const slices = this.slices.get(`${svc.metadata.namespace}/${svc.metadata.name}`);
    const out = new Map<string, Endpoint>();
    for (const s of slices?.values() ?? []) {
      if (s.addressType === 'FQDN') continue;
      const ports = (s.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port ?? 0, protocol: p.protocol ?? 'TCP' }));
      for (const e of s.endpoints ?? []) {
        if (!svc.spec.publishNotReadyAddresses && !isReady(e)) continue;
        for (const ip of e.addresses) if (!out.has(ip)) out.set(ip, { ip, hostname: e.hostname, family: familyOf(ip), ports });
      }
    }
    return [...out.values()];
  }

  private namespaceExists(ns: string): boolean {
    return !!this.o.namespaces.get(ns);
  }

  /** Answer one question. name is as asked (any case); answers carry it back as asked. */
  lookup(qname: string, qtype: string): Lookup {
    const asked = qname.replace(/\.$/, '');
    const name = asked.toLowerCase();
    const labels = name === '' ? [] : name.split('.');
    if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) return this.reverse(asked, labels, qtype);
    if (name !== this.domain && !name.endsWith(`.${this.domain}`)) return { rcode: 'REFUSED', answers: [], authorities: [], additionals: [], outOfZone: true };
    const rel = name === this.domain ? [] : name.slice(0, -this.domain.length - 1).split('.');
    const res: Lookup = { rcode: 'NOERROR', answers: [], authorities: [], additionals: [] };
    const nx = (): Lookup => ({ ...res, rcode: 'NXDOMAIN', answers: [], authorities: [this.soa()] });
    const finish = (): Lookup => {
      if (res.answers.length === 0) res.authorities.push(this.soa());
      return res;
    };
    const n = rel.length;
    if (n === 0) {
      if (qtype === 'SOA' || qtype === 'ANY') res.answers.push({ ...this.soa(), name: asked });
      if (qtype === 'NS') res.answers.push({ name: asked, type: 'NS', ttl: this.ttl, class: 'IN', data: `ns.dns.${this.domain}` });
      return finish();
    }
    const kind = rel[n - 1];
    if (kind === 'pod') return this.pod(asked, rel, qtype, res, nx, finish);
    if (kind !== 'svc') return nx();
    // svc.<zone> and <ns>.svc.<zone> are empty non-terminals: NODATA while they hold names.
    if (n === 1) return finish();
    const ns = rel[n - 2];
    if (!this.namespaceExists(ns)) return nx();
    if (n === 2) return finish();
    const svcName = rel[n - 3];
    const svc = this.o.services.get(`${ns}/${svcName}`);
    if (!svc) return nx();
    const prefix = rel.slice(0, n - 3);
    if (prefix.length === 0) {
      // A headless Service with no ready endpoint has no name at all in CoreDNS (errNoItems: NXDOMAIN).
      if (svc.spec.clusterIP === 'None' && svc.spec.type !== 'ExternalName' && this.endpoints(svc).length === 0) return nx();
      this.serviceRecords(asked, svc, qtype, res);
      return finish();
    }
    if (prefix.length === 1) {
      // <endpoint>.<svc>.<ns>.svc.<zone>: a StatefulSet pod's stable name (hostname) or an endpoint's dashed address.
      const eps = this.endpoints(svc).filter((e) => endpointLabel(e) === prefix[0]);
      if (eps.length === 0) return nx();
      for (const e of eps) this.addressRecord(asked, e.ip, qtype, res);
      return finish();
    }
    if (prefix.length === 2 && prefix[0].startsWith('_') && prefix[1].startsWith('_')) {
      const port = prefix[0].slice(1);
      const proto = prefix[1].slice(1);
      if (!this.srv(asked, svc, port, proto, qtype, res)) return nx();
      return finish();
    }
    return nx();
  }

  private pod(asked: string, rel: string[], qtype: string, res: Lookup, nx: () => Lookup, finish: () => Lookup): Lookup {
    // `pods insecure`: any dashed address in an existing namespace, no check that such a pod exists.
    if (rel.length === 1) return finish();
    const ns = rel[rel.length - 2];
    if (!this.namespaceExists(ns)) return nx();
    if (rel.length === 2) return finish();
    if (rel.length !== 3) return nx();
    const v4 = rel[0].replace(/-/g, '.');
    const ip = net.isIPv4(v4) ? v4 : net.isIPv6(rel[0].replace(/-/g, ':')) ? rel[0].replace(/-/g, ':') : undefined;
    if (!ip) return nx();
    this.addressRecord(asked, ip, qtype, res);
    return finish();
  }

  private serviceRecords(asked: string, svc: Service, qtype: string, res: Lookup): void {
    if (svc.spec.type === 'ExternalName') {
      if (svc.spec.externalName) res.answers.push({ name: asked, type: 'CNAME', ttl: this.ttl, class: 'IN', data: svc.spec.externalName.replace(/\.$/, '') });
      return;
    }
    const headless = svc.spec.clusterIP === 'None';
    if (qtype === 'SRV' || qtype === 'ANY') {
      // A bare service name asked for SRV: one per named port (CoreDNS answers every port).
      for (const p of svc.spec.ports ?? []) if (p.name || (svc.spec.ports ?? []).length === 1) this.srv(asked, svc, p.name ?? '', (p.protocol ?? 'TCP').toLowerCase(), 'SRV', res);
    }
    if (qtype !== 'SRV') {
      if (headless) for (const e of this.endpoints(svc)) this.addressRecord(asked, e.ip, qtype, res);
      else for (const ip of svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : [])) this.addressRecord(asked, ip, qtype, res);
    }
  }

  private addressRecord(name: string, ip: string, qtype: string, res: Lookup): void {
    const fam = familyOf(ip);
    if ((qtype === 'A' || qtype === 'ANY') && fam === 4) res.answers.push({ name, type: 'A', ttl: this.ttl, class: 'IN', data: ip });
    if ((qtype === 'AAAA' || qtype === 'ANY') && fam === 6) res.answers.push({ name, type: 'AAAA', ttl: this.ttl, class: 'IN', data: ip });
  }

  /**
   * SRV records for _<port>._<proto>.<svc>: the ClusterIP service's own name
   * and port, or per ready endpoint its name and port for a headless one, with
   * the targets' addresses as additionals. False when no such port exists.
   */
  private srv(asked: string, svc: Service, port: string, proto: string, qtype: string, res: Lookup): boolean {
    const base = `${svc.metadata.name}.${svc.metadata.namespace}.svc.${this.domain}`;
    const match = (p: { name?: string; protocol?: string }) => (p.name ?? '').toLowerCase() === port && (p.protocol ?? 'TCP').toLowerCase() === proto;
    if (svc.spec.clusterIP === 'None') {
      const eps = this.endpoints(svc).filter((e) => e.ports.some(match));
      if (eps.length === 0) return false;
      if (qtype !== 'SRV' && qtype !== 'ANY') return true;
      const weight = Math.floor(100 / eps.length);
      for (const e of eps) {
        const target = `${endpointLabel(e)}.${base}`;
        for (const p of e.ports.filter(match)) res.answers.push({ name: asked, type: 'SRV', ttl: this.ttl, class: 'IN', data: { priority: 0, weight, port: p.port, target } });
        this.addressRecord(target, e.ip, e.family === 4 ? 'A' : 'AAAA', { ...res, answers: res.additionals });
      }
      return true;
    }
    const ports = (svc.spec.ports ?? []).filter(match);
    if (ports.length === 0) return false;
    if (qtype !== 'SRV' && qtype !== 'ANY') return true;
    for (const p of ports) res.answers.push({ name: asked, type: 'SRV', ttl: this.ttl, class: 'IN', data: { priority: 0, weight: 100, port: p.port, target: base } });
    for (const ip of svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : [])) this.addressRecord(base, ip, familyOf(ip) === 4 ? 'A' : 'AAAA', { ...res, answers: res.additionals });
    return true;
  }

  private reverse(asked: string, labels: string[], qtype: string): Lookup {
    const ip = fromReverse(labels);
    const names = ip ? this.ptrIndex().get(ip) : undefined;
    // Not a cluster address: the default Corefile falls through to forward.
    if (!names) return { rcode: 'NXDOMAIN', answers: [], authorities: [], additionals: [], outOfZone: true };
    const res: Lookup = { rcode: 'NOERROR', answers: [], authorities: [], additionals: [] };
    if (qtype === 'PTR' || qtype === 'ANY') for (const n of names) res.answers.push({ name: asked, type: 'PTR', ttl: this.ttl, class: 'IN', data: n });
    return res;
  }

  /** Address → names, rebuilt on the first PTR query after a change. */
  private ptrIndex(): Map<string, string[]> {
    if (this.ptr) return this.ptr;
    const m = new Map<string, string[]>();
    const add = (ip: string, n: string) => {
      const key = familyOf(ip) === 6 ? expandIPv6(ip) : ip;
      const l = m.get(key);
      if (l) { if (!l.includes(n)) l.push(n); } else m.set(key, [n]);
    };
    for (const svc of this.o.services.list()) {
      const base = `${svc.metadata.name}.${svc.metadata.namespace}.svc.${this.domain}`;
      for (const ip of svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : [])) if (ip !== 'None') add(ip, base);
      for (const e of this.endpoints(svc)) add(e.ip, `${endpointLabel(e)}.${base}`);
    }
    this.ptr = m;
    return m;
  }
}

/** The zone over a factory's Service, EndpointSlice and Namespace informers (start the factory after). */
export function zoneFromInformers(informers: InformerFactory, domain: string, ttl?: number): ClusterZone {
  const services = informers.informerFor<Service>(R.services);
  const zone = new ClusterZone({
    services: services.lister,
    endpointSlices: informers.informerFor<EndpointSlice>(R.endpointslices),
    namespaces: informers.informerFor(R.namespaces).lister,
    domain,
    ttl,
  });
  services.addEventHandler({ onAdd: () => zone.changed(), onUpdate: () => zone.changed(), onDelete: () => zone.changed() });
  return zone;
}
