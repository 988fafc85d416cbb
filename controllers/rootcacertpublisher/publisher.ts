// The root CA certificate publisher (kube's
// pkg/controller/certificates/rootcacertpublisher): a ConfigMap
// kube-root-ca.crt in every namespace whose ca.crt is the cluster CA, so that
// each pod's projected kube-api-access volume can verify the API server.
// Edited or deleted, it is put back.

import { isDeepStrictEqual } from 'node:util';
import { isNotFound, isStatusError } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { ConfigMap, Namespace } from '../../api/types.js';
import { deepCopy } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { counter, histogram } from '../../lib/metrics.js';
import { QueueController } from '../controller.js';
import { isNamespaceTerminating } from '../serviceaccount/terminating.js';

export const rootCACertConfigMapName = 'kube-root-ca.crt';
export const descriptionAnnotation = 'kubernetes.io/description';
export const description = 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. '
  + 'No other usage is guaranteed across distributions of Kubernetes clusters.';

const syncTotal = counter({ name: 'root_ca_cert_publisher_sync_total', help: 'Number of namespace syncs happened in root ca cert publisher.', labelNames: ['code'] as const });
const syncDuration = histogram({
  name: 'root_ca_cert_publisher_sync_duration_seconds', help: 'Number of namespace syncs happened in root ca cert publisher.', labelNames: ['code'] as const,
  buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384],
});

export interface RootCACertPublisherOptions {
  client: Client;
  informers: InformerFactory;
  /** The PEM bundle to publish: --root-ca-file's contents, or the CA the controller-manager trusts the API server with. */
  rootCA: string;
}

export class RootCACertPublisher extends QueueController {
  private readonly client: Client;
  private readonly rootCA: string;
  private readonly cmInformer: Informer<ConfigMap>;

  constructor(o: RootCACertPublisherOptions) {
    super('root_ca_cert_publisher', logger('root-ca-certificate-publisher-controller'));
    if (!o.rootCA.includes('-----BEGIN CERTIFICATE-----')) throw new Error('the root CA to publish holds no PEM certificate');
    this.client = o.client;
    this.rootCA = o.rootCA;
    // Only the one ConfigMap per namespace matters: the cache holds no others.
    this.cmInformer = o.informers.informerFor<ConfigMap>(R.configmaps, { fieldSelector: `metadata.name=${rootCACertConfigMapName}` });
    const nsInformer = o.informers.informerFor<Namespace>(R.namespaces);
    this.cmInformer.addEventHandler({
      onUpdate: (_, cm) => this.queue.add(cm.metadata.namespace!),
      onDelete: (cm) => this.queue.add(cm.metadata.namespace!),
    });
    nsInformer.addEventHandler({
      onAdd: (ns) => this.queue.add(ns.metadata.name!),
      onUpdate: (_, ns) => {
        if (ns.status?.phase === 'Active') this.queue.add(ns.metadata.name!);
      },
    });
  }

  async sync(ns: string): Promise<void> {
    const started = process.hrtime.bigint();
    let code = '200';
    try {
      await this.syncNamespace(ns);
    } catch (e) {
      code = isStatusError(e) ? String(e.code) : '500';
      throw e;
    } finally {
      syncTotal.inc({ code });
      syncDuration.observe({ code }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private async syncNamespace(ns: string): Promise<void> {
    const data = { 'ca.crt': this.rootCA };
    const cached = this.cmInformer.lister.get(`${ns}/${rootCACertConfigMapName}`);
    const configMaps = this.client.resource<ConfigMap>(R.configmaps, ns);
    if (!cached) {
      try {
        await configMaps.create({
          apiVersion: 'v1', kind: 'ConfigMap',
          metadata: { name: rootCACertConfigMapName, namespace: ns, annotations: { [descriptionAnnotation]: description } },
          data,
        });
      } catch (e) {
        // A namespace that is gone or going gets nothing, and is not retried.
        if (isNotFound(e) || isNamespaceTerminating(e)) return;
        throw e;
      }
      return;
    }
    // Only the data and the one annotation saying what this is are ours to keep right.
    if (isDeepStrictEqual(cached.data ?? {}, data) && cached.metadata.annotations?.[descriptionAnnotation]) return;
    const cm = deepCopy(cached);
    cm.data = data;
    cm.metadata.annotations = { ...(cm.metadata.annotations ?? {}), [descriptionAnnotation]: description };
    await configMaps.update(cm);
  }
}
