// Object builders for controller unit tests.

import type { Deployment, Pod, ReplicaSet } from '../../api/types.js';

export const template = (labels: Record<string, string>, image = 'busybox:latest') => ({
  metadata: { labels },
  spec: { containers: [{ name: 'c', image }] },
});

export function replicaSet(name: string, replicas: number, labels: Record<string, string> = { app: name }, extra: Partial<ReplicaSet['metadata']> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z', ...extra },
    spec: { replicas, selector: { matchLabels: labels }, template: template(labels) },
  };
}

export interface PodState {
  node?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  ready?: boolean;
  created?: string;
  readySince?: string;
  ip?: string;
}

export function pod(name: string, labels: Record<string, string>, owner?: { kind: string; name: string; uid: string }, s: PodState = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      resourceVersion: '1',
      labels,
      creationTimestamp: s.created ?? '2026-01-01T00:00:00Z',
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', ...owner, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'busybox:latest' }], ...(s.node ? { nodeName: s.node } : {}) },
    status: {
      phase: s.phase ?? 'Running',
      ...(s.ip ? { podIP: s.ip } : {}),
      conditions: [{ type: 'Ready', status: s.ready === false ? 'False' : 'True', lastTransitionTime: s.readySince ?? '2026-01-01T00:00:00Z' }],
    },
  };
}

export function deployment(name: string, replicas: number, labels: Record<string, string> = { app: name }, image = 'busybox:latest'): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: template(labels, image),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
  };
}
