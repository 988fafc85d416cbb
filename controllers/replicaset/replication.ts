// The replication manager (pkg/controller/replication): ReplicationControllers
// reconciled by the ReplicaSet controller itself, as kube does, through an
// adapter for the one difference that matters to it: the selector is a plain
// label map (equality only), which reads as a LabelSelector's matchLabels.

import { R } from '../../api/resources.js';

import { ReplicaSetController, type ReplicaSetControllerOptions, type ReplicatedKind } from './replicaset.js';

export const replicationControllerKind: ReplicatedKind = {
  resource: R.replicationcontrollers,
  apiVersion: 'v1',
  kind: 'ReplicationController',
  controllerName: 'replicationmanager',
  // An empty or missing map selects nothing here (validation refuses it anyway), never everything.
  selector: (rc) => {
    const sel = (rc.spec as { selector?: unknown }).selector;
    return sel && typeof sel === 'object' && Object.keys(sel).length ? { matchLabels: sel as Record<string, string> } : undefined;
  },
};

export class ReplicationManager extends ReplicaSetController {
  constructor(o: Omit<ReplicaSetControllerOptions, 'kind'>) {
    super({ ...o, kind: replicationControllerKind });
  }
}

