// The contract between the proxier (which turns Services and Endpoints into a
// service map) and the forwarding backends (iptables, userspace). The map is
// plain data, rebuilt from the informers' caches on every sync, so a backend
// is a function of it and nothing else: two kube-proxies that see the same
// objects program the same forwarding.

import type { Endpoints, Service } from '../api/types.js';

export type Protocol = 'TCP' | 'UDP';

export interface Endpoint {
  ip: string;
  port: number;
}

/** One port of one Service: kube's ServicePortName plus what forwarding needs. */
export interface ServicePortInfo {
  /** "namespace/name:portName", or "namespace/name" for an unnamed port (ServicePortName.String()). */
  name: string;
  namespace: string;
  service: string;
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** 0 when the Service has none. */
  nodePort: number;
  /** 0 means no session affinity; otherwise the ClientIP affinity timeout. */
  affinitySeconds: number;
  /** Ready endpoints only, sorted, so every node orders them alike. */
  endpoints: Endpoint[];
}

export interface Backend {
  readonly mode: 'iptables' | 'userspace';
  /** Make forwarding match the map. Rejects when it could not; the proxier retries. */
  sync(ports: ServicePortInfo[]): Promise<void>;
  /** Stop forwarding (on shutdown); kernel rules stay, as kube-proxy leaves them. */
  stop(): Promise<void>;
}

function ipKey(ip: string): string {
  return ip.split('.').map((o) => o.padStart(3, '0')).join('.');
}

export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const ka = ipKey(a.ip);
  const kb = ipKey(b.ip);
  return ka < kb ? -1 : ka > kb ? 1 : a.port - b.port;
}

/** Kubernetes' DefaultClientIPServiceAffinitySeconds (3 hours). */
export const defaultAffinitySeconds = 10800;

/**
 * The ports a Service contributes, each with its ready endpoints from the
 * Endpoints object of the same name. Endpoint ports pair with service ports
 * by name and protocol, as the Endpoints controller writes them. Headless and
 * ExternalName Services are not proxied.
 */
export function servicePorts(svc: Service, eps: Endpoints | undefined): ServicePortInfo[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const clusterIP = spec.clusterIP ?? '';
  if (!clusterIP || clusterIP === 'None' || clusterIP.includes(':')) return [];
  const ns = svc.metadata.namespace ?? 'default';
  const name = svc.metadata.name!;
  const affinity = spec.sessionAffinity === 'ClientIP' ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinitySeconds : 0;
  const out: ServicePortInfo[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = (p.protocol ?? 'TCP') as string;
    if (protocol !== 'TCP' && protocol !== 'UDP') continue;
    const portName = p.name ?? '';
    const seen = new Set<string>();
    const endpoints: Endpoint[] = [];
    for (const subset of eps?.subsets ?? []) {
      const ep = (subset.ports ?? []).find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === protocol);
      if (!ep) continue;
      for (const a of subset.addresses ?? []) {
        const k = `${a.ip}:${ep.port}`;
        if (seen.has(k)) continue;
        seen.add(k);
        endpoints.push({ ip: a.ip, port: ep.port });
      }
    }
    endpoints.sort(compareEndpoints);
    out.push({
      name: portName ? `${ns}/${name}:${portName}` : `${ns}/${name}`,
      namespace: ns,
      service: name,
      portName,
      protocol,
      clusterIP,
      port: p.port,
      nodePort: spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? p.nodePort ?? 0 : 0,
      affinitySeconds: affinity,
      endpoints,
    });
  }
  return out;
}

/** The whole map, in a stable order. */
export function buildServiceMap(services: readonly Service[], endpoints: (key: string) => Endpoints | undefined): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const svc of services) out.push(...servicePorts(svc, endpoints(`${svc.metadata.namespace}/${svc.metadata.name}`)));
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0));
  return out;
}
