// Endpoints follow pods, and a node that stops heartbeating is marked
// Unknown, tainted, and emptied: its pods are evicted once their toleration
// runs out and replaced elsewhere, and the Endpoints drop them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Deployment, Endpoints, Node, Pod, Service } from '../../api/types.js';
import { waitFor } from '../util/ports.js';
import { startControllerCluster, type ControllerCluster } from './harness.js';

let c: ControllerCluster;
beforeAll(async () => {
  c = await startControllerCluster({ nodes: 3, cmArgs: ['--node-monitor-grace-period=3s'] });
});
afterAll(async () => {
  await c?.stop();
});

const endpointIps = async () => {
  const ep = await c.client.resource<Endpoints>(R.endpoints, 'default').get('api').catch(() => undefined);
  return (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => `${a.ip}:${s.ports?.[0].port}`)).sort();
};
const livePods = async () => (await c.client.resource<Pod>(R.pods, 'default').list({ labelSelector: 'app=api' })).items.filter((p) => !p.metadata.deletionTimestamp);

describe('Endpoints and node lifecycle (integration)', () => {
  it('publishes ready pods of a Service with a named targetPort', async () => {
    const d: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [{ name: 'c', image: 'busybox:latest', ports: [{ name: 'http', containerPort: 8080 }] }],
            tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }],
          },
        },
      },
    };
    await c.client.resource<Deployment>(R.deployments, 'default').create(d);
    const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'default' }, spec: { selector: { app: 'api' }, ports: [{ port: 80, targetPort: 'http' }] } };
    await c.client.resource<Service>(R.services, 'default').create(svc);
    const ips = await waitFor('3 endpoints', async () => {
      const e = await endpointIps();
      return e.length === 3 && e;
    }, 30_000, 200);
    const pods = await livePods();
    expect(ips).toEqual(pods.map((p) => `${p.status!.podIP}:8080`).sort());
  });

  it('taints a silent node, evicts its pods after their toleration and replaces them elsewhere', async () => {
    const victim = (await livePods())[0].spec.nodeName!;
    c.nodes.silence(victim);
    const node = await waitFor('node Unknown and tainted', async () => {
      const n = await c.client.resource<Node>(R.nodes).get(victim);
      const ready = n.status?.conditions?.find((x) => x.type === 'Ready');
      return ready?.status === 'Unknown' && n.spec.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') && n;
    }, 30_000, 200);
    expect(node.status!.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    await waitFor('pods moved off the node', async () => {
      const pods = await livePods();
      return pods.length === 3 && pods.every((p) => p.spec.nodeName !== victim && p.status?.phase === 'Running');
    }, 60_000, 250);
    await waitFor('endpoints without the evicted pods', async () => {
      const pods = await livePods();
      const e = await endpointIps();
      return JSON.stringify(e) === JSON.stringify(pods.map((p) => `${p.status!.podIP}:8080`).sort());
    }, 30_000, 250);
  });
});
