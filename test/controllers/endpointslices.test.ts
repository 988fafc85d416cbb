// EndpointSlices as stored objects: the EndpointSlice controller in the real
// controller-manager writes them for a Service's pods (grouped by the port a
// named targetPort resolves to), follows readiness and deletions, and the
// garbage collector removes them with the Service; the mirroring controller
// copies a selector-less Service's Endpoints into slices. The API server validates
// slices written by anyone else, and kubectl sees one discovery.k8s.io
// resource with explain and Table output.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Endpoints, EndpointSlice, Pod, Service } from '../../api/types.js';
import { Kubectl } from '../util/kubectl.js';
import { waitFor } from '../util/ports.js';
import { startControllerCluster, type ControllerCluster } from './harness.js';

let c: ControllerCluster;
let kubectl: Kubectl;
beforeAll(async () => {
  c = await startControllerCluster({ nodes: 2 });
  kubectl = new Kubectl(c.api.url);
});
afterAll(async () => {
  await c?.stop();
});

const slicesOf = async (svc: string) =>
  (await c.client.resource<EndpointSlice>(R.endpointslices, 'default').list({ labelSelector: `kubernetes.io/service-name=${svc}` })).items;
const pods = () => c.client.resource<Pod>(R.pods, 'default');

function webPod(name: string, port: number): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'es' } },
    spec: { containers: [{ name: 'c', image: 'busybox:latest', ports: [{ name: 'http', containerPort: port }] }], terminationGracePeriodSeconds: 0 },
  };
}

/** "ip:port ready" per endpoint across all slices, sorted. */
const summary = (slices: EndpointSlice[]) =>
  slices.flatMap((s) => (s.endpoints ?? []).map((e) => `${e.targetRef?.name}:${s.ports?.[0]?.port}:${e.conditions?.ready}`)).sort();

describe('EndpointSlices (integration)', () => {
  let svc: Service;

  it('writes slices for a Service, one per resolved port mapping, with owner and labels', async () => {
    for (const [n, p] of [['a', 8080], ['b', 8080], ['c', 9090]] as const) await pods().create(webPod(n, p));
    svc = await c.client.resource<Service>(R.services, 'default').create({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'es', namespace: 'default', labels: { team: 'x' } },
      spec: { selector: { app: 'es' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    });
    const slices = await waitFor('slices for a, b and c', async () => {
      const s = await slicesOf('es');
      return summary(s).join(' ') === 'a:8080:true b:8080:true c:9090:true' && s;
    }, 30_000, 200);
    expect(slices).toHaveLength(2);
    for (const s of slices) {
      expect(s.metadata.name).toMatch(/^es-[a-z0-9]{5}$/);
      expect(s.metadata.labels).toEqual({ team: 'x', 'kubernetes.io/service-name': 'es', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
      expect(s.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Service', name: 'es', uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(s.addressType).toBe('IPv4');
      expect(s.ports).toEqual([{ name: 'web', port: s.ports![0].port, protocol: 'TCP' }]);
      for (const e of s.endpoints!) {
        const p = await pods().get(e.targetRef!.name);
        expect(e).toMatchObject({ addresses: [p.status!.podIP], nodeName: p.spec.nodeName, conditions: { ready: true, serving: true, terminating: false },
          targetRef: { kind: 'Pod', namespace: 'default', name: p.metadata.name, uid: p.metadata.uid } });
      }
    }
  });

  it('follows readiness in place and drops a port mapping whose pods are gone', async () => {
    const before = await slicesOf('es');
    const a = await pods().get('a');
    a.status!.conditions = a.status!.conditions!.map((x) => (x.type === 'Ready' || x.type === 'ContainersReady' ? { ...x, status: 'False' } : x));
    await pods().updateStatus(a);
    const after = await waitFor('a not ready', async () => {
      const s = await slicesOf('es');
      return summary(s).join(' ') === 'a:8080:false b:8080:true c:9090:true' && s;
    }, 30_000, 200);
    const of = (slices: EndpointSlice[], port: number) => slices.find((s) => s.ports?.[0]?.port === port)!;
    expect(of(after, 8080).metadata.name).toBe(of(before, 8080).metadata.name);
    // One write for one changed endpoint: generation moves by one.
    expect(of(after, 8080).metadata.generation).toBe(of(before, 8080).metadata.generation! + 1);
    expect(of(after, 8080).endpoints!.find((e) => e.targetRef!.name === 'a')!.conditions).toEqual({ ready: false, serving: false, terminating: false });

    await pods().delete('c', { gracePeriodSeconds: 0 });
    const left = await waitFor('the 9090 slice deleted', async () => {
      const s = await slicesOf('es');
      return s.length === 1 && s;
    }, 30_000, 200);
    expect(left[0].metadata.name).toBe(of(before, 8080).metadata.name);
    expect(summary(left)).toEqual(['a:8080:false', 'b:8080:true']);
  });

  it('rejects invalid slices with 422 and field causes', async () => {
    const client = c.client.resource<EndpointSlice>(R.endpointslices, 'default');
    const bad = await client.create({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'manual', namespace: 'default' },
      addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }], ports: [{ name: 'Bad', port: 80 }],
    }).catch((e) => e);
    expect(isStatusError(bad) && bad.code).toBe(422);
    expect(bad.status.details.causes).toEqual([
      { reason: 'FieldValueInvalid', message: 'Invalid value: "fd00::1": must be a valid IPv4 address', field: 'endpoints[0].addresses[0]' },
      expect.objectContaining({ field: 'ports[0].name', reason: 'FieldValueInvalid' }),
    ]);
    const ok = await client.create({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'manual', namespace: 'default' },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'] }], ports: [{ port: 80 }],
    });
    expect(ok.ports).toEqual([{ name: '', port: 80, protocol: 'TCP' }]);
    const moved = await client.update({ ...ok, addressType: 'IPv6', endpoints: [{ addresses: ['fd00::1'] }] }).catch((e) => e);
    expect(isStatusError(moved) && moved.code).toBe(422);
    expect(moved.status.message).toBe('EndpointSlice.discovery.k8s.io "manual" is invalid: addressType: Invalid value: "IPv6": field is immutable');
    await client.delete('manual');
  });

  it('serves the kubernetes slice from the API server bootstrap, and kubectl reads slices from discovery', async () => {
    const k = await c.client.resource<EndpointSlice>(R.endpointslices, 'default').get('kubernetes');
    expect(k.metadata.labels).toEqual({ 'kubernetes.io/service-name': 'kubernetes' });
    expect(k.endpoints).toEqual([{ addresses: ['127.0.0.1'], conditions: { ready: true } }]);
    expect(k.ports).toEqual([{ name: 'https', port: Number(new URL(c.api.url).port), protocol: 'TCP' }]);

    const resources = (await kubectl.ok(['api-resources'])).split('\n').filter((l) => l.startsWith('endpointslices '));
    expect(resources).toHaveLength(1);
    expect(resources[0]).toMatch(/^endpointslices\s+discovery\.k8s\.io\/v1\s+true\s+EndpointSlice$/);
    expect(await kubectl.ok(['explain', 'endpointslice.endpoints.conditions'])).toMatch(/^FIELD: conditions <EndpointConditions>$/m);
    const wide = (await kubectl.ok(['get', 'endpointslices', '-o', 'wide', '-l', 'kubernetes.io/service-name=es'])).split('\n');
    expect(wide[0]).toMatch(/^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/);
    expect(wide[1]).toMatch(/^es-[a-z0-9]{5}\s+IPv4\s+8080\s+10\.244\.\d+\.\d+,10\.244\.\d+\.\d+\s+\d+s$/);
  });

  it('mirrors the Endpoints of a selector-less Service, and not the API server\'s own', async () => {
    await c.client.resource<Service>(R.services, 'default').create({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { ports: [{ name: 'db', port: 5432 }] },
    });
    await c.client.resource<Endpoints>(R.endpoints, 'default').create({
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'ext', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.1.0.7' }], notReadyAddresses: [{ ip: '10.1.0.8' }], ports: [{ name: 'db', port: 5432 }] }],
    });
    const [m] = await waitFor('mirrored slice', async () => {
      const s = await slicesOf('ext');
      return s.length === 1 && s;
    }, 30_000, 200);
    expect(m.metadata.labels).toEqual({ 'kubernetes.io/service-name': 'ext', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' });
    expect(m.metadata.ownerReferences).toMatchObject([{ kind: 'Endpoints', name: 'ext', controller: true }]);
    expect(m.endpoints).toEqual([{ addresses: ['10.1.0.7'], conditions: { ready: true } }, { addresses: ['10.1.0.8'], conditions: { ready: false } }]);
    expect(m.ports).toEqual([{ name: 'db', port: 5432, protocol: 'TCP' }]);
    expect(await kubectl.ok(['describe', 'service', 'ext'])).toMatch(/^Endpoints:\s+10\.1\.0\.7:5432$/m);
    expect((await slicesOf('kubernetes')).map((s) => s.metadata.name)).toEqual(['kubernetes']);
    await c.client.resource<Endpoints>(R.endpoints, 'default').delete('ext');
    await waitFor('mirrored slice gone', async () => (await slicesOf('ext')).length === 0, 30_000, 200);
  });

  it('keeps a placeholder without pods, and the garbage collector deletes the slices with the Service', async () => {
    await pods().delete('a', { gracePeriodSeconds: 0 });
    await pods().delete('b', { gracePeriodSeconds: 0 });
    const placeholder = await waitFor('placeholder slice', async () => {
      const s = await slicesOf('es');
      return s.length === 1 && s[0].endpoints === null && s[0];
    }, 30_000, 200);
    expect(placeholder.ports ?? null).toBeNull();
    await c.client.resource<Service>(R.services, 'default').delete('es');
    await waitFor('slices gone', async () => (await slicesOf('es')).length === 0, 30_000, 200);
  });
});
