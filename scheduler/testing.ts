// Builders for tests: Ready nodes with allocatable resources and pods with
// requests, in the shapes the API server would return.

import type { Node, Pod, Taint } from '../api/types.js';
import { NodeInfo } from './framework.js';

export function makeNode(name: string, opts: { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string>; taints?: Taint[]; unschedulable?: boolean; ready?: 'True' | 'False' | 'Unknown' | null } = {}): Node {
  const allocatable = { cpu: opts.cpu ?? '4', memory: opts.memory ?? '16Gi', pods: opts.pods ?? '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: { taints: opts.taints, unschedulable: opts.unschedulable },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: opts.ready === null ? [] : [{ type: 'Ready', status: opts.ready ?? 'True' }],
    },
  };
}

export function makePod(name: string, opts: { cpu?: string; memory?: string; namespace?: string; nodeName?: string; ownerUid?: string; hostPort?: number; priority?: number; creationTimestamp?: string } & Partial<Pod['spec']> = {}): Pod {
  const { cpu, memory, namespace, ownerUid, hostPort, creationTimestamp, ...spec } = opts;
  const requests: Record<string, string> = {};
  if (cpu) requests.cpu = cpu;
  if (memory) requests.memory = memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: namespace ?? 'default',
      uid: `uid-${name}`,
      creationTimestamp,
      ownerReferences: ownerUid ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: ownerUid, controller: true }] : undefined,
    },
    spec: {
      ...spec,
      containers: [{ name: 'c', image: 'busybox', resources: { requests }, ports: hostPort ? [{ containerPort: 80, hostPort }] : undefined }],
    },
    status: { phase: 'Pending' },
  };
}

export function makeNodeInfo(node: Node, ...pods: Pod[]): NodeInfo {
  const ni = new NodeInfo(node);
  for (const p of pods) ni.addPod({ ...p, spec: { ...p.spec, nodeName: node.metadata.name } });
  return ni;
}
