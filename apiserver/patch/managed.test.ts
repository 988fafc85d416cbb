import { describe, expect, it } from 'vitest';
import { isStatusError, type StatusError } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { applyPatch, recordUpdate } from './index.js';
import { FieldSet, pathString } from './fieldset.js';

const apply = (current: KubeObject | undefined, body: unknown, fieldManager: string, force = false) =>
  applyPatch('application/apply-patch+yaml', current, JSON.stringify(body), { resource: R.deployments, fieldManager, force });

const dep = (spec: Record<string, unknown>, labels: Record<string, string> = { app: 'x' }) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels }, spec,
});
const containers = (...cs: Record<string, unknown>[]) => ({ template: { spec: { containers: cs } } });

/** The object as the store keeps it after a write: the write plus server fields. */
function stored(o: KubeObject): KubeObject {
  const s = structuredClone(o);
  s.metadata = { ...s.metadata, uid: 'u1', resourceVersion: '1', creationTimestamp: '2024-01-01T00:00:00Z', namespace: 'default' };
  return s;
}

function failure(f: () => unknown): StatusError {
  try {
    f();
  } catch (e) {
    if (isStatusError(e)) return e;
    throw e;
  }
  throw new Error('expected a StatusError');
}

const entry = (o: KubeObject, manager: string) => o.metadata.managedFields?.find((m) => m.manager === manager);

describe('FieldsV1', () => {
  it('round-trips with "." for members that have children and sorts f: before k:', () => {
    const v1 = { 'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:image': {}, 'f:name': {} } }, 'f:replicas': {} } };
    const s = FieldSet.fromFieldsV1(v1);
    expect(s.has(['f:spec', 'f:replicas'])).toBe(true);
    expect(s.has(['f:spec', 'f:containers', 'k:{"name":"a"}'])).toBe(true);
    expect(s.has(['f:spec'])).toBe(false);
    expect(JSON.stringify(s.toFieldsV1())).toBe(JSON.stringify({ 'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:image': {}, 'f:name': {} } }, 'f:replicas': {} } }));
    expect(pathString(['f:spec', 'f:containers', 'k:{"name":"a"}', 'f:image'])).toBe('.spec.containers[name="a"].image');
    expect(pathString(['f:metadata', 'f:finalizers', 'v:"x"'])).toBe('.metadata.finalizers[="x"]');
  });
});

describe('server-side apply', () => {
  it('creates with an Apply entry in FieldsV1 that keys containers and ports', () => {
    const out = apply(undefined, dep({ replicas: 2, ...containers({ name: 'a', image: 'a:1', ports: [{ containerPort: 80 }] }) }), 'mgr');
    expect(out.spec.replicas).toBe(2);
    const e = entry(out, 'mgr')!;
    expect(e).toMatchObject({ operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(e.fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } } },
      },
    });
    // the store's bookkeeping after an apply leaves the Apply entry alone
    recordUpdate(R.deployments, undefined, out, 'mgr');
    expect(out.metadata.managedFields).toHaveLength(1);
  });

  it('conflicts with another applier over a changed field, as kube words it; force takes ownership', () => {
    const first = stored(apply(undefined, dep({ replicas: 2 }), 'a'));
    const err = failure(() => apply(first, dep({ replicas: 3 }), 'b'));
    expect(err.code).toBe(409);
    expect(err.reason).toBe('Conflict');
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "a": .spec.replicas');
    expect(err.status.details?.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.spec.replicas' }]);
    // the same value is shared, not a conflict
    const shared = apply(first, dep({ replicas: 2 }), 'b');
    expect(entry(shared, 'a')!.fieldsV1).toMatchObject({ 'f:spec': { 'f:replicas': {} } });
    expect(entry(shared, 'b')!.fieldsV1).toMatchObject({ 'f:spec': { 'f:replicas': {} } });
    const forced = apply(first, dep({ replicas: 3 }), 'b', true);
    expect(forced.spec.replicas).toBe(3);
    expect(entry(forced, 'a')!.fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { 'f:app': {} } } });
  });

  it('names Update managers with their apiVersion and lists several conflicts by manager', () => {
    const created = stored(dep({ replicas: 1, paused: false }));
    recordUpdate(R.deployments, undefined, created, 'kubectl-client-side-apply');
    const err = failure(() => apply(created, dep({ replicas: 4 }), 'other'));
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    const two = failure(() => apply(created, dep({ replicas: 4, paused: true }, { app: 'y' }), 'other'));
    expect(two.message).toBe('Apply failed with 3 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n- .metadata.labels.app\n- .spec.paused\n- .spec.replicas');
  });

  it('removes fields the applier stops applying unless someone else owns them', () => {
    const v1 = stored(apply(undefined, dep({ replicas: 2, paused: true, ...containers({ name: 'a', image: 'a' }, { name: 'side', image: 's', env: [{ name: 'E', value: '1' }] }) }), 'mgr'));
    const v2 = apply(v1, dep({ replicas: 2, ...containers({ name: 'a', image: 'a' }) }), 'mgr');
    expect(v2.spec.paused).toBeUndefined();
    expect(v2.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['a']);
    expect(entry(v2, 'mgr')!.fieldsV1).not.toHaveProperty(['f:spec', 'f:paused']);
    // another applier sharing paused keeps it in place
    const both = stored(apply(v1, dep({ paused: true }, {}), 'keeper'));
    const v3 = apply(both, dep({ replicas: 2, ...containers({ name: 'a', image: 'a' }) }), 'mgr');
    expect(v3.spec.paused).toBe(true);
  });

  it('gives fields of an untracked object to before-first-apply and keeps them', () => {
    const legacy = stored(dep({ replicas: 5, paused: true }));
    const out = apply(legacy, dep({ paused: true }), 'mgr');
    expect(out.spec.replicas).toBe(5);
    const before = entry(out, 'before-first-apply')!;
    expect(before.operation).toBe('Update');
    expect(before.fieldsV1).toMatchObject({ 'f:spec': { 'f:replicas': {} } });
    expect(failure(() => apply(legacy, dep({ replicas: 1 }), 'mgr')).message).toContain('conflict with "before-first-apply" using apps/v1: .spec.replicas');
  });

  it('lets kubectl take over fields client-side apply set with the last-applied values', () => {
    const cfg = dep({ replicas: 2 });
    const o = stored({ ...cfg, metadata: { ...cfg.metadata, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(cfg) } } } as KubeObject);
    recordUpdate(R.deployments, undefined, o, 'kubectl-client-side-apply');
    const out = apply(o, dep({ replicas: 3 }), 'kubectl');
    expect(out.spec.replicas).toBe(3);
    expect(JSON.parse(out.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration']!).spec.replicas).toBe(3);
    expect(failure(() => apply(o, dep({ replicas: 3 }), 'someone')).code).toBe(409);
  });

  it('rejects a wrong apiVersion, managedFields in the body and undecodable YAML with 400', () => {
    expect(failure(() => apply(undefined, { ...dep({}), apiVersion: 'apps/v1beta1' }, 'm')).message).toBe('Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1');
    expect(failure(() => apply(undefined, { ...dep({}), metadata: { name: 'x', managedFields: [] } }, 'm')).code).toBe(400);
    expect(failure(() => applyPatch('application/apply-patch+yaml', undefined, 'a: [', { resource: R.deployments, fieldManager: 'm' })).code).toBe(400);
    expect(failure(() => applyPatch('application/apply-patch+yaml', undefined, JSON.stringify(dep({})), { resource: R.deployments })).code).toBe(400);
    expect(failure(() => applyPatch('application/merge-patch+json', dep({}) as KubeObject, '{}', { resource: R.deployments, force: true })).code).toBe(422);
  });

  it('reads YAML bodies', () => {
    const out = applyPatch('application/apply-patch+yaml', undefined, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n', { resource: R.configmaps, fieldManager: 'm' });
    expect(out.data).toEqual({ k: 'v' });
    expect(entry(out, 'm')!.fieldsV1).toEqual({ 'f:data': { 'f:k': {} } });
  });
});

describe('recordUpdate', () => {
  it('records a create as an Update with "." on maps the empty object lacks', () => {
    const o = stored(dep({ replicas: 1, ...containers({ name: 'a', image: 'a' }) }));
    recordUpdate(R.deployments, undefined, o, 'kubectl-create');
    expect(o.metadata.managedFields).toHaveLength(1);
    expect(entry(o, 'kubectl-create')).toMatchObject({ operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    expect(entry(o, 'kubectl-create')!.fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } },
    });
  });

  it('merges writes of one manager, takes changed fields from others, drops removed ones', () => {
    const o = stored(dep({ replicas: 1, paused: true }));
    recordUpdate(R.deployments, undefined, o, 'creator');
    const scaled = structuredClone(o);
    scaled.spec.replicas = 3;
    recordUpdate(R.deployments, o, scaled, 'scaler', 'scale');
    expect(entry(scaled, 'scaler')).toMatchObject({ subresource: 'scale', fieldsV1: { 'f:spec': { 'f:replicas': {} } } });
    expect(entry(scaled, 'creator')!.fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:paused': {} } });
    const unpaused = structuredClone(scaled);
    delete unpaused.spec.paused;
    unpaused.metadata.labels!.tier = 'web';
    recordUpdate(R.deployments, scaled, unpaused, 'creator');
    expect(unpaused.metadata.managedFields!.filter((m) => m.manager === 'creator')).toHaveLength(1);
    expect(entry(unpaused, 'creator')!.fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:tier': {} } } });
  });

  it('leaves untracked objects untracked, resets on [{}], ignores status outside the status subresource', () => {
    const old = stored(dep({ replicas: 1 }));
    const next = structuredClone(old);
    next.spec.replicas = 2;
    recordUpdate(R.deployments, old, next, 'x');
    expect(next.metadata.managedFields).toBeUndefined();

    recordUpdate(R.deployments, undefined, old, 'x');
    const reset = structuredClone(old);
    reset.metadata.managedFields = [{}];
    recordUpdate(R.deployments, old, reset, 'x');
    expect(reset.metadata.managedFields).toBeUndefined();

    const withStatus = structuredClone(old);
    withStatus.status = { replicas: 1 };
    recordUpdate(R.deployments, old, withStatus, 'controller', 'status');
    expect(entry(withStatus, 'controller')).toMatchObject({ subresource: 'status', fieldsV1: { 'f:status': { '.': {}, 'f:replicas': {} } } });
  });

  it('never throws on odd objects', () => {
    const odd = { metadata: { managedFields: 'nope' }, spec: { template: { spec: { containers: [{ image: 'no-name' }] } } } } as unknown as KubeObject;
    expect(() => recordUpdate(R.deployments, undefined, odd, 'x')).not.toThrow();
    expect(() => recordUpdate(R.deployments, odd, { metadata: {} } as KubeObject, 'x')).not.toThrow();
  });
});
