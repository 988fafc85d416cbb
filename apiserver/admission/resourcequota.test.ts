import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import type { AdmissionAttributes } from '../auth/types.js';
import { ResourceQuotaAdmission } from './resourcequota.js';

const quota = (name: string, hard: Record<string, string>, used: Record<string, string>, spec: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name, namespace: 'ns', resourceVersion: '1' }, spec: { hard, ...spec }, status: { hard, used } });
const pod = (name: string, resources?: unknown): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns' }, spec: { containers: [{ name: 'app', image: 'x', ...(resources ? { resources } : {}) }] } });
const attrs = (object: KubeObject, resource = R.pods, dryRun = false): AdmissionAttributes =>
  ({ user: { username: 'u', groups: [] }, operation: 'CREATE', resource, subresource: '', namespace: 'ns', name: object.metadata.name!, object, dryRun, warnings: [] });

/** A one-namespace quota store whose status writes are compare-and-swap on resourceVersion, with a yield between read and write. */
function store(...quotas: KubeObject[]) {
  const byName = new Map(quotas.map((q) => [q.metadata.name!, q]));
  let conflicts = 0;
  const plugin = new ResourceQuotaAdmission({
    listQuotas: async () => [...byName.values()].map((q) => structuredClone(q)),
    updateQuotaStatus: async (_ns, name, mutate) => {
      for (;;) {
        const read = structuredClone(byName.get(name)!);
        await new Promise((r) => setImmediate(r));
        const next = mutate(structuredClone(read));
        if (byName.get(name)!.metadata.resourceVersion !== read.metadata.resourceVersion) { conflicts++; continue; }
        next.metadata.resourceVersion = String(Number(read.metadata.resourceVersion) + 1);
        byName.set(name, next);
        return next;
      }
    },
  });
  return { plugin, get: (n: string) => byName.get(n)!, conflicts: () => conflicts };
}

async function refusal(p: ResourceQuotaAdmission, a: AdmissionAttributes): Promise<string | undefined> {
  try {
    await p.validate(a);
    return undefined;
  } catch (e) {
    expect((e as any).status.code).toBe(403);
    return (e as any).status.message;
  }
}

describe('ResourceQuota admission', () => {
  it('charges an admitted pod to status.used and refuses the one over the limit with kube\'s message', async () => {
    const s = store(quota('q', { pods: '2' }, { pods: '1' }));
    expect(await refusal(s.plugin, attrs(pod('a')))).toBeUndefined();
    expect(s.get('q').status.used).toEqual({ pods: '2' });
    expect(await refusal(s.plugin, attrs(pod('b')))).toBe('pods "b" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2');
    expect(s.get('q').status.used).toEqual({ pods: '2' });
  });

  it('admits exactly the limit when creates race: each charge is a CAS checked again after a conflict', async () => {
    const s = store(quota('q', { pods: '3' }, { pods: '0' }));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => refusal(s.plugin, attrs(pod(`p${i}`)))));
    expect(results.filter((r) => r === undefined)).toHaveLength(3);
    expect(results.filter((r) => r?.includes('exceeded quota: q'))).toHaveLength(7);
    expect(s.get('q').status.used).toEqual({ pods: '3' });
    expect(s.conflicts()).toBeGreaterThan(0);
  });

  it('requires requests when a quota limits them, and sums compute in canonical form', async () => {
    const s = store(quota('compute', { 'requests.cpu': '1', 'requests.memory': '1Gi' }, { 'requests.cpu': '0', 'requests.memory': '0' }));
    expect(await refusal(s.plugin, attrs(pod('bare')))).toBe('pods "bare" is forbidden: failed quota: compute: must specify requests.cpu for: app; requests.memory for: app');
    await s.plugin.validate(attrs(pod('a', { requests: { cpu: '600m', memory: '512Mi' } })));
    expect(s.get('compute').status.used).toEqual({ 'requests.cpu': '600m', 'requests.memory': '512Mi' });
    expect(await refusal(s.plugin, attrs(pod('b', { requests: { cpu: '500m', memory: '128Mi' } }))))
      .toBe('pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1');
  });

  it('counts services, node ports and object counts, and charges nothing on a dry run or when one quota refuses', async () => {
    const s = store(quota('a', { services: '5', 'services.nodeports': '1' }, { services: '0', 'services.nodeports': '0' }), quota('b', { 'count/services': '1' }, { 'count/services': '1' }));
    const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'ns' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } };
    expect(await refusal(s.plugin, attrs(svc, R.services))).toBe('services "s" is forbidden: exceeded quota: b, requested: count/services=1, used: count/services=1, limited: count/services=1');
    expect(s.get('a').status.used).toEqual({ services: '0', 'services.nodeports': '0' });
    const s2 = store(quota('a', { services: '5', 'services.nodeports': '1' }, { services: '0', 'services.nodeports': '0' }));
    await s2.plugin.validate(attrs(svc, R.services, true));
    expect(s2.get('a').status.used).toEqual({ services: '0', 'services.nodeports': '0' });
    await s2.plugin.validate(attrs(svc, R.services));
    expect(s2.get('a').status.used).toEqual({ services: '1', 'services.nodeports': '1' });
  });

  it('ignores quotas whose scopes do not match, and quotas without status yet', async () => {
    const s = store(quota('be', { pods: '0' }, { pods: '0' }, { scopes: ['BestEffort'] }), { ...quota('new', { pods: '0' }, {}), status: {} });
    expect(await refusal(s.plugin, attrs(pod('guaranteed', { requests: { cpu: '1' }, limits: { cpu: '1' } })))).toBeUndefined();
    expect(await refusal(s.plugin, attrs(pod('besteffort')))).toContain('exceeded quota: be, requested: pods=1, used: pods=0, limited: pods=0');
  });
});
