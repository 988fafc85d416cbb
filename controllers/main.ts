// kube-controller-manager's entry point: flags, the API connection, /metrics
// and /healthz, and leader election. Only the leader runs controllers; losing
// the lease ends the process, as kube-controller-manager does, so a restart
// starts from a clean cache.

import fs from 'node:fs';
import os from 'node:os';
import { EventRecorder } from '../client/events.js';
import { SharedInformerFactory } from '../client/informer.js';
import { connectionFromFlags } from '../client/kubeconfig.js';
import { LeaderElector, leaderElectionConfigFromFlags, leaderElectionFlags } from '../client/leaderelection.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { reclaimWhenIdle } from '../lib/idlegc.js';
import { logger, setLogFormat, setLogLevel } from '../lib/log.js';
import { collectDefaultMetrics, serveMetrics } from '../lib/metrics.js';
import { ControllerManager } from './manager.js';

const log = logger('controller-manager');

const flags = parseFlags(
  {
    kubeconfig: '',
    master: '',
    controllers: ['*'],
    concurrentReplicasetSyncs: 5,
    concurrentRcSyncs: 5,
    concurrentResourceQuotaSyncs: 5,
    resourceQuotaSyncPeriod: '5m',
    concurrentDeploymentSyncs: 5,
    concurrentDaemonsetSyncs: 2,
    concurrentStatefulsetSyncs: 5,
    concurrentJobSyncs: 5,
    concurrentCronJobSyncs: 5,
    concurrentTtlAfterFinishedSyncs: 5,
    concurrentEndpointSyncs: 5,
    concurrentServiceEndpointSyncs: 5,
    maxEndpointsPerSlice: 100,
    mirroringConcurrentServiceEndpointSyncs: 5,
    mirroringMaxEndpointsPerSubset: 1000,
    concurrentGcSyncs: 20,
    concurrentHorizontalPodAutoscalerSyncs: 5,
    horizontalPodAutoscalerSyncPeriod: '15s',
    horizontalPodAutoscalerTolerance: 0.1,
    horizontalPodAutoscalerDownscaleStabilization: '5m',
    horizontalPodAutoscalerCpuInitializationPeriod: '5m',
    horizontalPodAutoscalerInitialReadinessDelay: '30s',
    nodeMonitorGracePeriod: '40s',
    nodeMonitorPeriod: '5s',
    // The node-ipam-controller's: each Node gets a /node-cidr-mask-size of --cluster-cidr as spec.podCIDR.
    allocateNodeCidrs: false,
    clusterCidr: '10.244.0.0/16',
    nodeCidrMaskSize: 24,
    serviceClusterIpRange: '',
    // The CA bundle published as kube-root-ca.crt in every namespace; by default the one this process trusts the API server with.
    rootCaFile: '',
    // The CA csrsigning issues certificates with (kubeadm passes the cluster CA).
    clusterSigningCertFile: '',
    clusterSigningKeyFile: '',
    clusterSigningDuration: '8760h',
    pvclaimbinderSyncPeriod: '15s',
    // The local-path provisioner's helper pod image (removes a released volume's directory on its node).
    localPathHelperImage: 'busybox:latest',
    // The pod GC's: finished pods kept before the oldest are deleted (0 disables that part).
    terminatedPodGcThreshold: 12500,
    port: 10257,
    bindAddress: '127.0.0.1',
    v: '',
    logFormat: 'json',
    ...leaderElectionFlags,
    leaderElectResourceName: 'kube-controller-manager',
  },
  process.argv.slice(2),
  'skiff controller-manager: runs the ReplicaSet, Deployment, Endpoints, EndpointSlice, EndpointSlice mirroring, garbage-collector and node-lifecycle controllers',
);
if (flags.v) setLogLevel(Number(flags.v) >= 4 ? 'debug' : 'info');
setLogFormat(flags.logFormat);
// As kube-controller-manager's options validation: a slice holds at most 1000 endpoints.
for (const [flag, v] of [['--max-endpoints-per-slice', flags.maxEndpointsPerSlice], ['--mirroring-max-endpoints-per-subset', flags.mirroringMaxEndpointsPerSubset]] as const) {
  if (v < 1 || v > 1000) {
    process.stderr.write(`${flag} must be between 1 and 1000, got ${v}\n`);
    process.exit(1);
  }
}

const connection = connectionFromFlags(flags);
const client = new RestClient(connection, { component: 'controller-manager', maxSockets: 64 });
const informers = new SharedInformerFactory(client);
const manager = new ControllerManager({
  client,
  informers,
  recorderFor: (component) => new EventRecorder(client, { component, host: os.hostname() }),
  controllers: flags.controllers,
  concurrentReplicaSetSyncs: flags.concurrentReplicasetSyncs,
  concurrentRCSyncs: flags.concurrentRcSyncs,
  concurrentResourceQuotaSyncs: flags.concurrentResourceQuotaSyncs,
  resourceQuotaSyncPeriodMs: parseDuration(flags.resourceQuotaSyncPeriod),
  concurrentDeploymentSyncs: flags.concurrentDeploymentSyncs,
  concurrentDaemonSetSyncs: flags.concurrentDaemonsetSyncs,
  concurrentStatefulSetSyncs: flags.concurrentStatefulsetSyncs,
  concurrentJobSyncs: flags.concurrentJobSyncs,
  concurrentCronJobSyncs: flags.concurrentCronJobSyncs,
  concurrentTTLSyncs: flags.concurrentTtlAfterFinishedSyncs,
  concurrentEndpointSyncs: flags.concurrentEndpointSyncs,
  concurrentServiceEndpointSyncs: flags.concurrentServiceEndpointSyncs,
  maxEndpointsPerSlice: flags.maxEndpointsPerSlice,
  mirroringConcurrentServiceEndpointSyncs: flags.mirroringConcurrentServiceEndpointSyncs,
  mirroringMaxEndpointsPerSubset: flags.mirroringMaxEndpointsPerSubset,
  concurrentGcSyncs: flags.concurrentGcSyncs,
  concurrentHorizontalPodAutoscalerSyncs: flags.concurrentHorizontalPodAutoscalerSyncs,
  hpa: {
    syncPeriodMs: parseDuration(flags.horizontalPodAutoscalerSyncPeriod),
    tolerance: Number(flags.horizontalPodAutoscalerTolerance),
    downscaleStabilizationMs: parseDuration(flags.horizontalPodAutoscalerDownscaleStabilization),
    cpuInitializationPeriodMs: parseDuration(flags.horizontalPodAutoscalerCpuInitializationPeriod),
    initialReadinessDelayMs: parseDuration(flags.horizontalPodAutoscalerInitialReadinessDelay),
  },
  nodeMonitorGracePeriodMs: parseDuration(flags.nodeMonitorGracePeriod),
  nodeMonitorPeriodMs: parseDuration(flags.nodeMonitorPeriod),
  allocateNodeCIDRs: flags.allocateNodeCidrs,
  clusterCIDR: flags.clusterCidr,
  nodeCIDRMaskSize: flags.nodeCidrMaskSize,
  serviceClusterIPRange: flags.serviceClusterIpRange || undefined,
  rootCA: flags.rootCaFile ? fs.readFileSync(flags.rootCaFile, 'utf8') : connection.ca,
  clusterSigning: flags.clusterSigningCertFile && flags.clusterSigningKeyFile
    ? { cert: fs.readFileSync(flags.clusterSigningCertFile, 'utf8'), key: fs.readFileSync(flags.clusterSigningKeyFile, 'utf8') } : undefined,
  clusterSigningDurationMs: parseDuration(flags.clusterSigningDuration),
  pvclaimbinderSyncPeriodMs: parseDuration(flags.pvclaimbinderSyncPeriod),
  localPathHelperImage: flags.localPathHelperImage,
  terminatedPodGCThreshold: flags.terminatedPodGcThreshold,
});

collectDefaultMetrics();
reclaimWhenIdle();
const server = serveMetrics(flags.port, flags.bindAddress);
const leading = new AbortController();

function runControllers(): void {
  manager.run(leading.signal).catch((e) => {
    log.error('controller-manager failed', { err: String(e) });
    process.exit(1);
  });
}

let shuttingDown = false;
let elector: LeaderElector | undefined;
if (flags.leaderElect) {
  elector = new LeaderElector({
    client,
    ...leaderElectionConfigFromFlags(flags),
    releaseOnCancel: true,
    callbacks: {
      onStartedLeading: runControllers,
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
  runControllers();
}

async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  leading.abort();
  informers.stop();
  await elector?.stop();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
