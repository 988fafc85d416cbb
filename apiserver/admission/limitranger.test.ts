import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import type { AdmissionAttributes } from '../auth/types.js';
import { LimitRanger, limitRangerAnnotation } from './limitranger.js';

const lr = (limits: unknown[]): KubeObject => ({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'lr', namespace: 'ns' }, spec: { limits } });
const pod = (containers: unknown[]): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers } });
const attrs = (object: KubeObject, resource = R.pods, operation: AdmissionAttributes['operation'] = 'CREATE'): AdmissionAttributes =>
  ({ user: { username: 'u', groups: [] }, operation, resource, subresource: '', namespace: 'ns', name: object.metadata.name!, object, dryRun: false, warnings: [] });
const plugin = (...ranges: KubeObject[]) => new LimitRanger({ listLimitRanges: async () => ranges });

async function refusal(p: LimitRanger, a: AdmissionAttributes): Promise<{ code: number; message: string } | undefined> {
  try {
    await p.validate(a);
    return undefined;
  } catch (e) {
    return { code: (e as any).status.code, message: (e as any).status.message };
  }
}

describe('LimitRanger', () => {
  const ranges = lr([{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' }, max: { cpu: '1' }, min: { cpu: '50m' } }]);

  it('defaults requests and limits into containers and says so in the annotation', async () => {
    const p = pod([{ name: 'app', image: 'x' }, { name: 'side', image: 'x', resources: { limits: { cpu: '200m' } } }]);
    await plugin(ranges).admit(attrs(p));
    expect(p.spec.containers[0].resources).toEqual({ limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
    // A limit the user set is the request (kube defaults it while decoding, before admission), not the range's defaultRequest.
    expect(p.spec.containers[1].resources).toEqual({ limits: { cpu: '200m', memory: '256Mi' }, requests: { cpu: '200m', memory: '128Mi' } });
    expect(p.metadata.annotations![limitRangerAnnotation]).toBe('LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; memory request for container side; memory limit for container side');
  });

  it('refuses a container over max and under min with kube\'s messages', async () => {
    const over = await refusal(plugin(ranges), attrs(pod([{ name: 'app', image: 'x', resources: { limits: { cpu: '2' }, requests: { cpu: '100m' } } }])));
    expect(over).toEqual({ code: 403, message: 'pods "p" is forbidden: maximum cpu usage per Container is 1, but limit is 2' });
    const under = await refusal(plugin(ranges), attrs(pod([{ name: 'app', image: 'x', resources: { limits: { cpu: '500m' }, requests: { cpu: '10m' } } }])));
    expect(under?.message).toBe('pods "p" is forbidden: minimum cpu usage per Container is 50m, but request is 10m');
    const ok = await refusal(plugin(ranges), attrs(pod([{ name: 'app', image: 'x', resources: { limits: { cpu: '1000m' }, requests: { cpu: '50m' } } }])));
    expect(ok).toBeUndefined();
  });

  it('holds pods to a Pod-type max over the sum of their containers, and checks the ratio', async () => {
    const p = pod([{ name: 'a', image: 'x', resources: { limits: { memory: '600Mi' } } }, { name: 'b', image: 'x', resources: { limits: { memory: '600Mi' } } }]);
    const r = await refusal(plugin(lr([{ type: 'Pod', max: { memory: '1Gi' } }])), attrs(p));
    expect(r?.message).toBe('pods "p" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1200Mi');
    const ratio = await refusal(plugin(lr([{ type: 'Container', maxLimitRequestRatio: { cpu: '2' } }])),
      attrs(pod([{ name: 'a', image: 'x', resources: { limits: { cpu: '1' }, requests: { cpu: '250m' } } }])));
    expect(ratio?.message).toBe('pods "p" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000');
  });

  it('lists several refusals as kube\'s aggregate, and checks claims against PersistentVolumeClaim items', async () => {
    const two = await refusal(plugin(lr([{ type: 'Container', max: { cpu: '1', memory: '1Gi' } }])),
      attrs(pod([{ name: 'a', image: 'x', resources: { limits: { cpu: '2', memory: '2Gi' } } }])));
    expect(two?.message).toBe('pods "p" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Container is 1Gi, but limit is 2Gi]');
    const pvc: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'ns' }, spec: { resources: { requests: { storage: '10Gi' } } } };
    const r = await refusal(plugin(lr([{ type: 'PersistentVolumeClaim', max: { storage: '5Gi' } }])), attrs(pvc, R.persistentvolumeclaims));
    expect(r?.message).toBe('persistentvolumeclaims "data" is forbidden: maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 10Gi');
  });

  it('leaves pod updates and other kinds alone', async () => {
    const p = pod([{ name: 'app', image: 'x', resources: { limits: { cpu: '2' } } }]);
    expect(await refusal(plugin(ranges), attrs(p, R.pods, 'UPDATE'))).toBeUndefined();
    await plugin(ranges).admit(attrs(p, R.pods, 'UPDATE'));
    expect(p.metadata.annotations).toBeUndefined();
  });
});
