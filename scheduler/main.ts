// kube-scheduler's entry point: flags, the API connection, /metrics and
// /healthz, and leader election. Only the leader schedules; losing the lease
// ends the process, as kube-scheduler does, so a restart starts clean.

import os from 'node:os';
import { RestClient } from '../client/rest.js';
import { connectionFromFlags } from '../client/kubeconfig.js';
import { SharedInformerFactory } from '../client/informer.js';
import { LeaderElector, leaderElectionConfigFromFlags, leaderElectionFlags } from '../client/leaderelection.js';
import { EventRecorder } from '../client/events.js';
import { parseFlags } from '../lib/flags.js';
import { reclaimWhenIdle } from '../lib/idlegc.js';
import { logger, setLogFormat, setLogLevel } from '../lib/log.js';
import { collectDefaultMetrics, serveMetrics } from '../lib/metrics.js';
import { DEFAULT_SCHEDULER_NAME, Scheduler } from './scheduler.js';

const log = logger('scheduler');

const flags = parseFlags(
  {
    kubeconfig: '',
    master: '',
    schedulerName: DEFAULT_SCHEDULER_NAME,
    port: 10259,
    bindAddress: '127.0.0.1',
    v: '',
    logFormat: 'json',
    ...leaderElectionFlags,
    leaderElectResourceName: 'kube-scheduler',
  },
  process.argv.slice(2),
  'skiff scheduler: binds pending pods to nodes',
);
if (flags.v) setLogLevel(Number(flags.v) >= 4 ? 'debug' : 'info');
setLogFormat(flags.logFormat);

const client = new RestClient(connectionFromFlags(flags), { component: 'scheduler', maxSockets: 64 });
const informers = new SharedInformerFactory(client);
const scheduler = new Scheduler({
  client,
  informers,
  events: new EventRecorder(client, { component: flags.schedulerName, host: os.hostname() }),
  schedulerName: flags.schedulerName,
});

collectDefaultMetrics();
reclaimWhenIdle();
let healthy = true;
let shuttingDown = false;
const server = serveMetrics(flags.port, flags.bindAddress, () => healthy);

function runScheduler(): void {
  scheduler.run().catch((e) => {
    log.error('scheduler failed', { err: String(e) });
    healthy = false;
    process.exit(1);
  });
}

let elector: LeaderElector | undefined;
if (flags.leaderElect) {
  elector = new LeaderElector({
    client,
    ...leaderElectionConfigFromFlags(flags),
    releaseOnCancel: true,
    callbacks: {
      onStartedLeading: runScheduler,
      onStoppedLeading: () => {
        if (shuttingDown) return;
        log.error('leaderelection lost');
        process.exit(1);
      },
      onNewLeader: (id) => log.info('new leader elected', { identity: id }),
    },
  });
  void elector.run();
} else {
  runScheduler();
}

async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  await scheduler.stop();
  informers.stop();
  await elector?.stop();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
