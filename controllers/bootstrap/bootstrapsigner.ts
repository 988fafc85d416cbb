// The bootstrap signer (pkg/controller/bootstrap/bootstrapsigner.go): keeps
// the kube-public/cluster-info ConfigMap signed with a detached JWS per
// bootstrap token that may sign (data "jws-kubeconfig-<token id>"), and drops
// the signatures of tokens that are gone or expired.

import { isConflict, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { ConfigMap, Secret } from '../../api/types.js';
import { deepCopy } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';
import { computeDetachedSignature } from './jws.js';
import { clusterInfoName, clusterInfoNamespace, expirationOf, jwsKeyPrefix, signingToken } from './tokens.js';

export interface BootstrapSignerOptions { client: Client; informers: InformerFactory }

const key = `${clusterInfoNamespace}/${clusterInfoName}`;

export class BootstrapSigner extends QueueController {
  private readonly client: Client;
  private readonly configMaps: Informer<ConfigMap>;
  private readonly secrets: Informer<Secret>;

  constructor(o: BootstrapSignerOptions) {
    super('bootstrap_signer_queue', logger('bootstrap-signer-controller'));
    this.client = o.client;
    this.configMaps = o.informers.informerFor<ConfigMap>(R.configmaps, { namespace: clusterInfoNamespace, fieldSelector: `metadata.name=${clusterInfoName}` });
    this.secrets = o.informers.informerFor<Secret>(R.secrets, { namespace: 'kube-system', fieldSelector: 'type=bootstrap.kubernetes.io/token' });
    const enqueue = () => this.queue.add(key);
    this.configMaps.addEventHandler({ onAdd: enqueue, onUpdate: enqueue });
    this.secrets.addEventHandler({ onAdd: enqueue, onUpdate: enqueue, onDelete: enqueue });
  }

  async sync(): Promise<void> {
    const cm = this.configMaps.lister.get(key);
    const content = cm?.data?.kubeconfig;
    if (!cm || content === undefined) return;
    const now = Date.now();
    const want: Record<string, string> = {};
    let nextExpiry = Infinity;
    for (const s of this.secrets.lister.list({ namespace: 'kube-system' })) {
      const t = signingToken(s, now);
      if (!t) continue;
      want[`${jwsKeyPrefix}${t.id}`] = await computeDetachedSignature(content, t.id, t.secret);
      nextExpiry = Math.min(nextExpiry, expirationOf(s) ?? Infinity);
    }
    // A token that expires stops signing then, with no Secret event to say so.
    if (nextExpiry !== Infinity) this.queue.addAfter(key, Math.max(0, nextExpiry - now) + 1000);
    const data = { ...(cm.data ?? {}) };
    let changed = false;
    for (const k of Object.keys(data)) {
      if (k.startsWith(jwsKeyPrefix) && !(k in want)) { delete data[k]; changed = true; }
    }
    for (const [k, v] of Object.entries(want)) {
      if (data[k] !== v) { data[k] = v; changed = true; }
    }
    if (!changed) return;
    const updated = deepCopy(cm);
    updated.data = data;
    try {
      await this.client.resource<ConfigMap>(R.configmaps, clusterInfoNamespace).update(updated);
      this.log.info('signed cluster-info', { tokens: Object.keys(want).map((k) => k.slice(jwsKeyPrefix.length)) });
    } catch (e) {
      if (isConflict(e) || isNotFound(e)) return;
      throw e;
    }
  }
}
