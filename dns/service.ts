// The kube-dns Service as kubeadm's CoreDNS add-on makes it (kube-system,
// ClusterIP the 10th address of the service range, ports dns/UDP 53,
// dns-tcp/TCP 53, metrics/TCP 9153), but without a selector: the cluster DNS
// is a host process, so its endpoint is the address it listens on, as the
// `kubernetes` Service's endpoint is the API server's advertise address.

import { R } from '../api/resources.js';
import type { Endpoints, Service } from '../api/types.js';
import type { Client } from '../client/interfaces.js';

export const dnsServiceName = 'kube-dns';
const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' };

/** The nth address of a CIDR (kubeadm's GetDNSIP takes the 10th of the service subnet). */
export function nthAddress(cidr: string, n: number): string {
  const [ip, bits] = cidr.split('/');
  const base = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  if (n >= size) throw new Error(`${cidr} has no address number ${n}`);
  const v = base + n;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}

/**
 * Create or bring up to date the kube-dns Service and its Endpoints (the
 * endpointslice-mirroring controller makes the EndpointSlice kube-proxy reads).
 * Server-side apply, so a second `skiff up` with other ports converges.
 */
export async function ensureDnsService(client: Client, o: { clusterIP: string; address: string; port: number; metricsPort: number }): Promise<void> {
  const svc: Service = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: dnsServiceName, namespace: 'kube-system', labels },
    spec: {
      clusterIP: o.clusterIP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: o.port },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: o.port },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: o.metricsPort },
      ],
    },
  };
  await client.resource<Service>(R.services, 'kube-system').patch(dnsServiceName, 'apply', svc, { fieldManager: 'skiff', force: true });
  const ep: Endpoints = {
    apiVersion: 'v1', kind: 'Endpoints',
    metadata: { name: dnsServiceName, namespace: 'kube-system', labels },
    subsets: [{
      addresses: [{ ip: o.address }],
      ports: [{ name: 'dns', port: o.port, protocol: 'UDP' }, { name: 'dns-tcp', port: o.port, protocol: 'TCP' }, { name: 'metrics', port: o.metricsPort, protocol: 'TCP' }],
    }],
  };
  await client.resource<Endpoints>(R.endpoints, 'kube-system').patch(dnsServiceName, 'apply', ep, { fieldManager: 'skiff', force: true });
}
