// The network agent's entry point (kindnetd's place in a kind cluster): one
// per node, in the node's network namespace, plus optionally one on the
// control-plane host with no node name, which only routes to every node's
// pod CIDR. Logic lives in agent.ts (what the routes and rules should be)
// and linux.ts (ip and iptables).
//
// Credentials: it lists and watches every Node. Kube 1.32's Node authorizer
// (AuthorizeNodeWithSelectors, on by default) lets a kubelet read only its
// own Node, so the kubelet's kubeconfig is refused here: give it kube-proxy's
// (system:node-proxier may get, list and watch nodes), as kindnetd runs with
// a ServiceAccount of its own rather than the kubelet's identity.

import { SharedInformerFactory } from '../client/informer.js';
import { connectionFromFlags } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { reclaimWhenIdle } from '../lib/idlegc.js';
import { logger, setLogFormat, setLogLevel } from '../lib/log.js';
import { NetAgent } from './agent.js';
import { LinuxBackend } from './linux.js';

const log = logger('netagent');

const flags = parseFlags(
  {
    kubeconfig: '',
    master: '',
    /** This node's name; empty: the control-plane host's agent (routes only). */
    hostnameOverride: '',
    clusterCidr: '10.244.0.0/16',
    /** Remove every route, rule and chain the agent made, and exit. */
    cleanup: false,
    syncPeriod: '30s',
    /** Not a kindnet flag: program this network namespace (/run/netns/<name>) from outside it; tests use it. */
    netns: '',
    v: '',
    logFormat: 'json',
  },
  process.argv.slice(2),
  'skiff netagent: routes each node\'s pod CIDR via its InternalIP, and the forwarding and masquerade rules pods need',
);
if (flags.v) setLogLevel(Number(flags.v) >= 4 ? 'debug' : 'info');
setLogFormat(flags.logFormat);
reclaimWhenIdle();

async function main(): Promise<void> {
  const backend = new LinuxBackend({ netns: flags.netns || undefined });
  if (flags.cleanup) {
    await backend.cleanup();
    log.info('removed network agent routes and rules');
    return;
  }
  const client = new RestClient(connectionFromFlags(flags), { component: 'netagent' });
  const informers = new SharedInformerFactory(client);
  const nodeName = flags.hostnameOverride.toLowerCase() || undefined;
  const agent = new NetAgent({ informers, backend, clusterCIDR: flags.clusterCidr, nodeName, resyncMs: parseDuration(flags.syncPeriod) });
  const shutdown = () => {
    // Routes and rules stay: pods keep their network while the agent restarts (--cleanup removes them).
    agent.stop();
    informers.stop();
    client.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  log.info('starting network agent', { node: nodeName ?? '(control-plane host)', clusterCIDR: flags.clusterCidr });
  await agent.run();
}

main().catch((e) => {
  log.error('network agent failed', { err: String((e as Error).stack ?? e) });
  process.exit(1);
});
