// The kubelet's entry point: flags as Kubernetes names them, the API
// connection, the Docker runtime, node registration and the pod lifecycle,
// the HTTPS API on --port (authenticated and authorized: auth.ts) and the
// plain-HTTP /healthz on --healthz-bind-address:--healthz-port.

import fs from 'node:fs';
import path from 'node:path';
import { EventRecorder } from '../client/events.js';
import { SharedInformerFactory } from '../client/informer.js';
import { connectionFromFlags } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { reclaimWhenIdle } from '../lib/idlegc.js';
import { logger, setLogFormat, setLogLevel } from '../lib/log.js';
import { collectDefaultMetrics } from '../lib/metrics.js';
import { KubeletAuth } from './auth.js';
import { Kubelet } from './kubelet.js';
import { NodeAgent } from './node.js';
import { DockerRuntime } from './runtime/docker.js';
import { createHealthServer, createServer, servingCertificate } from './server.js';
import { TokenManager } from './tokens.js';
import { DnsConfigurer } from './dns.js';

const log = logger('kubelet');

const flags = parseFlags(
  {
    kubeconfig: '',
    master: '',
    hostnameOverride: '',
    nodeIp: '127.0.0.1',
    containerRuntimeEndpoint: 'unix:///var/run/docker.sock',
    podInfraContainerImage: 'skiff/pause:3.10',
    // Not a kube flag (kubenet's role): bridge = Docker's default bridge; podcidr = a bridge of the Node's spec.podCIDR, waited for.
    podNetwork: 'bridge',
    clusterDns: [] as string[],
    clusterDomain: '',
    resolvConf: '/etc/resolv.conf',
    maxPods: 110,
    port: 10250,
    address: '127.0.0.1',
    tlsCertFile: '',
    tlsPrivateKeyFile: '',
    /** Where a self-signed serving certificate is kept when --tls-cert-file is not given (kube: <root-dir>/pki). */
    certDir: '',
    clientCaFile: '',
    // kubeadm's KubeletConfiguration rather than the bare binary's defaults: no anonymous requests, tokens checked and every request authorized by the API server.
    anonymousAuth: false,
    authenticationTokenWebhook: true,
    authenticationTokenWebhookCacheTtl: '2m',
    authorizationMode: 'Webhook',
    authorizationWebhookCacheAuthorizedTtl: '5m',
    authorizationWebhookCacheUnauthorizedTtl: '30s',
    healthzPort: 10248,
    healthzBindAddress: '127.0.0.1',
    rootDir: '/var/lib/kubelet',
    cpu: '',
    memory: '',
    v: '',
    logFormat: 'json',
  },
  process.argv.slice(2),
  'skiff kubelet: registers the node and runs its pods as Docker containers',
);
if (flags.v) setLogLevel(Number(flags.v) >= 4 ? 'debug' : 'info');
setLogFormat(flags.logFormat);

const nodeName = (flags.hostnameOverride || (await import('node:os')).hostname()).toLowerCase();
const rootDir = path.resolve(flags.rootDir);
fs.mkdirSync(rootDir, { recursive: true });

if (flags.authorizationMode !== 'Webhook' && flags.authorizationMode !== 'AlwaysAllow') throw new Error(`--authorization-mode: unsupported mode ${flags.authorizationMode} (Webhook or AlwaysAllow)`);
if (!!flags.tlsCertFile !== !!flags.tlsPrivateKeyFile) throw new Error('--tls-cert-file and --tls-private-key-file go together');

const client = new RestClient(connectionFromFlags(flags), { component: 'kubelet', maxSockets: 32 });
if (flags.podNetwork !== 'bridge' && flags.podNetwork !== 'podcidr') throw new Error(`--pod-network: ${flags.podNetwork} is not bridge or podcidr`);
const runtime = new DockerRuntime(flags.containerRuntimeEndpoint, { podNetwork: flags.podNetwork });
const recorder = new EventRecorder(client, { component: 'kubelet', host: nodeName });
const tokens = new TokenManager({ client });
const dns = new DnsConfigurer({ clusterDNS: flags.clusterDns, clusterDomain: flags.clusterDomain, resolvConf: flags.resolvConf, nodeIPs: [flags.nodeIp], recorder });
const kubelet = new Kubelet({ client, runtime, nodeName, nodeIP: flags.nodeIp, rootDir, podInfraImage: flags.podInfraContainerImage, recorder, tokens, dns });
const node = new NodeAgent({ client, runtime, nodeName, nodeIP: flags.nodeIp, port: flags.port, rootDir, maxPods: flags.maxPods, cpu: flags.cpu || undefined, memory: flags.memory || undefined, recorder });

collectDefaultMetrics();
reclaimWhenIdle();
const serving = flags.tlsCertFile
  ? { cert: fs.readFileSync(flags.tlsCertFile), key: fs.readFileSync(flags.tlsPrivateKeyFile) }
  : await servingCertificate(flags.certDir || path.join(rootDir, 'pki'), nodeName, flags.nodeIp);
const auth = new KubeletAuth({
  nodeName,
  anonymous: flags.anonymousAuth,
  x509: !!flags.clientCaFile,
  tokenWebhook: flags.authenticationTokenWebhook ? client : undefined,
  tokenCacheTTLms: parseDuration(flags.authenticationTokenWebhookCacheTtl),
  authorization: flags.authorizationMode === 'Webhook'
    ? { mode: 'Webhook', client, authorizedTTLms: parseDuration(flags.authorizationWebhookCacheAuthorizedTtl), unauthorizedTTLms: parseDuration(flags.authorizationWebhookCacheUnauthorizedTtl) }
    : { mode: 'AlwaysAllow' },
});
const server = createServer({ kubelet, runtime, nodeName, auth, tls: { ...serving, clientCA: flags.clientCaFile ? fs.readFileSync(flags.clientCaFile) : undefined } });
server.listen(flags.port, flags.address);
server.on('error', (e) => {
  log.error('HTTPS server failed', { error: e.message });
  process.exit(1);
});
// As kube's: a health port that cannot be bound is logged and retried, not fatal; 0 disables it.
const health = createHealthServer();
if (flags.healthzPort > 0) {
  health.on('error', (e) => {
    log.error('failed to start healthz server', { error: e.message });
    setTimeout(() => health.listen(flags.healthzPort, flags.healthzBindAddress), 5000).unref();
  });
  health.listen(flags.healthzPort, flags.healthzBindAddress);
}

await node.register();
node.start();
kubelet.start(new SharedInformerFactory(client));
tokens.start();
log.info('kubelet started', { node: nodeName, port: flags.port, healthzPort: flags.healthzPort, rootDir });

const shutdown = () => {
  // Pods keep running: a restarted kubelet adopts them.
  kubelet.stop();
  node.stop();
  tokens.stop();
  server.close();
  health.close();
  client.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
