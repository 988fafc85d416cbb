import { describe, expect, it } from 'vitest';
import { canonicalQuantity, formatQuantity, podConstraints, podUsage, resourceForQuotaName, usageOf } from './quota.js';

describe('quota accounting', () => {
  it('prints quantities in canonical form as Quantity.String()', () => {
    expect(canonicalQuantity('1000m')).toBe('1');
    expect(canonicalQuantity('1500m')).toBe('1500m');
    expect(canonicalQuantity('0.5')).toBe('500m');
    expect(canonicalQuantity('2000')).toBe('2k');
    expect(canonicalQuantity('1024Mi')).toBe('1Gi');
    expect(canonicalQuantity('1.5Gi')).toBe('1536Mi');
    expect(formatQuantity(0)).toBe('0');
    expect(formatQuantity(3000)).toBe('3');
  });

  it('counts a pod\'s compute as the sum of its containers, at least its largest init container, and none once it finished', () => {
    const pod = {
      metadata: { name: 'p' },
      spec: {
        initContainers: [{ name: 'i', resources: { requests: { cpu: '2' } } }],
        containers: [{ name: 'a', resources: { requests: { cpu: '500m', memory: '64Mi' }, limits: { memory: '128Mi' } } }, { name: 'b', resources: { requests: { cpu: '250m' } } }],
      },
      status: { phase: 'Running' },
    };
    expect(podUsage(pod)).toEqual({ 'count/pods': 1000, pods: 1000, cpu: 2000, 'requests.cpu': 2000, memory: 64 * 2 ** 20 * 1000, 'requests.memory': 64 * 2 ** 20 * 1000, 'limits.memory': 128 * 2 ** 20 * 1000 });
    expect(podUsage({ ...pod, status: { phase: 'Succeeded' } })).toEqual({ 'count/pods': 1000 });
  });

  it('names the resource a quota name is counted on, and what other kinds use', () => {
    expect(resourceForQuotaName('requests.cpu')).toEqual({ plural: 'pods', group: '' });
    expect(resourceForQuotaName('requests.storage')).toEqual({ plural: 'persistentvolumeclaims', group: '' });
    expect(resourceForQuotaName('gold.storageclass.storage.k8s.io/requests.storage')).toEqual({ plural: 'persistentvolumeclaims', group: '' });
    expect(resourceForQuotaName('count/deployments.apps')).toEqual({ plural: 'deployments', group: 'apps' });
    expect(resourceForQuotaName('services.loadbalancers')).toEqual({ plural: 'services', group: '' });
    expect(usageOf({ plural: 'services', group: '' }, { metadata: {}, spec: { type: 'LoadBalancer', ports: [{ port: 1 }] } }))
      .toEqual({ 'count/services': 1000, services: 1000, 'services.loadbalancers': 1000, 'services.nodeports': 1000 });
    expect(usageOf({ plural: 'deployments', group: 'apps' }, { metadata: {} })).toEqual({ 'count/deployments.apps': 1000 });
  });

  it('says which containers miss a limited compute resource', () => {
    const pod = { metadata: {}, spec: { containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }, { name: 'b' }] } };
    expect(podConstraints(['requests.cpu', 'limits.memory', 'pods'], pod)).toBe('must specify limits.memory for: a,b; requests.cpu for: b');
    expect(podConstraints(['pods'], pod)).toBeUndefined();
  });
});
