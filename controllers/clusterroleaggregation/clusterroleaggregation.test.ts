import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { ClusterRole } from '../../api/types.js';
import { FakeInformerFactory, RecordingClient } from '../testing/fake.js';
import { ClusterRoleAggregationController, fieldManager } from './clusterroleaggregation.js';

const role = (name: string, labels: Record<string, string>, rules: ClusterRole['rules'], aggregateFrom?: string): ClusterRole => ({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels },
  rules,
  ...(aggregateFrom ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateFrom]: 'true' } }] } } : {}),
});

function setup(...roles: ClusterRole[]) {
  const informers = new FakeInformerFactory();
  const client = new RecordingClient();
  const c = new ClusterRoleAggregationController({ client, informers });
  const inf = informers.informerFor<ClusterRole>(R.clusterroles);
  inf.set(...roles);
  return { c, client, inf };
}

const pods = { verbs: ['get'], apiGroups: [''], resources: ['pods'] };
const secrets = { verbs: ['get'], apiGroups: [''], resources: ['secrets'] };

describe('clusterrole-aggregation controller', () => {
  it('applies the union of the selected roles\' rules, in name order, each rule once, forcing its field manager', async () => {
    const { c, client } = setup(
      role('agg', {}, [], 'x'),
      role('b', { x: 'true' }, [secrets, pods]),
      role('a', { x: 'true' }, [pods]),
      role('other', { y: 'true' }, [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]),
    );
    await c.sync('agg');
    const [patch] = client.of('patch', 'clusterroles');
    expect(patch!.name).toBe('agg');
    expect(patch!.patch).toEqual({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'agg' }, rules: [pods, secrets] });
    expect(fieldManager).toBe('clusterrole-aggregation-controller');
  });

  it('writes nothing when the rules are already the union, and ignores roles without an aggregationRule', async () => {
    const { c, client } = setup(role('agg', {}, [pods], 'x'), role('a', { x: 'true' }, [pods]), role('plain', { x: 'true' }, [secrets]));
    await c.sync('plain');
    expect(client.actions).toEqual([]);
    const again = setup(role('agg', {}, [{ ...pods, resourceNames: [] }], 'x'), role('a', { x: 'true' }, [pods]));
    await again.c.sync('agg');
    expect(again.client.actions).toEqual([]);
  });

  it('re-queues every aggregated role when any role changes, and empties one whose sources went away', async () => {
    const { c, client, inf } = setup(role('agg', {}, [pods], 'x'), role('agg2', {}, [], 'y'), role('a', { x: 'true' }, [pods]));
    inf.emitDelete(role('a', { x: 'true' }, [pods]));
    expect(c.queue.len()).toBe(2);
    await c.sync('agg');
    expect(client.of('patch')[0]!.patch).toMatchObject({ rules: [] });
  });
});
