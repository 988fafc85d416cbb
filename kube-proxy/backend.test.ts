import { describe, expect, it } from 'vitest';
import type { Endpoints, Service } from '../api/types.js';
import { buildServiceMap, servicePorts } from './backend.js';

const svc = (name: string, spec: Service['spec']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });

describe('servicePorts', () => {
  it('pairs ports by name and protocol, keeps only ready addresses, sorted numerically', () => {
    const s = svc('web', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP' }] });
    const ep: Endpoints = {
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' },
      subsets: [{
        addresses: [{ ip: '172.17.0.10' }, { ip: '172.17.0.9' }],
        notReadyAddresses: [{ ip: '172.17.0.11' }],
        ports: [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }],
      }],
    };
    const [http, dns] = servicePorts(s, ep);
    expect(http).toMatchObject({ name: 'default/web:http', protocol: 'TCP', port: 80, nodePort: 30080, endpoints: [{ ip: '172.17.0.9', port: 8080 }, { ip: '172.17.0.10', port: 8080 }] });
    expect(dns).toMatchObject({ name: 'default/web:dns', protocol: 'UDP', nodePort: 0, endpoints: [{ ip: '172.17.0.9', port: 5353 }, { ip: '172.17.0.10', port: 5353 }] });
  });

  it('skips headless and ExternalName services, and uses the default affinity timeout', () => {
    expect(servicePorts(svc('h', { clusterIP: 'None', ports: [{ port: 80 }] }), undefined)).toEqual([]);
    expect(servicePorts(svc('e', { type: 'ExternalName', externalName: 'x.example', ports: [{ port: 80 }] }), undefined)).toEqual([]);
    const [p] = servicePorts(svc('a', { clusterIP: '10.96.0.5', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }), undefined);
    expect(p).toMatchObject({ name: 'default/a', affinitySeconds: 10800, endpoints: [] });
  });

  it('builds the map in a stable order', () => {
    const map = buildServiceMap([svc('b', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] }), svc('a', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] })], () => undefined);
    expect(map.map((m) => m.name)).toEqual(['default/a', 'default/b']);
  });
});
