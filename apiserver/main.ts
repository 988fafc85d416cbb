// skiff kube-apiserver: flags in, server out.

import cluster from 'node:cluster';
import os from 'node:os';
import { parseFlags } from '../lib/flags.js';
import { logger, setLogLevel } from '../lib/log.js';
import { runPrimary, startWorker, workerSlot } from './cluster.js';

const log = logger('apiserver');

const flags = parseFlags({
  etcdServers: [] as string[],
  etcdPrefix: '/registry',
  bindAddress: '127.0.0.1',
  port: 6443,
  serviceClusterIpRange: '10.96.0.0/12',
  serviceNodePortRange: '30000-32767',
  // Processes serving the API on the shared port; 1 serves from this process alone.
  workers: 1,
  v: 0,
}, process.argv.slice(2), 'skiff kube-apiserver: the Kubernetes REST API over etcd');

if (flags.v >= 4) setLogLevel('debug');

if (flags.workers > 1 && cluster.isPrimary) {
  runPrimary(flags.workers);
} else {
  await serve();
}

async function serve(): Promise<void> {
  // Loaded here, not at the top: a primary only forks workers and needs neither etcd's client nor express.
  const { EtcdStorage } = await import('./storage/etcd.js');
  const { startServer } = await import('./server.js');
  const etcdServers = flags.etcdServers.length ? flags.etcdServers : ['http://127.0.0.1:2379'];
  const slot = workerSlot();
  const worker = slot === undefined ? undefined : startWorker();
  const storage = new EtcdStorage({ hosts: etcdServers });
  const server = await startServer({
    storage,
    etcdPrefix: flags.etcdPrefix,
    bindAddress: flags.bindAddress,
    port: flags.port,
    serviceClusterIPRange: flags.serviceClusterIpRange,
    serviceNodePortRange: flags.serviceNodePortRange,
    // Duties that must run once per cluster of workers, not once per worker.
    singletons: slot === undefined || slot === 0,
    metrics: worker?.metrics,
  });
  worker?.ready();
  log.info('serving', { address: `http://${flags.bindAddress}:${flags.port}`, etcd: etcdServers, ...(slot === undefined ? {} : { worker: slot }) });

  // A bug in one request's async path must not take the server down for everyone.
  process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: String((e as Error)?.stack ?? e) }));

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void server.close().then(() => storage.close()).finally(() => process.exit(0));
    });
  }
}
