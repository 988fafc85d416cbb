// skiff kube-apiserver: flags in, server out.

import cluster from 'node:cluster';
import fs from 'node:fs';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { reclaimWhenIdle } from '../lib/idlegc.js';
import { logger, setLogFormat, setLogLevel } from '../lib/log.js';
import { runPrimary, startWorker, workerSlot } from './cluster.js';

const log = logger('apiserver');

const flags = parseFlags({
  etcdServers: [] as string[],
  etcdPrefix: '/registry',
  bindAddress: '127.0.0.1',
  securePort: 6443,
  advertiseAddress: '',
  tlsCertFile: '',
  tlsPrivateKeyFile: '',
  clientCaFile: '',
  // The API server's TLS client to kubelets: its client certificate, and the CA their serving certificates must chain to.
  kubeletClientCertificate: '',
  kubeletClientKey: '',
  kubeletCertificateAuthority: '',
  kubeletTimeout: '5s',
  anonymousAuth: true,
  enableBootstrapTokenAuth: true,
  // kubeadm's modes rather than the bare binary's AlwaysAllow: secure without a flag.
  authorizationMode: ['Node', 'RBAC'],
  // ServiceAccount tokens: the issuer(s) (the first issues), the keys that verify them, the key that signs them.
  serviceAccountIssuer: [] as string[],
  serviceAccountKeyFile: [] as string[],
  serviceAccountSigningKeyFile: '',
  serviceAccountJwksUri: '',
  serviceAccountMaxTokenExpiration: '0s',
  apiAudiences: [] as string[],
  // Beside kube's default-on plugins; NodeRestriction is on as kubeadm turns it on.
  enableAdmissionPlugins: ['NodeRestriction'],
  disableAdmissionPlugins: [] as string[],
  admissionControlConfigFile: '',
  serviceClusterIpRange: '10.96.0.0/12',
  serviceNodePortRange: '30000-32767',
  // Processes serving the API on one shared port (node:cluster; apiserver/cluster.ts); 1 serves from
  // this process alone. Not the CPU count by default: on a 2-core machine shared with etcd and the
  // clients, a second worker raised CPU per create from ~0.85 to ~1.2 ms and p99 latency with no gain
  // in creates/s (bench:apiserver); with cores to spare, --workers=N scales the API server out.
  workers: 1,
  // etcd's unary calls on a worker thread while the main thread is busy (apiserver/storage/etcdthread.ts):
  // the main thread is the one that saturates under write load, and node's http2 client took a third of
  // its CPU per create. false keeps every call inline.
  etcdTransportThread: true,
  v: 0,
  logFormat: 'json',
}, process.argv.slice(2), 'skiff kube-apiserver: the Kubernetes REST API over etcd');

if (flags.v >= 4) setLogLevel('debug');
setLogFormat(flags.logFormat);

if (flags.workers > 1 && cluster.isPrimary) {
  runPrimary(flags.workers);
} else {
  await serve();
}

async function serve(): Promise<void> {
  // Loaded here, not at the top: a primary only forks workers and needs neither etcd's client nor express.
  const { EtcdStorage } = await import('./storage/etcd.js');
  const { LoadAwareTransport } = await import('./storage/etcdthread.js');
  const { startServer } = await import('./server.js');
  const { podSecurityConfigurationFromFile } = await import('./admission/podsecurity/config.js');
  const etcdServers = flags.etcdServers.length ? flags.etcdServers : ['http://127.0.0.1:2379'];
  const slot = workerSlot();
  const worker = slot === undefined ? undefined : startWorker();
  const storage = new EtcdStorage({ hosts: etcdServers, transport: flags.etcdTransportThread ? (o) => new LoadAwareTransport(o) : undefined });
  if (!flags.tlsCertFile || !flags.tlsPrivateKeyFile) throw new Error('--tls-cert-file and --tls-private-key-file are required: the API server serves HTTPS only');
  const read = (f: string) => fs.readFileSync(f, 'utf8');
  const server = await startServer({
    storage,
    etcdPrefix: flags.etcdPrefix,
    bindAddress: flags.bindAddress,
    port: flags.securePort,
    advertiseAddress: flags.advertiseAddress || undefined,
    tls: { cert: read(flags.tlsCertFile), key: read(flags.tlsPrivateKeyFile), clientCA: flags.clientCaFile ? read(flags.clientCaFile) : undefined },
    authentication: { anonymous: flags.anonymousAuth, bootstrapTokens: flags.enableBootstrapTokenAuth },
    kubeletClient: {
      cert: flags.kubeletClientCertificate ? read(flags.kubeletClientCertificate) : undefined,
      key: flags.kubeletClientKey ? read(flags.kubeletClientKey) : undefined,
      ca: flags.kubeletCertificateAuthority ? read(flags.kubeletCertificateAuthority) : undefined,
      timeoutMs: parseDuration(flags.kubeletTimeout),
    },
    authorizationModes: flags.authorizationMode,
    serviceAccounts: flags.serviceAccountIssuer.length ? {
      issuers: flags.serviceAccountIssuer,
      publicKeysPem: flags.serviceAccountKeyFile.map(read),
      signingKeyPem: flags.serviceAccountSigningKeyFile ? read(flags.serviceAccountSigningKeyFile) : undefined,
      apiAudiences: flags.apiAudiences,
      maxExpirationSeconds: parseDuration(flags.serviceAccountMaxTokenExpiration) / 1000,
      jwksUri: flags.serviceAccountJwksUri || undefined,
      externalAddress: `${flags.advertiseAddress || (['0.0.0.0', '::'].includes(flags.bindAddress) ? '127.0.0.1' : flags.bindAddress)}:${flags.securePort}`,
    } : undefined,
    enableAdmissionPlugins: flags.enableAdmissionPlugins,
    disableAdmissionPlugins: flags.disableAdmissionPlugins,
    podSecurityConfiguration: flags.admissionControlConfigFile ? podSecurityConfigurationFromFile(flags.admissionControlConfigFile) : undefined,
    serviceClusterIPRange: flags.serviceClusterIpRange,
    serviceNodePortRange: flags.serviceNodePortRange,
    // Duties that must run once per cluster of workers, not once per worker.
    singletons: slot === undefined || slot === 0,
    metrics: worker?.metrics,
  });
  worker?.ready();
  // Start-up alone grows the young generation to its cap (apiserver/nodeflags.ts); idle, it goes back.
  reclaimWhenIdle();
  log.info('serving', { address: `https://${flags.bindAddress}:${flags.securePort}`, etcd: etcdServers, ...(slot === undefined ? {} : { worker: slot }) });

  // A bug in one request's async path must not take the server down for everyone.
  process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: String((e as Error)?.stack ?? e) }));

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void server.close().then(() => storage.close()).finally(() => process.exit(0));
    });
  }
}
