// The TTL-after-finished controller (pkg/controller/ttlafterfinished): a
// finished Job with spec.ttlSecondsAfterFinished is deleted that long after
// it finished (its Complete or Failed condition's time), with Foreground
// propagation so its pods go first. It re-reads the Job before deleting, as
// kube does, so a TTL changed meanwhile is honoured, and the uid and
// resourceVersion are preconditions of the delete.

import { isNotFound } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { objectKey, splitKey } from '../../api/types.js';
import type { Client, Informer, InformerFactory } from '../../client/interfaces.js';
import { logger } from '../../lib/log.js';
import { QueueController } from '../controller.js';
import { isJobFinished } from '../job/job.js';

type Job = KubeObject;

/** How long until the Job expires (<= 0: expired), or undefined when it has no TTL or has not finished. */
export function timeLeft(job: Job, now: Date): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (typeof ttl !== 'number' || job.metadata.deletionTimestamp) return undefined;
  const done = isJobFinished(job);
  if (!done) return undefined;
  const finishedAt = Date.parse(done.lastTransitionTime ?? job.status?.completionTime ?? '');
  if (!finishedAt) return undefined;
  return finishedAt + ttl * 1000 - now.getTime();
}

export class TTLAfterFinishedController extends QueueController {
  private readonly client: Client;
  private readonly jobs: Informer<Job>;
  private readonly now: () => Date;

  constructor(o: { client: Client; informers: InformerFactory; now?: () => Date }) {
    super('ttl-after-finished', logger('ttl-after-finished-controller'));
    this.client = o.client;
    this.now = o.now ?? (() => new Date());
    this.jobs = o.informers.informerFor<Job>(R.jobs);
    const enqueue = (j: Job) => {
      if (typeof j.spec?.ttlSecondsAfterFinished === 'number' && isJobFinished(j) && !j.metadata.deletionTimestamp) this.queue.add(objectKey(j));
    };
    this.jobs.addEventHandler({ onAdd: enqueue, onUpdate: (_, j) => enqueue(j) });
  }

  async sync(key: string): Promise<void> {
    const cached = this.jobs.lister.get(key);
    if (!cached) return;
    let left = timeLeft(cached, this.now());
    if (left === undefined) return;
    if (left > 0) return this.queue.addAfter(key, left);
    const { namespace, name } = splitKey(key);
    const client = this.client.resource<Job>(R.jobs, namespace);
    // The cache may be stale: decide on the API server's copy.
    const fresh = await client.get(name).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    if (!fresh) return;
    left = timeLeft(fresh, this.now());
    if (left === undefined) return;
    if (left > 0) return this.queue.addAfter(key, left);
    this.log.info('cleaning up job', { job: key });
    await client.delete(name, { propagationPolicy: 'Foreground', preconditions: { uid: fresh.metadata.uid, resourceVersion: fresh.metadata.resourceVersion } }).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
}
