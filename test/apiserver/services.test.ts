// Service ClusterIP and NodePort allocation, shared by two API servers on one etcd.

import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { client, update } from './helpers.js';

let a: ApiServerProcess;
let b: ApiServerProcess;
let apiA: ReturnType<typeof client>;
let apiB: ReturnType<typeof client>;
const svcs = '/api/v1/namespaces/default/services';
const svc = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], ...spec } });

beforeAll(async () => {
  a = await startApiServer({ serviceClusterIpRange: '10.96.0.0/24', serviceNodePortRange: '30000-30100' });
  b = await startApiServer({ etcd: a.etcdEndpoint, serviceClusterIpRange: '10.96.0.0/24', serviceNodePortRange: '30000-30100' });
  apiA = client(a.url);
  apiB = client(b.url);
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

describe('services', () => {
  it('the kubernetes Service takes the first address and points at the API server', async () => {
    const k = await apiA.get(`${svcs}/kubernetes`);
    expect(k.status).toBe(200);
    expect(k.body.spec.clusterIP).toBe('10.96.0.1');
    expect(k.body.spec.ports[0]).toMatchObject({ port: 443 });
    const ep = await apiA.get('/api/v1/namespaces/default/endpoints/kubernetes');
    expect(ep.body.subsets[0].addresses[0].ip).toBe('127.0.0.1');
  });

  it('100 concurrent creates across two API servers get 100 distinct ClusterIPs', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? apiA : apiB).post(svcs, svc(`many-${i}`))));
    for (const r of results) expect(r.status, r.text).toBe(201);
    const ips = results.map((r) => r.body.spec.clusterIP);
    expect(new Set(ips).size).toBe(100);
    expect(ips).not.toContain('10.96.0.1');
    for (const r of results) {
      expect(r.body.spec.clusterIPs).toEqual([r.body.spec.clusterIP]);
      expect(r.body.spec.ipFamilies).toEqual(['IPv4']);
      expect(r.body.spec.ipFamilyPolicy).toBe('SingleStack');
    }
  });

  it('honours a requested ClusterIP, refuses a taken one, frees it on delete, and keeps it immutable', async () => {
    // Random allocations may hold any address: request one nobody has.
    const used = new Set((await apiA.get('/api/v1/services')).body.items.map((s: any) => s.spec.clusterIP));
    const free = Array.from({ length: 252 }, (_, i) => `10.96.0.${i + 2}`).filter((ip) => !used.has(ip));
    const want = free[free.length - 1];
    const first = await apiA.post(svcs, svc('want-ip', { clusterIP: want }));
    expect(first.status, first.text).toBe(201);
    expect(first.body.spec.clusterIP).toBe(want);
    const taken = await apiB.post(svcs, svc('want-ip-too', { clusterIP: want }));
    expect(taken.status).toBe(422);
    expect(taken.body.message).toContain('provided IP is already allocated');
    const outside = await apiA.post(svcs, svc('outside', { clusterIP: '10.0.0.5' }));
    expect(outside.status).toBe(422);
    const change = await update(a.url, `${svcs}/want-ip`, { spec: { clusterIP: free[0] } });
    expect(change.status).toBe(422);
    expect((await apiA.del(`${svcs}/want-ip`)).status).toBe(200);
    const again = await apiB.post(svcs, svc('want-ip-too', { clusterIP: want }));
    expect(again.status, again.text).toBe(201);
  });

  it('headless Services get no address', async () => {
    const h = await apiA.post(svcs, svc('headless', { clusterIP: 'None' }));
    expect(h.status, h.text).toBe(201);
    expect(h.body.spec.clusterIP).toBe('None');
    expect(h.body.spec.clusterIPs).toEqual(['None']);
  });

  it('allocates NodePorts, honours requested ones and refuses taken ones', async () => {
    const np = await apiA.post(svcs, svc('np', { type: 'NodePort', ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https', nodePort: 30050 }] }));
    expect(np.status, np.text).toBe(201);
    const [p80, p443] = np.body.spec.ports;
    expect(p80.nodePort).toBeGreaterThanOrEqual(30000);
    expect(p80.nodePort).toBeLessThanOrEqual(30100);
    expect(p443.nodePort).toBe(30050);
    const clash = await apiB.post(svcs, svc('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30050 }] }));
    expect(clash.status).toBe(422);
    expect(clash.body.message).toContain('provided port is already allocated');
    const kept = await update(a.url, `${svcs}/np`, { metadata: { labels: { x: 'y' } } });
    expect(kept.body.spec.ports.map((p: any) => p.nodePort)).toEqual([p80.nodePort, 30050]);
  });

  it('keeps exactly one allocation per live address and port, also after failed creates', async () => {
    const clash = await apiA.post(svcs, svc('np3', { type: 'NodePort', ports: [{ port: 80, nodePort: 30050 }] }));
    expect(clash.status).toBe(422);
    const list = (await apiA.get('/api/v1/services')).body.items;
    const ips = list.map((s: any) => s.spec.clusterIP).filter((ip: string) => ip && ip !== 'None');
    const ports = list.flatMap((s: any) => (s.spec.ports ?? []).map((p: any) => p.nodePort).filter(Boolean));
    const etcd = new Etcd3({ hosts: a.etcdEndpoint });
    try {
      const ipKeys = await etcd.getAll().prefix('/registry/ranges/serviceips/').keys();
      const portKeys = await etcd.getAll().prefix('/registry/ranges/servicenodeports/').keys();
      expect(ipKeys.map((k) => k.split('/').pop()).sort()).toEqual([...ips].sort());
      expect(portKeys.map((k) => Number(k.split('/').pop())).sort()).toEqual([...ports].sort());
    } finally {
      etcd.close();
    }
  });
});
