import { describe, expect, it } from 'vitest';
import { isStatusError } from '../../api/errors.js';
import { applyPatch } from './index.js';
import { R } from '../../api/resources.js';
import { strategicMergePatch } from './strategic.js';

const deploy = (containers: unknown[], extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', finalizers: ['a', 'b', 'c'] },
  spec: { replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, template: { spec: { containers } } }, ...extra,
});
const smp = (obj: unknown, patch: unknown) => strategicMergePatch('Deployment', obj, patch as Record<string, unknown>);
const containers = (o: any) => o.spec.template.spec.containers;
const patchSpec = (spec: Record<string, unknown>) => ({ spec: { template: { spec } } });

function statusOf(f: () => unknown): { code: number; message: string } {
  try {
    f();
  } catch (e) {
    if (isStatusError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a StatusError');
}

describe('strategic merge patch', () => {
  const two = [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }];

  it('merges containers by name and leaves the others alone', () => {
    const out = smp(deploy(two), patchSpec({ containers: [{ name: 'a', image: 'a:2' }] }));
    expect(containers(out)).toEqual([{ name: 'a', image: 'a:2' }, { name: 'b', image: 'b:1' }]);
  });

  it('puts new patch items in patch order before server-only items they precede', () => {
    const out = smp(deploy(two), patchSpec({ containers: [{ name: 'c', image: 'c:1' }, { name: 'a', image: 'a:2' }] }));
    expect(containers(out).map((c: any) => c.name)).toEqual(['c', 'a', 'b']);
  });

  it('deletes list items with $patch: delete and replaces lists with $patch: replace', () => {
    expect(containers(smp(deploy(two), patchSpec({ containers: [{ name: 'b', $patch: 'delete' }] })))).toEqual([{ name: 'a', image: 'a:1' }]);
    expect(containers(smp(deploy(two), patchSpec({ containers: [{ name: 'z', image: 'z' }, { $patch: 'replace' }] })))).toEqual([{ name: 'z', image: 'z' }]);
  });

  it('replaces or deletes maps with $patch', () => {
    const out = smp(deploy(two), { spec: { strategy: { $patch: 'replace', type: 'Recreate' } } });
    expect(out.spec).toMatchObject({ strategy: { type: 'Recreate' } });
    expect((out.spec as any).strategy.rollingUpdate).toBeUndefined();
    expect(smp(deploy(two), { spec: { strategy: { $patch: 'delete' } } }).spec).toMatchObject({ strategy: {} });
  });

  it('what kubectl apply sends to drop a container: $setElementOrder plus a delete directive', () => {
    const patch = patchSpec({ '$setElementOrder/containers': [{ name: 'a' }], containers: [{ name: 'b', $patch: 'delete' }] });
    expect(containers(smp(deploy(two), patch))).toEqual([{ name: 'a', image: 'a:1' }]);
  });

  it('orders by $setElementOrder first, then the live order for server-only items', () => {
    const env = [{ name: 'A', value: '1' }, { name: 'B', value: '2' }, { name: 'C', value: '3' }];
    const patch = patchSpec({ containers: [{ name: 'a', '$setElementOrder/env': [{ name: 'C' }, { name: 'A' }, { name: 'B' }], env: [{ name: 'A', value: 'x' }] }] });
    const out = smp(deploy([{ name: 'a', image: 'a', env }]), patch);
    expect(containers(out)[0].env).toEqual([{ name: 'C', value: '3' }, { name: 'A', value: 'x' }, { name: 'B', value: '2' }]);
    // an item the order list does not name stays, after the ordered ones
    const partial = patchSpec({ containers: [{ name: 'a', '$setElementOrder/env': [{ name: 'B' }, { name: 'A' }] }] });
    expect(containers(smp(deploy([{ name: 'a', env }]), partial))[0].env.map((e: any) => e.name)).toEqual(['B', 'A', 'C']);
  });

  it('merges ports by containerPort', () => {
    const c = [{ name: 'a', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }];
    const out = smp(deploy(c), patchSpec({ containers: [{ name: 'a', ports: [{ containerPort: 80, name: 'web' }, { containerPort: 8080 }] }] }));
    expect(containers(out)[0].ports).toEqual([{ containerPort: 80, name: 'web' }, { containerPort: 8080 }, { containerPort: 443 }]);
  });

  it('merges finalizers as a primitive set and deletes from it with $deleteFromPrimitiveList', () => {
    expect(smp(deploy(two), { metadata: { finalizers: ['d', 'a'] } }).metadata).toMatchObject({ finalizers: ['d', 'a', 'b', 'c'] });
    expect(smp(deploy(two), { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } }).metadata).toMatchObject({ finalizers: ['a', 'c'] });
  });

  it('$retainKeys clears the keys it does not list', () => {
    const out = smp(deploy(two), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } });
    expect((out.spec as any).strategy).toEqual({ type: 'Recreate' });
  });

  it('null deletes a key; lists without a strategy are replaced whole', () => {
    const c = [{ name: 'a', command: ['sh', '-c', 'x'], args: ['1'] }];
    const out = smp(deploy(c), { spec: { replicas: null, template: { spec: { containers: [{ name: 'a', command: ['true'], args: null }] } } } });
    expect((out.spec as any).replicas).toBeUndefined();
    expect(containers(out)).toEqual([{ name: 'a', command: ['true'] }]);
  });

  it('drops nulls for keys the object never had and directives inside new values', () => {
    const out = smp(deploy(two), { metadata: { labels: { x: '1', y: null } }, spec: { template: { spec: { volumes: [{ name: 'v', emptyDir: {}, $patch: 'merge' }] } } } });
    expect(out.metadata).toMatchObject({ labels: { x: '1' } });
    expect((out.spec as any).template.spec.volumes).toEqual([{ name: 'v', emptyDir: {} }]);
  });

  // kube lets mergepatch's other errors through as 500; a patch's shape is the client's fault, so Skiff answers 400 (issue #11).
  it('errors: bad directive formats 400, a missing merge key or bad $setElementOrder 400, lists of lists 422, never 500', () => {
    expect(statusOf(() => smp(deploy(two), { spec: { strategy: { $retainKeys: 'type' } } })).code).toBe(400);
    expect(statusOf(() => smp(deploy(two), { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } }))).toEqual({ code: 400, message: 'invalid patch format of retainKeys' });
    const noKey = statusOf(() => smp(deploy(two), patchSpec({ containers: [{ image: 'x' }] })));
    expect(noKey.code).toBe(400);
    expect(noKey.message).toContain('does not contain declared merge key: name');
    expect(statusOf(() => smp({ metadata: { finalizers: [] } }, { metadata: { finalizers: [['x']] } })).code).toBe(422);
    expect(statusOf(() => smp(deploy(two), { metadata: { finalizers: [['x']] } })).code).toBe(400);
    expect(statusOf(() => smp(deploy(two), patchSpec({ $setElementOrder: 'x' } as any))).code).toBe(400);
    expect(statusOf(() => smp(deploy(two), patchSpec({ '$setElementOrder/containers': 'x' } as any))).code).toBe(400);
    expect(statusOf(() => smp(deploy(two), patchSpec({ '$setElementOrder/containers': [{ image: 'x' }], containers: [{ name: 'a' }] } as any))).code).toBe(400);
    // A list named after an Object.prototype member is just absent, not Object's constructor.
    expect(Object.hasOwn((smp(deploy(two), patchSpec({ '$setElementOrder/constructor': [] })) as any).spec.template.spec, 'constructor')).toBe(false);
    expect(statusOf(() => applyPatch('application/strategic-merge-patch+json', deploy(two) as any, '[1]', { resource: R.deployments })).code).toBe(400);
    expect(statusOf(() => applyPatch('application/strategic-merge-patch+json', deploy(two) as any, '{x', { resource: R.deployments })).code).toBe(400);
  });

  it('kubectl label and set image patches', () => {
    const obj = deploy(two, { metadata: { name: 'd', labels: { app: 'x' } } }) as any;
    const labeled = applyPatch('application/strategic-merge-patch+json', obj, '{"metadata":{"labels":{"team":"a"}}}', { resource: R.deployments });
    expect(labeled.metadata.labels).toEqual({ app: 'x', team: 'a' });
    const unlabeled = applyPatch('application/strategic-merge-patch+json', labeled, '{"metadata":{"labels":{"team":null}}}', { resource: R.deployments });
    expect(unlabeled.metadata.labels).toEqual({ app: 'x' });
    const img = applyPatch('application/strategic-merge-patch+json', obj, '{"spec":{"template":{"spec":{"containers":[{"image":"b:2","name":"b"}]}}}}', { resource: R.deployments });
    expect(containers(img)).toEqual([{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:2' }]);
    expect(containers(obj)[1].image).toBe('b:1');
  });
});
