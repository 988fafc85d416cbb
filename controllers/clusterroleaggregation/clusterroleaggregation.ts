// The clusterrole-aggregation controller (pkg/controller/clusterroleaggregation):
// a ClusterRole with an aggregationRule holds the union of the rules of the
// ClusterRoles its selectors match (admin, edit and view are built this
// way), kept current as those roles come, change and go.

import { isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { ClusterRole } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { aggregateRules, canonicalRule } from '../../api/rbac.js';
import { QueueController } from '../controller.js';

export interface ClusterRoleAggregationOptions {
  client: Client;
  informers: InformerFactory;
}

/** The field manager kube's controller applies with. */
export const fieldManager = 'clusterrole-aggregation-controller';

export class ClusterRoleAggregationController extends QueueController {
  private readonly client: Client;
  private readonly clusterRoles: Informer<ClusterRole>;

  constructor(o: ClusterRoleAggregationOptions) {
    super('ClusterRoleAggregator', logger('clusterrole-aggregation-controller'));
    this.client = o.client;
    this.clusterRoles = o.informers.informerFor<ClusterRole>(R.clusterroles);
    // Any role may feed any aggregated one and the set is small: every change re-queues every aggregated role, as kube does.
    const enqueueAll = () => {
      for (const r of this.clusterRoles.lister.list()) if (r.aggregationRule) this.queue.add(r.metadata.name!);
    };
    this.clusterRoles.addEventHandler({ onAdd: enqueueAll, onUpdate: enqueueAll, onDelete: enqueueAll });
  }

  async sync(name: string): Promise<void> {
    const role = this.clusterRoles.lister.get(name);
    if (!role?.aggregationRule) return;
    const rules = aggregateRules(role, this.clusterRoles.lister.list());
    const current = role.rules ?? [];
    if (rules.length === current.length && rules.every((r, i) => canonicalRule(r) === canonicalRule(current[i]!))) return;
    try {
      // Server-side apply, forced: the controller owns .rules of an aggregated role whoever wrote them before.
      await this.client.resource<ClusterRole>(R.clusterroles).patch(name, 'apply', {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules,
      }, { fieldManager, force: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
