import { describe, expect, it } from 'vitest';
import rcKind from './replicationcontroller.js';
import lrKind from './limitrange.js';
import rqKind from './resourcequota.js';
import type { KubeObject } from '../../types.js';

const since = () => '5m';

describe('ReplicationController kind', () => {
  it('defaults the selector, labels and replicas from the template', () => {
    const rc: KubeObject = { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'web' }, spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
    rcKind.defaults!(rc);
    expect(rc.spec.selector).toEqual({ app: 'web' });
    expect(rc.metadata.labels).toEqual({ app: 'web' });
    expect(rc.spec.replicas).toBe(1);
    expect(rc.spec.template.spec.restartPolicy).toBe('Always');
    expect(rcKind.validate!(rc, {})).toEqual([]);
  });

  it('refuses a selector that does not match the template and a restartPolicy other than Always', () => {
    const rc: KubeObject = { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'web' },
      spec: { replicas: 1, selector: { app: 'other' }, template: { metadata: { labels: { app: 'web' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } } };
    const causes = rcKind.validate!(rc, {});
    expect(causes).toContainEqual(expect.objectContaining({ field: 'spec.template.metadata.labels', message: 'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`' }));
    expect(causes).toContainEqual(expect.objectContaining({ field: 'spec.template.spec.restartPolicy', message: 'Unsupported value: "Never": supported values: "Always"' }));
  });

  it('prints DESIRED CURRENT READY and the wide columns', () => {
    const rc: KubeObject = { metadata: { name: 'web' }, spec: { replicas: 3, selector: { app: 'web' }, template: { spec: { containers: [{ name: 'c', image: 'nginx' }] } } }, status: { replicas: 2, readyReplicas: 1 } } as KubeObject;
    expect(rcKind.printer!.cells(rc, since)).toEqual(['web', 3, 2, 1, '5m', 'c', 'nginx', 'app=web']);
    expect(rcKind.selectableFields!(rc)).toEqual({ 'status.replicas': '2' });
  });
});

describe('LimitRange kind', () => {
  it('defaults a container item as SetDefaults_LimitRangeItem', () => {
    const lr: KubeObject = { metadata: { name: 'l' }, spec: { limits: [{ type: 'Container', max: { cpu: '1' }, min: { memory: '64Mi' } }] } } as KubeObject;
    lrKind.defaults!(lr);
    expect(lr.spec.limits[0].default).toEqual({ cpu: '1' });
    expect(lr.spec.limits[0].defaultRequest).toEqual({ cpu: '1', memory: '64Mi' });
  });

  it('refuses min above max, a default over max, a Pod default and a ratio under 1', () => {
    const lr: KubeObject = { metadata: { name: 'l' }, spec: { limits: [
      { type: 'Container', min: { cpu: '2' }, max: { cpu: '1' }, default: { memory: '2Gi' }, maxLimitRequestRatio: { memory: '500m' } },
      { type: 'Container', max: { memory: '1Gi' }, default: { memory: '2Gi' } },
      { type: 'Pod', default: { cpu: '1' } },
    ] } } as KubeObject;
    const messages = lrKind.validate!(lr, {}).map((c) => `${c.field}: ${c.message}`);
    expect(messages).toContain('spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1');
    expect(messages).toContain('spec.limits[0].maxLimitRequestRatio[memory]: Invalid value: "500m": ratio 500m is less than 1');
    expect(messages).toContain('spec.limits[1].type: Duplicate value: "Container"');
    expect(messages).toContain('spec.limits[1].default[memory]: Invalid value: "1Gi": default value 2Gi is greater than max value 1Gi');
    expect(messages).toContain("spec.limits[2].default: Forbidden: may not be specified when `type` is 'Pod'");
  });
});

describe('ResourceQuota kind', () => {
  it('refuses unknown names, negative and fractional counts, and a scope change', () => {
    const rq: KubeObject = { metadata: { name: 'q' }, spec: { hard: { pods: '1500m', 'requests.cpu': '-1', widgets: '1' } } } as KubeObject;
    const messages = rqKind.validate!(rq, {}).map((c) => `${c.field}: ${c.message}`);
    expect(messages).toContain('spec.hard[pods]: Invalid value: "1500m": must be an integer');
    expect(messages).toContain('spec.hard[requests.cpu]: Invalid value: "-1": must be greater than or equal to 0');
    expect(messages).toContain('spec.hard[widgets]: Invalid value: "widgets": must be a standard resource for quota');
    const old = { metadata: { name: 'q' }, spec: { hard: { pods: '1' }, scopes: ['BestEffort'] } } as KubeObject;
    expect(rqKind.validate!({ ...old, spec: { hard: { pods: '1' } } } as KubeObject, { old }).map((c) => c.field)).toContain('spec.scopes');
  });

  it('prints requests and limits as used/hard', () => {
    const rq = { metadata: { name: 'q' }, spec: { hard: { 'requests.cpu': '1', pods: '2', 'limits.memory': '1Gi' } },
      status: { hard: { 'requests.cpu': '1', pods: '2', 'limits.memory': '1Gi' }, used: { 'requests.cpu': '100m', pods: '1', 'limits.memory': '0' } } } as KubeObject;
    expect(rqKind.printer!.cells(rq, since)).toEqual(['q', '5m', 'pods: 1/2, requests.cpu: 100m/1', 'limits.memory: 0/1Gi']);
  });
});
