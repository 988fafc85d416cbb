import { describe, expect, it } from 'vitest';
import type { KubeObject } from './types.js';
import { normalizeDecoded } from './normalize.js';
import { R } from './resources.js';

describe('normalizeDecoded', () => {
  it('drops what Go decodes to a zero value in a Deployment template: nulls, creationTimestamp: null, resources: {}', () => {
    const d = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', annotations: { a: 'b' } },
      spec: {
        template: {
          metadata: { creationTimestamp: null, labels: { app: 'web' } },
          spec: { nodeSelector: null, containers: [{ name: 'c', image: 'busybox', resources: {}, args: null }], initContainers: [{ name: 'i', image: 'busybox', resources: { limits: {}, requests: { cpu: '1' } } }] },
        },
      },
    } as unknown as KubeObject;
    normalizeDecoded(R.deployments, d);
    expect(d.spec.template).toEqual({
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }], initContainers: [{ name: 'i', image: 'busybox', resources: { requests: { cpu: '1' } } }] },
    });
  });

  it('normalises a pod spec but leaves status alone (lastProbeTime: null is kube\'s own output)', () => {
    const p = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x', resources: {} }], hostname: null }, status: { conditions: [{ type: 'Ready', lastProbeTime: null }] } } as unknown as KubeObject;
    normalizeDecoded(R.pods, p);
    expect(p.spec).toEqual({ containers: [{ name: 'c', image: 'x' }] });
    expect(p.status.conditions[0]).toHaveProperty('lastProbeTime', null);
  });

  it('leaves a body of the wrong shape for validation to refuse', () => {
    const d = { metadata: {}, spec: { template: 'x' } } as unknown as KubeObject;
    normalizeDecoded(R.replicasets, d);
    expect(d.spec.template).toBe('x');
  });
});
