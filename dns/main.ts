// The cluster DNS process (CoreDNS' place in a kubeadm cluster): flags, the
// API connection, informers, the UDP/TCP server and /metrics (CoreDNS'
// prometheus plugin port 9153). Logic lives in zone.ts and server.ts.

import { SharedInformerFactory } from '../client/informer.js';
import { connectionFromFlags } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import { parseFlags } from '../lib/flags.js';
import { reclaimWhenIdle } from '../lib/idlegc.js';
import { logger, setLogFormat, setLogLevel } from '../lib/log.js';
import { collectDefaultMetrics, serveMetrics } from '../lib/metrics.js';
import { DnsServer } from './server.js';
import { zoneFromInformers } from './zone.js';

const log = logger('dns');

const flags = parseFlags(
  {
    kubeconfig: '',
    master: '',
    clusterDomain: 'cluster.local',
    /** Where pods reach it: the kube-dns Service's endpoint. */
    bindAddress: '0.0.0.0',
    port: 53,
    /** host[:port] of the resolver other names go to (CoreDNS' forward); none by default: they are refused. */
    upstream: '',
    metricsBindAddress: '127.0.0.1:9153',
    v: '',
    logFormat: 'json',
  },
  process.argv.slice(2),
  'skiff dns: the cluster DNS server (CoreDNS kubernetes plugin semantics)',
);
if (flags.v) setLogLevel(Number(flags.v) >= 4 ? 'debug' : 'info');
setLogFormat(flags.logFormat);

async function main(): Promise<void> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?$/i.test(flags.clusterDomain)) throw new Error(`--cluster-domain=${flags.clusterDomain}: not a DNS name`);
  const client = new RestClient(connectionFromFlags(flags), { component: 'skiff-dns' });
  const informers = new SharedInformerFactory(client, { freeze: true });
  const zone = zoneFromInformers(informers, flags.clusterDomain);
  const server = new DnsServer({ zone, upstream: flags.upstream || undefined });

  collectDefaultMetrics();
  reclaimWhenIdle();
  let synced = false;
  const at = flags.metricsBindAddress.lastIndexOf(':');
  const metrics = serveMetrics(Number(flags.metricsBindAddress.slice(at + 1)), flags.metricsBindAddress.slice(0, at) || '127.0.0.1', () => synced);
  informers.start();
  // Like CoreDNS' kubernetes plugin, answer only once the caches hold the cluster: an early NXDOMAIN would be cached by clients.
  await informers.waitForCacheSync();
  synced = true;
  const port = await server.listen(flags.bindAddress, flags.port);
  log.info('serving cluster DNS', { domain: flags.clusterDomain, address: `${flags.bindAddress}:${port}`, upstream: flags.upstream || 'none' });

  const shutdown = async () => {
    await server.close();
    metrics.close();
    informers.stop();
    client.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((e) => {
  log.error('dns failed', { err: String((e as Error).stack ?? e) });
  process.exit(1);
});
