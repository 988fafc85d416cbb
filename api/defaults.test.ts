import { describe, expect, it } from 'vitest';
import { applyDefaults } from './defaults.js';
import { R } from './resources.js';

describe('applyDefaults', () => {
  it('pod and container defaults, with default tolerations', () => {
    const pod: any = { metadata: { name: 'p' }, spec: { containers: [
      { name: 'a', image: 'busybox', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { port: 80 } } },
      { name: 'b', image: 'registry:5000/x:1.2' },
      { name: 'c', image: 'nginx:latest' },
    ] } };
    applyDefaults(R.pods, pod);
    expect(pod.spec).toMatchObject({ restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler', securityContext: {}, enableServiceLinks: true });
    expect(pod.spec.containers.map((c: any) => c.imagePullPolicy)).toEqual(['Always', 'IfNotPresent', 'Always']);
    expect(pod.spec.containers[0]).toMatchObject({ terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      readinessProbe: { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3, httpGet: { path: '/', scheme: 'HTTP' } } });
    expect(pod.spec.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
  });

  it('keeps what the user set and does not duplicate tolerations', () => {
    const pod: any = { metadata: {}, spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Never' }],
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }] } };
    applyDefaults(R.pods, pod);
    applyDefaults(R.pods, pod);
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.spec.containers[0].imagePullPolicy).toBe('Never');
    expect(pod.spec.tolerations).toHaveLength(2);
    expect(pod.spec.tolerations[0].tolerationSeconds).toBe(5);
  });

  it('deployment defaults reach the pod template, without admission tolerations', () => {
    const d: any = { metadata: {}, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } } } };
    applyDefaults(R.deployments, d);
    expect(d.spec).toMatchObject({ replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } } });
    expect(d.spec.template.spec).toMatchObject({ restartPolicy: 'Always', containers: [{ imagePullPolicy: 'IfNotPresent' }] });
    expect(d.spec.template.spec.tolerations).toBeUndefined();
    const rs: any = { metadata: {}, spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } } };
    applyDefaults(R.replicasets, rs);
    expect(rs.spec.replicas).toBe(1);
    expect(rs.spec.template.spec.dnsPolicy).toBe('ClusterFirst');
  });

  it('service defaults', () => {
    const s: any = { metadata: {}, spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 53, protocol: 'UDP', targetPort: 'dns' }] } };
    applyDefaults(R.services, s);
    expect(s.spec).toMatchObject({ sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', externalTrafficPolicy: 'Cluster',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }, { port: 53, protocol: 'UDP', targetPort: 'dns' }] });
    const c: any = { metadata: {}, spec: { ports: [{ port: 1 }] } };
    applyDefaults(R.services, c);
    expect(c.spec.type).toBe('ClusterIP');
    expect(c.spec.externalTrafficPolicy).toBeUndefined();
  });

  it('namespace phase and endpoints protocol', () => {
    const ns: any = { metadata: {} };
    applyDefaults(R.namespaces, ns);
    expect(ns.status.phase).toBe('Active');
    const ep: any = { metadata: {}, subsets: [{ ports: [{ port: 80 }] }] };
    applyDefaults(R.endpoints, ep);
    expect(ep.subsets[0].ports[0].protocol).toBe('TCP');
  });

  it('leaves bodies of the wrong shape for validation to report', () => {
    const bad: any[] = [
      { metadata: {}, spec: 'x' },
      { metadata: {}, spec: { containers: 'x', tolerations: 'y' } },
      { metadata: {}, spec: { containers: [1, null, { name: 'a', ports: 'p', livenessProbe: 3 }] } },
    ];
    for (const o of bad) expect(() => applyDefaults(R.pods, o)).not.toThrow();
    expect(bad[2].spec.containers[2].terminationMessagePath).toBe('/dev/termination-log');
    const d: any = { metadata: {}, spec: { strategy: 'fast', template: 'x' } };
    expect(() => applyDefaults(R.deployments, d)).not.toThrow();
    expect(d.spec.replicas).toBe(1);
    expect(() => applyDefaults(R.services, { metadata: {}, spec: { ports: [{ port: 1 }], sessionAffinity: 'ClientIP', sessionAffinityConfig: 5 } } as any)).not.toThrow();
  });
});
