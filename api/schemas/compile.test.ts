import { describe, expect, it } from 'vitest';
import { R } from '../resources.js';
import { validateObject } from '../validation.js';
import type { KubeObject } from '../types.js';
import { integerRangeError } from './compile.js';
import { quantityError, quantityFormatError } from '../quantity.js';

const deployment = (replicas: unknown): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  },
} as KubeObject);

const pod = (resources: unknown, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'busybox', resources }], ...extra },
} as KubeObject);

const node = (status: unknown): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status } as KubeObject);

describe('integer formats', () => {
  it('int32 takes exactly Go\'s int32 range', () => {
    expect(integerRangeError('int32', 2147483647)).toBeUndefined();
    expect(integerRangeError('int32', -2147483648)).toBeUndefined();
    expect(integerRangeError('int32', 2147483648)).toBe('must be of type int32');
    expect(integerRangeError('int32', -2147483649)).toBe('must be of type int32');
    expect(integerRangeError('int32', Infinity)).toBe('must be of type int32');
  });

  it('int64 refuses what a double rounds to 2^63, which no Go client could decode', () => {
    expect(integerRangeError('int64', 2 ** 53)).toBeUndefined();
    expect(integerRangeError('int64', -(2 ** 63))).toBeUndefined();
    expect(integerRangeError('int64', JSON.parse('9223372036854775808'))).toBe('must be of type int64');
    expect(integerRangeError('int64', JSON.parse('1e400'))).toBe('must be of type int64');
  });

  it.each([
    ['2147483648', 'must be of type int32'],
    ['9223372036854775808', 'must be of type int32'],
    ['1e400', ''],
    ['1.5', ''],
  ])('a Deployment with replicas %s is invalid at spec.replicas', (raw, message) => {
    const causes = validateObject(R.deployments, deployment(JSON.parse(raw)));
    expect(causes.map((c) => c.field)).toContain('spec.replicas');
    if (message) expect(causes.find((c) => c.field === 'spec.replicas')!.message).toContain(message);
  });

  it('applies to ReplicaSets, int64 fields and IntOrString alike', () => {
    const rs = { ...deployment(2147483648), kind: 'ReplicaSet' } as KubeObject;
    expect(validateObject(R.replicasets, rs).map((c) => c.field)).toContain('spec.replicas');
    const p = pod(undefined, { activeDeadlineSeconds: JSON.parse('9223372036854775808') });
    expect(validateObject(R.pods, p).map((c) => c.field)).toContain('spec.activeDeadlineSeconds');
    const d = deployment(1);
    d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2147483648 } };
    expect(validateObject(R.deployments, d).map((c) => c.field)).toContain('spec.strategy.rollingUpdate.maxSurge');
  });

  it('keeps in-range integers valid', () => {
    expect(validateObject(R.deployments, deployment(2147483647))).toEqual([]);
    expect(validateObject(R.pods, pod(undefined, { activeDeadlineSeconds: 2 ** 53 }))).toEqual([]);
  });
});

describe('quantities', () => {
  it('refuses malformed quantities and values a double cannot hold', () => {
    expect(quantityError('100m')).toBeUndefined();
    expect(quantityError('1e3')).toBeUndefined();
    expect(quantityError(0.5)).toBeUndefined();
    expect(quantityError('1e1000')).toBe(quantityFormatError);
    expect(quantityError('12Qi')).toBe(quantityFormatError);
    expect(quantityError('')).toBe(quantityFormatError);
  });

  it('a Pod or Node with such a quantity is invalid, with kube\'s message', () => {
    for (const q of ['1e1000', 'lots']) {
      const causes = validateObject(R.pods, pod({ limits: { cpu: q } }));
      expect(causes).toHaveLength(1);
      expect(causes[0].field).toBe('spec.containers[0].resources.limits[cpu]');
      expect(causes[0].message).toContain(quantityFormatError);
    }
    expect(validateObject(R.nodes, node({ capacity: { memory: '1e1000' } }))[0]).toMatchObject({ field: 'status.capacity.memory', message: expect.stringContaining(quantityFormatError) });
    expect(validateObject(R.pods, pod(undefined, { overhead: { cpu: '1e1000' } }))[0]).toMatchObject({ field: 'spec.overhead.cpu', message: expect.stringContaining(quantityFormatError) });
  });

  it('a negative node capacity or allocatable is invalid, as ValidateNode', () => {
    const causes = validateObject(R.nodes, node({ capacity: { cpu: '-1' }, allocatable: { memory: '-1Gi', cpu: '1' } }));
    expect(causes).toEqual([
      { field: 'status.capacity.cpu', reason: 'FieldValueInvalid', message: 'Invalid value: "-1": must be greater than or equal to 0' },
      { field: 'status.allocatable.memory', reason: 'FieldValueInvalid', message: 'Invalid value: "-1Gi": must be greater than or equal to 0' },
    ]);
    expect(validateObject(R.nodes, node({ capacity: { cpu: '4', memory: '8Gi' } }))).toEqual([]);
  });
});
