import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { FakeInformerFactory, RecordingClient } from '../testing/fake.js';
import { ResourceQuotaController } from './resourcequota.js';

const quota = (hard: Record<string, string>, status?: KubeObject['status'], scopes?: string[]): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'ns', uid: 'uid-q', resourceVersion: '5' }, spec: { hard, ...(scopes ? { scopes } : {}) }, ...(status ? { status } : {}) });
const pod = (name: string, requests?: Record<string, string>, phase = 'Running'): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns' }, spec: { containers: [{ name: 'c', image: 'x', ...(requests ? { resources: { requests, limits: requests } } : {}) }] }, status: { phase } });

function setup(q: KubeObject, seeds: Record<string, KubeObject[]>) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const c = new ResourceQuotaController({ client, informers });
  informers.informerFor(R.resourcequotas).set(q);
  client.seed('resourcequotas', q);
  for (const [plural, objs] of Object.entries(seeds)) client.seed(plural, ...objs);
  return { c, client };
}

describe('resourcequota-controller', () => {
  it('fills status.hard from spec and counts what the namespace holds (finished pods free their compute)', async () => {
    const { c, client } = setup(quota({ pods: '10', 'requests.cpu': '2', 'requests.memory': '1Gi', 'count/pods': '20', configmaps: '5', services: '2', 'services.nodeports': '4' }), {
      pods: [pod('a', { cpu: '250m', memory: '256Mi' }), pod('b', { cpu: '500m', memory: '128Mi' }), pod('done', { cpu: '1' }, 'Succeeded')],
      configmaps: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns' } }],
      services: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'ns' }, spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 443 }] } }],
    });
    await c.sync('ns/q');
    const [w] = client.of('updateStatus', 'resourcequotas');
    expect(w.object!.metadata.resourceVersion).toBe('5');
    expect(w.object!.status).toEqual({
      hard: { pods: '10', 'requests.cpu': '2', 'requests.memory': '1Gi', 'count/pods': '20', configmaps: '5', services: '2', 'services.nodeports': '4' },
      used: { pods: '2', 'requests.cpu': '750m', 'requests.memory': '384Mi', 'count/pods': '3', configmaps: '1', services: '1', 'services.nodeports': '2' },
    });
  });

  it('writes nothing when the status is already right, and honours scopes', async () => {
    const status = { hard: { pods: '3' }, used: { pods: '1' } };
    const { c, client } = setup(quota({ pods: '3' }, status, ['BestEffort']), { pods: [pod('be'), pod('sized', { cpu: '1' })] });
    await c.sync('ns/q');
    expect(client.of('updateStatus', 'resourcequotas')).toHaveLength(0);
  });
});
