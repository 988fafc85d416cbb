// The token cleaner (pkg/controller/bootstrap/tokencleaner.go): deletes a
// bootstrap token Secret once its expiration has passed (with its uid as a
// precondition, so a Secret made again under the name survives), and looks
// again at each token when it is due to expire.

import { isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Secret } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';
import { expirationOf, isBootstrapTokenSecret } from './tokens.js';

export interface TokenCleanerOptions { client: Client; informers: InformerFactory; now?: () => number }

export class TokenCleaner extends QueueController {
  private readonly client: Client;
  private readonly secrets: Informer<Secret>;
  private readonly now: () => number;

  constructor(o: TokenCleanerOptions) {
    super('token_cleaner', logger('token-cleaner-controller'));
    this.client = o.client;
    this.now = o.now ?? Date.now;
    this.secrets = o.informers.informerFor<Secret>(R.secrets, { namespace: 'kube-system', fieldSelector: 'type=bootstrap.kubernetes.io/token' });
    const enqueue = (s: Secret) => this.queue.add(`${s.metadata.namespace}/${s.metadata.name}`);
    this.secrets.addEventHandler({ onAdd: enqueue, onUpdate: (_, s) => enqueue(s) });
  }

  async sync(key: string): Promise<void> {
    const s = this.secrets.lister.get(key);
    if (!s || !isBootstrapTokenSecret(s) || s.metadata.deletionTimestamp) return;
    const exp = expirationOf(s);
    if (exp === undefined) return;
    const left = exp - this.now();
    if (left > 0) {
      this.queue.addAfter(key, left);
      return;
    }
    this.log.info('deleting expired bootstrap token', { secret: s.metadata.name });
    try {
      await this.client.resource<Secret>(R.secrets, 'kube-system').delete(s.metadata.name!, { preconditions: { uid: s.metadata.uid } });
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
  }
}
