// kube-proxy's entry point: flags as Kubernetes' own, the API connection,
// /healthz and /metrics, and the choice of backend. Logic lives in
// proxier.ts, iptables/, userspace/ and cleanup.ts.

import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import type { Node } from '../api/types.js';
import { R } from '../api/resources.js';
import { SharedInformerFactory } from '../client/informer.js';
import { connectionFromFlags } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { reclaimWhenIdle } from '../lib/idlegc.js';
import { logger, setLogFormat, setLogLevel } from '../lib/log.js';
import { collectDefaultMetrics, serveMetrics } from '../lib/metrics.js';
import type { Backend } from './backend.js';
import { cleanupLeftovers } from './cleanup.js';
import { IptablesBackend } from './iptables/backend.js';
import { defaultChainPrefix, maxChainPrefixLength, validChainPrefix } from './iptables/rules.js';
import { Proxier } from './proxier.js';
import { UserspaceBackend } from './userspace/proxy.js';
import { cidrContains, localAddresses, makeRangeLocal } from './netutil.js';

const log = logger('kube-proxy');
const run = promisify(execFile);

const flags = parseFlags(
  {
    kubeconfig: '',
    master: '',
    hostnameOverride: '',
    proxyMode: '',
    clusterCidr: '',
    nodeportAddresses: [] as string[],
    minSyncPeriod: '1s',
    syncPeriod: '30s',
    masqueradeAll: false,
    cleanup: false,
    // Not a kube flag: clusters sharing one kernel keep their chains apart (see README).
    chainPrefix: defaultChainPrefix,
    serviceClusterIpRange: '10.96.0.0/12',
    metricsBindAddress: '127.0.0.1:10249',
    v: '',
    logFormat: 'json',
  },
  process.argv.slice(2),
  'skiff kube-proxy: forwards Service ClusterIPs and NodePorts to ready endpoints',
);
if (flags.v) setLogLevel(Number(flags.v) >= 4 ? 'debug' : 'info');
setLogFormat(flags.logFormat);

/** Full syncs rewrite every chain; kube does one an hour besides those after failures. */
const fullSyncPeriodMs = 3_600_000;

async function canChangeIptables(): Promise<boolean> {
  try {
    await run('iptables', ['-w', '-t', 'nat', '-S', 'OUTPUT'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  if (!validChainPrefix(flags.chainPrefix)) throw new Error(`--chain-prefix=${flags.chainPrefix}: 1 to ${maxChainPrefixLength} upper-case letters and digits, starting with a letter`);
  if (flags.cleanup) {
    const r = await cleanupLeftovers(flags.chainPrefix);
    log.info('removed kube-proxy rules', r);
    return;
  }
  const nodeName = flags.hostnameOverride || os.hostname().toLowerCase();
  for (const cidr of flags.serviceClusterIpRange.split(',').filter(Boolean)) {
    // Before the first sync, so no ClusterIP packet ever follows the default route off the machine.
    await makeRangeLocal(cidr);
  }
  let mode = flags.proxyMode;
  if (!mode) mode = (await canChangeIptables()) ? 'iptables' : 'userspace';
  if (mode !== 'iptables' && mode !== 'userspace') throw new Error(`unsupported --proxy-mode=${mode} (iptables or userspace)`);

  const client = new RestClient(connectionFromFlags(flags), { component: 'kube-proxy' });
  const informers = new SharedInformerFactory(client);
  // Only userspace needs the node's addresses (iptables matches any local one).
  const nodes = mode === 'userspace' ? informers.informerFor<Node>(R.nodes, { fieldSelector: `metadata.name=${nodeName}` }) : undefined;

  let backend: Backend;
  if (mode === 'iptables') {
    const b = new IptablesBackend({ clusterCIDR: flags.clusterCidr || undefined, masqueradeAll: flags.masqueradeAll, nodePortAddresses: flags.nodeportAddresses, chainPrefix: flags.chainPrefix });
    await b.init();
    setInterval(() => b.forceFullSync(), fullSyncPeriodMs).unref();
    backend = b;
  } else {
    backend = new UserspaceBackend({
      nodeAddresses: () => {
        const local = localAddresses();
        const node = nodes?.lister.get(nodeName);
        const fromNode = (node?.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address);
        const cidrs = flags.nodeportAddresses;
        const candidates = cidrs.length ? local.filter((a) => cidrs.some((c) => cidrContains(c, a))) : fromNode.filter((a) => local.includes(a));
        return candidates.filter((a) => !a.includes(':'));
      },
    });
  }

  const [host, portStr] = [flags.metricsBindAddress.slice(0, flags.metricsBindAddress.lastIndexOf(':')), flags.metricsBindAddress.slice(flags.metricsBindAddress.lastIndexOf(':') + 1)];
  const proxier = new Proxier({ informers, backend, minSyncPeriodMs: parseDuration(flags.minSyncPeriod), syncPeriodMs: parseDuration(flags.syncPeriod) });
  if (backend instanceof IptablesBackend) backend.monitorCanary(5000, () => void proxier.requestSync());
  collectDefaultMetrics();
  reclaimWhenIdle();
  const server = serveMetrics(Number(portStr), host || '127.0.0.1', () => proxier.healthy());
  log.info('starting kube-proxy', { node: nodeName, mode, metrics: flags.metricsBindAddress });

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await proxier.stop();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  await proxier.run();
  log.info('first sync done', { servicePorts: proxier.lastMap.length });
}

main().catch((e) => {
  log.error('kube-proxy failed', { err: String((e as Error).stack ?? e) });
  process.exit(1);
});
