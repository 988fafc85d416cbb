// The ServiceAccounts controller (kube's pkg/controller/serviceaccount
// serviceaccounts_controller.go): every active namespace has a "default"
// ServiceAccount, made when the namespace appears and made again when it is
// deleted. Pods need it: the ServiceAccount admission plugin refuses a pod
// whose ServiceAccount does not exist.

import { isAlreadyExists, isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { Namespace, ServiceAccount } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';
import { isNamespaceTerminating } from './terminating.js';

export interface ServiceAccountsControllerOptions {
  client: Client;
  informers: InformerFactory;
  /** The ServiceAccounts every active namespace gets (kube's DefaultServiceAccountsControllerOptions: "default"). */
  serviceAccounts?: string[];
}

export class ServiceAccountsController extends QueueController {
  private readonly client: Client;
  private readonly names: string[];
  private readonly nsInformer: Informer<Namespace>;
  private readonly saInformer: Informer<ServiceAccount>;

  constructor(o: ServiceAccountsControllerOptions) {
    super('serviceaccount', logger('serviceaccount-controller'));
    this.client = o.client;
    this.names = o.serviceAccounts ?? ['default'];
    if (!this.names.length || this.names.some((n) => !n)) throw new Error('serviceAccounts must name at least one ServiceAccount');
    this.nsInformer = o.informers.informerFor<Namespace>(R.namespaces);
    this.saInformer = o.informers.informerFor<ServiceAccount>(R.serviceaccounts);
    // A deleted ServiceAccount is recreated; creates and updates of ServiceAccounts need nothing.
    this.saInformer.addEventHandler({ onDelete: (sa) => this.queue.add(sa.metadata.namespace!) });
    this.nsInformer.addEventHandler({
      onAdd: (ns) => this.queue.add(ns.metadata.name!),
      onUpdate: (_, ns) => this.queue.add(ns.metadata.name!),
    });
  }

  /** syncNamespace: the key is a namespace name. */
  async sync(key: string): Promise<void> {
    const ns = this.nsInformer.lister.get(key);
    // Nothing is made in a namespace that is gone or going.
    if (!ns || ns.status?.phase !== 'Active') return;
    const failures: Error[] = [];
    for (const name of this.names) {
      if (this.saInformer.lister.get(`${key}/${name}`)) continue;
      try {
        await this.client.resource<ServiceAccount>(R.serviceaccounts, key).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: key } });
        this.log.debug('created ServiceAccount', { namespace: key, name });
      } catch (e) {
        // Someone made it first, or the namespace started terminating (or vanished) meanwhile: both fine.
        if (isAlreadyExists(e) || isNamespaceTerminating(e) || isNotFound(e)) continue;
        failures.push(e as Error);
      }
    }
    if (failures.length) throw failures.length === 1 ? failures[0] : new AggregateError(failures, failures.map((f) => f.message).join(', '));
  }
}
