// What every controller in the controller-manager shares: the sample-controller
// shape. Informer event handlers turn changes into keys on a rate-limited work
// queue; workers call a level-based, idempotent sync(key). The manager starts
// the shared informers and waits for their caches before calling run().

import type { KubeObject } from '../api/types.js';
import type { Logger } from '../lib/log.js';
import { newRateLimitingQueue, runWorkers } from '../client/workqueue.js';
import type { WorkQueue } from '../client/interfaces.js';

/** The slice of client-go's EventRecorder the controllers use. */
export interface EventRecorder {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface Controller {
  readonly name: string;
  /** Process keys with `workers` concurrent workers until shutDown(). */
  run(workers: number): Promise<void>;
  shutDown(): void;
}

export abstract class QueueController implements Controller {
  readonly queue: WorkQueue;

  constructor(readonly name: string, protected readonly log: Logger) {
    this.queue = newRateLimitingQueue({ name });
  }

  abstract sync(key: string): Promise<void>;

  run(workers: number): Promise<void> {
    return runWorkers(this.queue, workers, (key) => this.sync(key), this.log);
  }

  shutDown(): void {
    this.queue.shutDown();
  }
}

export const now = (): Date => new Date();
