import { describe, expect, it } from 'vitest';
import { humanDuration, toTable } from './printers.js';
import { R } from '../api/resources.js';
import type { KubeObject } from '../api/types.js';

const now = new Date('2026-01-01T12:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
const cells = (r: typeof R.pods, o: KubeObject) => toTable(r, [o], {}, { now }).rows[0].cells;

describe('humanDuration', () => {
  it.each([[5, '5s'], [119, '119s'], [182, '3m2s'], [600, '10m'], [3 * 3600 + 60, '3h1m'], [10 * 3600, '10h'], [2 * 86400, '2d'], [3 * 86400 + 3600, '3d1h'], [400 * 86400, '400d'], [3 * 365 * 86400, '3y']])(
    '%d s -> %s', (s, want) => expect(humanDuration(s * 1000)).toBe(want));
});

describe('toTable', () => {
  it('pod columns, wide columns at priority 1, metadata rows by default', () => {
    const pod: KubeObject = { metadata: { name: 'p', namespace: 'd', creationTimestamp: ago(65) }, spec: { nodeName: 'n1', containers: [{ name: 'a' }, { name: 'b' }] },
      status: { phase: 'Running', podIP: '10.0.0.5', containerStatuses: [
        { name: 'a', ready: true, restartCount: 2, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ago(5) } } },
        { name: 'b', ready: false, restartCount: 0, state: { waiting: { reason: 'CrashLoopBackOff' } } },
      ] } };
    const t = toTable(R.pods, [pod], { resourceVersion: '7' }, { now });
    expect(t.columnDefinitions.map((c) => [c.name, c.priority])).toEqual([['Name', 0], ['Ready', 0], ['Status', 0], ['Restarts', 0], ['Age', 0],
      ['IP', 1], ['Node', 1], ['Nominated Node', 1], ['Readiness Gates', 1]]);
    expect(t.rows[0].cells).toEqual(['p', '1/2', 'CrashLoopBackOff', '2 (5s ago)', '65s', '10.0.0.5', 'n1', '<none>', '<none>']);
    expect(t.rows[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata });
    expect(t.metadata.resourceVersion).toBe('7');
    expect(toTable(R.pods, [pod], {}, { includeObject: 'Object' }).rows[0].object).toMatchObject({ kind: 'Pod', apiVersion: 'v1', spec: pod.spec });
    expect(toTable(R.pods, [pod], {}, { includeObject: 'None', noHeaders: true })).toMatchObject({ columnDefinitions: [], rows: [{ cells: expect.any(Array) }] });
    expect(toTable(R.pods, [pod], {}, { includeObject: 'None' }).rows[0].object).toBeUndefined();
  });

  it('pod status as kubectl shows it', () => {
    const base = { metadata: { name: 'p', creationTimestamp: ago(1) }, spec: { containers: [{ name: 'a' }] } };
    const status = (o: KubeObject) => cells(R.pods, o)[2];
    expect(status({ ...base, status: { phase: 'Pending' } })).toBe('Pending');
    expect(status({ ...base, status: { phase: 'Pending', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] } })).toBe('ContainerCreating');
    expect(status({ ...base, status: { phase: 'Succeeded', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] } })).toBe('Completed');
    expect(status({ ...base, status: { phase: 'Failed', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 137 } } }] } })).toBe('ExitCode:137');
    expect(status({ ...base, metadata: { ...base.metadata, deletionTimestamp: ago(0) }, status: { phase: 'Running' } })).toBe('Terminating');
    expect(status({ ...base, spec: { ...base.spec, initContainers: [{ name: 'i' }] }, status: { phase: 'Pending', initContainerStatuses: [{ name: 'i', ready: false, restartCount: 0, state: { running: {} } }] } })).toBe('Init:0/1');
  });

  it('deployments, replicasets, services, endpoints', () => {
    const tmpl = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }, { name: 's', image: 'busybox' }] } };
    expect(cells(R.deployments, { metadata: { name: 'd', creationTimestamp: ago(3600 * 50) }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: tmpl },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } })).toEqual(['d', '2/3', 3, 2, '2d2h', 'c,s', 'nginx:1,busybox', 'app=web']);
    expect(cells(R.replicasets, { metadata: { name: 'r', creationTimestamp: ago(10) }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: tmpl }, status: { replicas: 1 } }))
      .toEqual(['r', 2, 1, 0, '10s', 'c,s', 'nginx:1,busybox', 'app=web']);
    expect(cells(R.services, { metadata: { name: 's', creationTimestamp: ago(10) }, spec: { type: 'NodePort', clusterIP: '10.96.0.10', selector: { b: '2', a: '1' },
      ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } }))
      .toEqual(['s', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP,53/UDP', '10s', 'a=1,b=2']);
    const addrs = ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'].map((ip) => ({ ip }));
    expect(cells(R.endpoints, { metadata: { name: 'e', creationTimestamp: ago(1) }, subsets: [{ addresses: addrs, ports: [{ port: 80 }] }] })[1])
      .toBe('1.1.1.1:80,2.2.2.2:80,3.3.3.3:80 + 1 more...');
    expect(cells(R.endpoints, { metadata: { name: 'e', creationTimestamp: ago(1) } })[1]).toBe('<none>');
  });

  it('nodes, namespaces, events, configmaps, leases', () => {
    expect(cells(R.nodes, { metadata: { name: 'n', creationTimestamp: ago(30), labels: { 'node-role.kubernetes.io/control-plane': '' } }, spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Skiff', kernelVersion: '6.1', containerRuntimeVersion: 'docker://27' },
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } }))
      .toEqual(['n', 'Ready,SchedulingDisabled', 'control-plane', '30s', 'v1.32.0', '127.0.0.1', '<none>', 'Skiff', '6.1', 'docker://27']);
    expect(cells(R.namespaces, { metadata: { name: 'ns', creationTimestamp: ago(2) }, status: { phase: 'Active' } })).toEqual(['ns', 'Active', '2s']);
    expect(cells(R.events, { metadata: { name: 'p.1' }, involvedObject: { kind: 'Pod', name: 'p', fieldPath: 'spec.containers{a}' }, reason: 'Pulled', type: 'Normal',
      message: 'ok ', firstTimestamp: ago(20), lastTimestamp: ago(4), count: 3, source: { component: 'kubelet', host: 'n1' } }))
      .toEqual(['4s', 'Normal', 'Pulled', 'pod/p', 'spec.containers{a}', 'kubelet, n1', 'ok', '20s', 3, 'p.1']);
    expect(cells(R.configmaps, { metadata: { name: 'c', creationTimestamp: ago(1) }, data: { a: '1', b: '2' } })).toEqual(['c', 2, '1s']);
    expect(cells(R.leases, { metadata: { name: 'l', creationTimestamp: ago(1) }, spec: { holderIdentity: 'me' } })).toEqual(['l', 'me', '1s']);
  });
});
