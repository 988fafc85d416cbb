import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import type { AdmissionAttributes } from '../auth/types.js';
import { Priority } from './priority.js';
import { systemPriorityClasses } from '../../api/kinds/scheduling/priorityclass.js';

const pc = (name: string, value: number, extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, preemptionPolicy: 'PreemptLowerPriority', ...extra }) as KubeObject;
const pod = (spec: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } }) as KubeObject;

function plugin(classes: KubeObject[]): Priority {
  return new Priority({ getClass: async (n) => classes.find((c) => c.metadata.name === n), listClasses: async () => classes });
}
function attrs(resource: typeof R.pods, operation: AdmissionAttributes['operation'], object: KubeObject, oldObject?: KubeObject): AdmissionAttributes {
  return { user: { username: 'u', groups: [] }, operation, resource, subresource: '', namespace: object.metadata.namespace ?? '', name: object.metadata.name ?? '', object, oldObject, dryRun: false, warnings: [] };
}

describe('Priority admission', () => {
  const classes = [...systemPriorityClasses.map((c) => ({ ...c, preemptionPolicy: 'PreemptLowerPriority' }) as KubeObject), pc('low', 10, { preemptionPolicy: 'Never' })];

  it('resolves a class name into priority and preemptionPolicy', async () => {
    const p = pod({ priorityClassName: 'system-node-critical' });
    await plugin(classes).admit(attrs(R.pods, 'CREATE', p));
    expect(p.spec).toMatchObject({ priority: 2000001000, preemptionPolicy: 'PreemptLowerPriority' });
    const q = pod({ priorityClassName: 'low' });
    await plugin(classes).admit(attrs(R.pods, 'CREATE', q));
    expect(q.spec).toMatchObject({ priority: 10, preemptionPolicy: 'Never' });
  });

  it('without a class: the global default (lowest value of the defaults), or priority 0', async () => {
    const p = pod();
    await plugin(classes).admit(attrs(R.pods, 'CREATE', p));
    expect(p.spec.priority).toBe(0);
    expect(p.spec.priorityClassName).toBeUndefined();
    const withDefault = [...classes, pc('d2', 200, { globalDefault: true }), pc('d1', 100, { globalDefault: true })];
    const q = pod();
    await plugin(withDefault).admit(attrs(R.pods, 'CREATE', q));
    expect(q.spec).toMatchObject({ priorityClassName: 'd1', priority: 100 });
  });

  it('refuses an unknown class and a priority that differs from the class, with kube\'s messages', async () => {
    await expect(plugin(classes).admit(attrs(R.pods, 'CREATE', pod({ priorityClassName: 'nope' })))).rejects.toMatchObject({ status: { code: 403, message: 'pods "p" is forbidden: no PriorityClass with name nope was found' } });
    await expect(plugin(classes).admit(attrs(R.pods, 'CREATE', pod({ priorityClassName: 'low', priority: 5 })))).rejects.toMatchObject({ status: { message: expect.stringContaining('the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 10') } });
  });

  it('an update keeps the resolved priority', async () => {
    const old = pod({ priorityClassName: 'low', priority: 10, preemptionPolicy: 'Never' });
    const p = pod({ priorityClassName: 'low' });
    await plugin(classes).admit(attrs(R.pods, 'UPDATE', p, old));
    expect(p.spec).toMatchObject({ priority: 10, preemptionPolicy: 'Never' });
  });

  it('only one PriorityClass may be the global default', async () => {
    const withDefault = [...classes, pc('d1', 100, { globalDefault: true })];
    const second = pc('d2', 5, { globalDefault: true });
    await expect(plugin(withDefault).validate(attrs(R.priorityclasses, 'CREATE', second))).rejects.toMatchObject({ status: { code: 403, message: 'priorityclasses.scheduling.k8s.io "d2" is forbidden: PriorityClass d1 is already marked as default. Only one default can exist' } });
    await expect(plugin(withDefault).validate(attrs(R.priorityclasses, 'UPDATE', pc('d1', 100, { globalDefault: true })))).resolves.toBeUndefined();
    await expect(plugin(classes).validate(attrs(R.priorityclasses, 'CREATE', second))).resolves.toBeUndefined();
  });
});
