import { describe, expect, it } from 'vitest';
import { applyDefaults } from './defaults.js';
import { R } from './resources.js';
import { pruneUnknownFields, validateObject } from './validation.js';
import type { KubeObject, ObjectMeta } from './types.js';

const deployment = (): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', creationTimestamp: null as unknown as string },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80 }] }] } },
    strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
  },
});

const fields = (causes: { field?: string }[]) => causes.map((c) => c.field);

describe('validateObject', () => {
  it('accepts a valid deployment, before and after defaults', () => {
    const d = deployment();
    expect(validateObject(R.deployments, d)).toEqual([]);
    applyDefaults(R.deployments, d);
    expect(validateObject(R.deployments, d)).toEqual([]);
  });

  it('reports schema problems with kube field paths and reasons', () => {
    const d = deployment();
    d.spec.replicas = 'three';
    d.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
    delete d.spec.template.spec.containers[0].name;
    d.spec.strategy.rollingUpdate.maxSurge = true;
    const causes = validateObject(R.deployments, d);
    expect(causes).toContainEqual({ field: 'spec.template.spec.containers[0].name', reason: 'FieldValueRequired', message: 'Required value' });
    expect(causes).toContainEqual({ field: 'spec.template.spec.containers[0].imagePullPolicy', reason: 'FieldValueNotSupported',
      message: 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"' });
    expect(fields(causes)).toContain('spec.replicas');
    expect(causes).toContainEqual({ field: 'spec.strategy.rollingUpdate.maxSurge', reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: true: spec.strategy.rollingUpdate.maxSurge in body must be of type integer or string' });
  });

  it('selector must match template labels and may not change', () => {
    const d = deployment();
    d.spec.template.metadata.labels = { app: 'other' };
    expect(validateObject(R.deployments, d)).toContainEqual({ field: 'spec.template.metadata.labels', reason: 'FieldValueInvalid',
      message: 'Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`' });
    const old = deployment();
    const next = deployment();
    next.spec.selector = { matchLabels: { app: 'web', v: '2' } };
    next.spec.template.metadata.labels.v = '2';
    expect(validateObject(R.deployments, next, { old }).map((c) => c.message)).toContainEqual(expect.stringContaining('field is immutable'));
  });

  it('workload rules: replicas, empty selector, maxSurge and maxUnavailable', () => {
    const d = deployment();
    d.spec.replicas = -1;
    d.spec.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: '0%' };
    const causes = validateObject(R.deployments, d);
    expect(causes).toContainEqual({ field: 'spec.replicas', reason: 'FieldValueInvalid', message: 'Invalid value: -1: must be greater than or equal to 0' });
    expect(fields(causes)).toContain('spec.strategy.rollingUpdate.maxUnavailable');
    const e = deployment();
    e.spec.selector = {};
    expect(validateObject(R.deployments, e)[0].message).toContain('empty selector is invalid for deployment');
  });

  it('names, labels, containers and ports', () => {
    const pod: KubeObject = { metadata: { name: 'Bad_Name', namespace: 'default', labels: { 'a/b/c': 'x', ok: 'bad value' } },
      spec: { containers: [{ name: 'a', image: 'i', ports: [{ containerPort: 70000 }] }, { name: 'a' }] } };
    const causes = validateObject(R.pods, pod);
    expect(causes.find((c) => c.field === 'metadata.name')?.message).toMatch(/^Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    expect(causes).toContainEqual({ field: 'spec.containers[1].name', reason: 'FieldValueDuplicate', message: 'Duplicate value: "a"' });
    expect(causes).toContainEqual({ field: 'spec.containers[1].image', reason: 'FieldValueRequired', message: 'Required value' });
    expect(causes).toContainEqual({ field: 'spec.containers[0].ports[0].containerPort', reason: 'FieldValueInvalid', message: 'Invalid value: 70000: must be between 1 and 65535, inclusive' });
    expect(causes.filter((c) => c.field === 'metadata.labels')).toHaveLength(2);
    expect(validateObject(R.pods, { metadata: { namespace: 'd' }, spec: { containers: [{ name: 'a', image: 'i' }] } }))
      .toContainEqual({ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' });
    expect(fields(validateObject(R.services, { metadata: { name: '1svc', namespace: 'd' }, spec: { ports: [{ port: 80 }] } }))).toEqual(['metadata.name']);
    expect(fields(validateObject(R.namespaces, { metadata: { name: 'a.b' } }))).toEqual(['metadata.name']);
  });

  it('treats null as absent, as Go decoding does', () => {
    const pod: KubeObject = { metadata: { name: 'p', namespace: 'd', labels: null as any }, spec: { containers: [{ name: 'a', image: 'i', ports: [null],
      resources: { limits: { cpu: null } }, readinessProbe: { httpGet: { port: 80 }, tcpSocket: { port: null } } }], nodeSelector: null } };
    expect(validateObject(R.pods, pod)).toEqual([
      { field: 'spec.containers[0].ports[0].containerPort', reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be between 1 and 65535, inclusive' },
    ]);
  });

  it('resource quantities', () => {
    const pod: KubeObject = { metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{ name: 'a', image: 'i',
      resources: { limits: { cpu: '500m', memory: 'lots' }, requests: { cpu: 1, memory: '64Mi' } } }] } };
    expect(validateObject(R.pods, pod)).toEqual([
      { field: 'spec.containers[0].resources.limits[memory]', reason: 'FieldValueInvalid', message: expect.stringContaining('Invalid value: "lots": quantities must match the regular expression') },
      { field: 'spec.containers[0].resources.requests[cpu]', reason: 'FieldValueInvalid', message: 'Invalid value: "1": must be less than or equal to cpu limit of 500m' },
    ]);
  });

  it('pod updates may change only images, deadlines and add tolerations', () => {
    const old: KubeObject = { metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{ name: 'a', image: 'i:1' }] } };
    applyDefaults(R.pods, old);
    const img = structuredClone(old);
    img.spec.containers[0].image = 'i:2';
    img.spec.tolerations.push({ key: 'k', operator: 'Exists', effect: 'NoSchedule' });
    expect(validateObject(R.pods, img, { old })).toEqual([]);
    const bad = structuredClone(old);
    bad.spec.restartPolicy = 'Never';
    expect(validateObject(R.pods, bad, { old })[0]).toMatchObject({ field: 'spec', reason: 'FieldValueForbidden' });
    const bound = structuredClone(old);
    bound.spec.nodeName = 'n1';
    expect(validateObject(R.pods, bound, { old, subresource: 'binding' })).toEqual([]);
  });

  it('service ports and clusterIP immutability', () => {
    const svc: KubeObject = { metadata: { name: 's', namespace: 'd' }, spec: { clusterIP: '10.96.0.5', ports: [{ port: 80 }, { port: 81, targetPort: 'Not_OK' }] } };
    const causes = validateObject(R.services, svc);
    expect(fields(causes)).toEqual(expect.arrayContaining(['spec.ports[0].name', 'spec.ports[1].name', 'spec.ports[1].targetPort']));
    const ok: KubeObject = { metadata: { name: 's', namespace: 'd' }, spec: { clusterIP: '10.96.0.6', ports: [{ port: 80 }] } };
    expect(validateObject(R.services, ok, { old: svc })).toContainEqual(expect.objectContaining({ field: 'spec.clusterIPs[0]' }));
    expect(validateObject(R.services, { metadata: { name: 's', namespace: 'd' }, spec: {} })).toContainEqual({ field: 'spec.ports', reason: 'FieldValueRequired', message: 'Required value' });
  });

  it('configmap keys and immutability', () => {
    const old: KubeObject = { metadata: { name: 'c', namespace: 'd' }, data: { a: '1' }, immutable: true };
    expect(fields(validateObject(R.configmaps, { ...old, data: { a: '2' } }, { old }))).toEqual(['data']);
    expect(fields(validateObject(R.configmaps, { metadata: old.metadata, data: { 'bad key': '1' } }))).toEqual(['data[bad key]']);
  });

  it('endpointslices: defaults, address checks by type, limits and an immutable addressType', () => {
    const slice = (extra: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abcde', namespace: 'default' },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ port: 80 }], ...extra,
    });
    const ok = slice();
    applyDefaults(R.endpointslices, ok);
    expect(ok.ports).toEqual([{ name: '', port: 80, protocol: 'TCP' }]);
    expect(validateObject(R.endpointslices, ok)).toEqual([]);
    const bare = slice({ endpoints: undefined });
    applyDefaults(R.endpointslices, bare);
    expect(bare.endpoints).toBeNull();
    expect(validateObject(R.endpointslices, bare)).toEqual([]);

    expect(validateObject(R.endpointslices, slice({ addressType: undefined }))).toEqual([{ field: 'addressType', reason: 'FieldValueRequired', message: 'Required value' }]);
    expect(validateObject(R.endpointslices, slice({ addressType: 'IP' }))).toEqual([
      { field: 'addressType', reason: 'FieldValueNotSupported', message: 'Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"' }]);
    expect(validateObject(R.endpointslices, slice({ endpoints: [{ addresses: ['fd00::1'] }, { addresses: [] }] }))).toEqual([
      { field: 'endpoints[0].addresses[0]', reason: 'FieldValueInvalid', message: 'Invalid value: "fd00::1": must be a valid IPv4 address' },
      { field: 'endpoints[1].addresses', reason: 'FieldValueRequired', message: 'Required value: must contain at least 1 address' }]);
    expect(validateObject(R.endpointslices, slice({ addressType: 'FQDN', endpoints: [{ addresses: ['db.example.com', 'localhost'] }] }))).toEqual([
      { field: 'endpoints[0].addresses[1]', reason: 'FieldValueInvalid', message: 'Invalid value: "localhost": should be a domain with at least two segments separated by dots' }]);
    const many = Array.from({ length: 1001 }, (_, i) => ({ addresses: [`10.0.${i >> 8}.${i & 255}`] }));
    expect(validateObject(R.endpointslices, slice({ endpoints: many }))).toEqual([{ field: 'endpoints', reason: 'FieldValueTooMany', message: 'Too many: 1001: must have at most 1000 items' }]);
    expect(validateObject(R.endpointslices, slice({ ports: Array.from({ length: 101 }, (_, i) => ({ name: `p${i}`, port: 1000 + i, protocol: 'TCP' })) })))
      .toEqual([{ field: 'ports', reason: 'FieldValueTooMany', message: 'Too many: 101: must have at most 100 items' }]);
    expect(fields(validateObject(R.endpointslices, slice({ ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'http', port: 81, protocol: 'TCP' }, { name: 'Bad_Name', port: 82, protocol: 'TCP' }] }))))
      .toEqual(['ports[1].name', 'ports[2].name']);
    expect(fields(validateObject(R.endpointslices, slice({ endpoints: [{ addresses: ['10.0.0.1'], hostname: 'No.Dots', nodeName: 'node_1' }] }))))
      .toEqual(['endpoints[0].nodeName', 'endpoints[0].hostname']);
    expect(validateObject(R.endpointslices, slice({ addressType: 'IPv6', endpoints: [{ addresses: ['fd00::1'] }] }), { old: ok })).toEqual([
      { field: 'addressType', reason: 'FieldValueInvalid', message: 'Invalid value: "IPv6": field is immutable' }]);
  });
});

describe('pruneUnknownFields', () => {
  it('removes and reports unknown fields at any depth, keeps known and free-form ones', () => {
    const d = deployment();
    d.spec.foo = 1;
    d.spec.template.spec.containers[0].imagex = 'x';
    d.metadata.labels = { anything: 'goes' };
    // Deliberately invalid: ObjectMeta has no such field, which is what pruning must find.
    (d.metadata as ObjectMeta & { bogus?: boolean }).bogus = true;
    d.status = { conditions: [{ type: 'Available', status: 'True', extra: 1 }] };
    const found = pruneUnknownFields(R.deployments, d);
    expect(found.sort()).toEqual(['.metadata.bogus', '.spec.foo', '.spec.template.spec.containers[0].imagex', '.status.conditions[0].extra']);
    expect(d.spec.foo).toBeUndefined();
    expect(d.spec.template.spec.containers[0].image).toBe('busybox');
    expect(d.metadata.labels).toEqual({ anything: 'goes' });
    expect(validateObject(R.deployments, d)).toEqual([]);
  });

  it('keeps pod fields Skiff stores without interpreting', () => {
    const pod: KubeObject = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'i', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }],
      imagePullSecrets: [{ name: 'reg' }], topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }],
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } }, volumes: [{ name: 's', secret: { secretName: 'x' } }] } };
    const before = structuredClone(pod);
    expect(pruneUnknownFields(R.pods, pod)).toEqual([]);
    expect(pod).toEqual(before);
  });

  it('keeps preserve-unknown-fields subtrees and knows every kind', () => {
    const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 1, targetPort: 'http' }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } };
    expect(pruneUnknownFields(R.services, svc)).toEqual([]);
    expect(svc.status.loadBalancer.ingress).toHaveLength(1);
    for (const r of Object.values(R)) expect(pruneUnknownFields(r, { metadata: {}, zzz: 1 })).toEqual(['.zzz']);
  });
});
