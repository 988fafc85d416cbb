// The controller-manager: builds the enabled controllers over one shared
// informer factory, and once every cache has synced runs them until stopped.
// Waiting for the sync matters beyond startup speed: expectations live in
// memory, so after a restart only a complete cache keeps a ReplicaSet from
// counting too few pods and creating extras.

import type { Client, InformerFactory } from '../client/interfaces.js';
import { logger } from '../lib/log.js';
import type { Controller, EventRecorder } from './controller.js';
import { DaemonSetController } from './daemonset/daemonset.js';
import { DeploymentController } from './deployment/deployment.js';
import { EndpointsController } from './endpoints/endpoints.js';
import { EndpointSliceController } from './endpointslice/endpointslice.js';
import { EndpointSliceMirroringController } from './endpointslice/mirroring.js';
import { GarbageCollector } from './garbagecollector/garbagecollector.js';
import { DisruptionController } from './disruption/disruption.js';
import { HorizontalController } from './podautoscaler/horizontal.js';
import { RestMetricsClient, RestScaleClient } from './podautoscaler/clients.js';
import { NodeIpamController } from './nodeipam/nodeipam.js';
import { NodeLifecycleController } from './nodelifecycle/nodelifecycle.js';
import { TaintEvictionController } from './nodelifecycle/taintmanager.js';
import { ReplicaSetController } from './replicaset/replicaset.js';
import { ReplicationManager } from './replicaset/replication.js';
import { ResourceQuotaController } from './resourcequota/resourcequota.js';
import { RootCACertPublisher } from './rootcacertpublisher/publisher.js';
import { ServiceAccountsController } from './serviceaccount/serviceaccounts.js';
import { StatefulSetController } from './statefulset/statefulset.js';
import { ClusterRoleAggregationController } from './clusterroleaggregation/clusterroleaggregation.js';
import { JobController } from './job/job.js';
import { CronJobController } from './cronjob/cronjob.js';
import { TTLAfterFinishedController } from './ttlafterfinished/ttlafterfinished.js';
import { PodGCController } from './podgc/podgc.js';
import { PersistentVolumeBinder } from './volume/binder.js';
import { PVCProtectionController, PVProtectionController } from './volume/protection.js';
import { LocalPathProvisioner } from './localpath/provisioner.js';
import { CSRApprovingController } from './certificates/approver.js';
import { CSRSigningController } from './certificates/signer.js';
import { BootstrapSigner } from './bootstrap/bootstrapsigner.js';
import { TokenCleaner } from './bootstrap/tokencleaner.js';
import type { KeyPair } from '../lib/pki.js';

const log = logger('controller-manager');

export interface ManagerOptions {
  client: Client;
  informers: InformerFactory;
  /** An event recorder reporting as the named component. */
  recorderFor: (component: string) => EventRecorder;
  /** kube-controller-manager's --controllers: "*", names, "-name" to disable. */
  controllers: string[];
  concurrentReplicaSetSyncs: number;
  /** --concurrent-rc-syncs, --concurrent-resource-quota-syncs (kube: 5 each), --resource-quota-sync-period (kube: 5m). */
  concurrentRCSyncs?: number;
  concurrentResourceQuotaSyncs?: number;
  resourceQuotaSyncPeriodMs?: number;
  concurrentDeploymentSyncs: number;
  /** --concurrent-daemonset-syncs, --concurrent-statefulset-syncs. */
  concurrentDaemonSetSyncs?: number;
  concurrentStatefulSetSyncs?: number;
  concurrentEndpointSyncs: number;
  /** --concurrent-service-endpoint-syncs: the EndpointSlice controller's workers. */
  concurrentServiceEndpointSyncs: number;
  maxEndpointsPerSlice: number;
  mirroringConcurrentServiceEndpointSyncs: number;
  mirroringMaxEndpointsPerSubset: number;
  concurrentGcSyncs: number;
  /** --horizontal-pod-autoscaler-sync-period, -tolerance, -downscale-stabilization, -cpu-initialization-period, -initial-readiness-delay (kube's defaults when unset). */
  hpa?: { syncPeriodMs?: number; tolerance?: number; downscaleStabilizationMs?: number; cpuInitializationPeriodMs?: number; initialReadinessDelayMs?: number };
  /** --concurrent-horizontal-pod-autoscaler-syncs (5). */
  concurrentHorizontalPodAutoscalerSyncs?: number;
  nodeMonitorGracePeriodMs: number;
  nodeMonitorPeriodMs: number;
  /** The CA bundle the root-ca-certificate-publisher-controller puts in every namespace (--root-ca-file); without it that controller does not run. */
  rootCA?: string;
  /** --allocate-node-cidrs: without it the node-ipam-controller does nothing, as kube's. */
  allocateNodeCIDRs?: boolean;
  clusterCIDR?: string;
  nodeCIDRMaskSize?: number;
  /** --service-cluster-ip-range: kept out of the node CIDRs. */
  serviceClusterIPRange?: string;
  /** --cluster-signing-cert-file/--cluster-signing-key-file, read: without them csrsigning does not run. */
  clusterSigning?: KeyPair;
  /** --cluster-signing-duration. */
  clusterSigningDurationMs?: number;
  /** --concurrent-job-syncs, --concurrent-cron-job-syncs, --concurrent-ttl-after-finished-syncs. */
  concurrentJobSyncs?: number;
  concurrentCronJobSyncs?: number;
  concurrentTTLSyncs?: number;
  /** --pvclaimbinder-sync-period. */
  pvclaimbinderSyncPeriodMs?: number;
  /** The image of the local-path provisioner's helper pod (removes a released volume's directory). */
  localPathHelperImage?: string;
  /** --terminated-pod-gc-threshold (12500; 0 disables that part of the pod GC). */
  terminatedPodGCThreshold?: number;
  /** The pod GC's node quarantine; tests only, as kube's NewPodGCInternal (kube's 40 s when unset). */
  podGCQuarantineMs?: number;
}

/** Controller names as kube-controller-manager 1.32 spells them for --controllers. */
const known = ['replicaset-controller', 'deployment-controller', 'endpoints-controller', 'endpointslice-controller', 'endpointslice-mirroring-controller', 'garbage-collector-controller', 'node-lifecycle-controller', 'node-ipam-controller', 'taint-eviction-controller', 'clusterrole-aggregation-controller', 'serviceaccount-controller', 'root-ca-certificate-publisher-controller',
  'certificatesigningrequest-signing-controller', 'certificatesigningrequest-approving-controller', 'bootstrap-signer-controller', 'token-cleaner-controller',
  'daemonset-controller', 'statefulset-controller', 'job-controller', 'cronjob-controller', 'ttl-after-finished-controller',
  'persistentvolume-binder-controller', 'persistentvolume-protection-controller', 'persistentvolumeclaim-protection-controller', 'local-path-provisioner-controller',
  'replicationcontroller-controller', 'resourcequota-controller',
  'horizontal-pod-autoscaler-controller', 'disruption-controller', 'pod-garbage-collector-controller'] as const;
type Name = (typeof known)[number];
/** Older names kube-controller-manager still accepts (its ControllerDescriptor aliases). */
const aliases: Record<string, Name> = {
  horizontalpodautoscaling: 'horizontal-pod-autoscaler-controller', disruption: 'disruption-controller',
  serviceaccount: 'serviceaccount-controller', 'root-ca-cert-publisher': 'root-ca-certificate-publisher-controller',
  csrsigning: 'certificatesigningrequest-signing-controller', csrapproving: 'certificatesigningrequest-approving-controller',
  bootstrapsigner: 'bootstrap-signer-controller', tokencleaner: 'token-cleaner-controller',
  daemonset: 'daemonset-controller', statefulset: 'statefulset-controller', job: 'job-controller', cronjob: 'cronjob-controller', 'ttl-after-finished': 'ttl-after-finished-controller',
  'persistentvolume-binder': 'persistentvolume-binder-controller', 'pv-protection': 'persistentvolume-protection-controller', 'pvc-protection': 'persistentvolumeclaim-protection-controller',
  replicationcontroller: 'replicationcontroller-controller', resourcequota: 'resourcequota-controller',
  podgc: 'pod-garbage-collector-controller',
};
/** kube's ControllersDisabledByDefault: "*" leaves them out; kubeadm names them (--controllers=*,bootstrapsigner,tokencleaner). */
const disabledByDefault = new Set<Name>(['bootstrap-signer-controller', 'token-cleaner-controller']);

export function enabledControllers(spec: string[]): Set<Name> {
  const on = new Set<Name>();
  const items = spec.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)
    .map((s) => { const name = s.replace(/^-/, ''); return aliases[name] ? s.replace(name, aliases[name]) : s; });
  for (const item of items) {
    const name = item.replace(/^-/, '');
    if (name !== '*' && !(known as readonly string[]).includes(name)) throw new Error(`"${name}" is not in the list of known controllers`);
  }
  if (items.includes('*')) for (const n of known) if (!disabledByDefault.has(n)) on.add(n);
  for (const item of items) {
    if (item === '*') continue;
    if (item.startsWith('-')) on.delete(item.slice(1) as Name);
    else on.add(item as Name);
  }
  return on;
}

export class ControllerManager {
  private readonly runs: { controller: Controller; workers: number }[] = [];

  constructor(private readonly o: ManagerOptions) {
    const enabled = enabledControllers(o.controllers);
    const base = { client: o.client, informers: o.informers };
    const add = (name: Name, make: () => Controller, workers: number) => {
      if (enabled.has(name)) this.runs.push({ controller: make(), workers });
    };
    add('replicaset-controller', () => new ReplicaSetController({ ...base, recorder: o.recorderFor('replicaset-controller') }), o.concurrentReplicaSetSyncs);
    add('horizontal-pod-autoscaler-controller', () => new HorizontalController({ ...base, ...o.hpa, recorder: o.recorderFor('horizontal-pod-autoscaler'),
      metrics: new RestMetricsClient(o.client), scales: new RestScaleClient(o.client) }), o.concurrentHorizontalPodAutoscalerSyncs ?? 5);
    add('disruption-controller', () => new DisruptionController({ ...base, recorder: o.recorderFor('controllermanager') }), 1);
    add('replicationcontroller-controller', () => new ReplicationManager({ ...base, recorder: o.recorderFor('replication-controller') }), o.concurrentRCSyncs ?? 5);
    add('resourcequota-controller', () => new ResourceQuotaController({ ...base, resyncPeriodMs: o.resourceQuotaSyncPeriodMs }), o.concurrentResourceQuotaSyncs ?? 5);
    add('deployment-controller', () => new DeploymentController({ ...base, recorder: o.recorderFor('deployment-controller') }), o.concurrentDeploymentSyncs);
    add('daemonset-controller', () => new DaemonSetController({ ...base, recorder: o.recorderFor('daemonset-controller') }), o.concurrentDaemonSetSyncs ?? 2);
    add('statefulset-controller', () => new StatefulSetController({ ...base, recorder: o.recorderFor('statefulset-controller') }), o.concurrentStatefulSetSyncs ?? 5);
    add('job-controller', () => new JobController({ ...base, recorder: o.recorderFor('job-controller') }), o.concurrentJobSyncs ?? 5);
    add('cronjob-controller', () => new CronJobController({ ...base, recorder: o.recorderFor('cronjob-controller') }), o.concurrentCronJobSyncs ?? 5);
    add('ttl-after-finished-controller', () => new TTLAfterFinishedController(base), o.concurrentTTLSyncs ?? 5);
    add('pod-garbage-collector-controller', () => new PodGCController({ ...base, terminatedPodGCThreshold: o.terminatedPodGCThreshold, quarantineMs: o.podGCQuarantineMs }), 1);
    add('endpoints-controller', () => new EndpointsController(base), o.concurrentEndpointSyncs);
    add('endpointslice-controller', () => new EndpointSliceController({ ...base, maxEndpointsPerSlice: o.maxEndpointsPerSlice }), o.concurrentServiceEndpointSyncs);
    add('endpointslice-mirroring-controller', () => new EndpointSliceMirroringController({ ...base, recorder: o.recorderFor('endpoint-slice-mirroring-controller'), maxEndpointsPerSubset: o.mirroringMaxEndpointsPerSubset }), o.mirroringConcurrentServiceEndpointSyncs);
    add('garbage-collector-controller', () => new GarbageCollector(base), o.concurrentGcSyncs);
    add('node-lifecycle-controller', () => new NodeLifecycleController({ ...base, nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodMs, nodeMonitorPeriodMs: o.nodeMonitorPeriodMs, recorder: o.recorderFor('node-controller') }), 1);
    if (o.allocateNodeCIDRs) add('node-ipam-controller', () => new NodeIpamController({ ...base, clusterCIDR: o.clusterCIDR ?? '10.244.0.0/16', nodeCIDRMaskSize: o.nodeCIDRMaskSize ?? 24, serviceCIDR: o.serviceClusterIPRange, recorder: o.recorderFor('cidrAllocator') }), 1);
    add('taint-eviction-controller', () => new TaintEvictionController({ ...base, recorder: o.recorderFor('taint-eviction-controller') }), 4);
    add('serviceaccount-controller', () => new ServiceAccountsController(base), 1);
    if (o.rootCA) add('root-ca-certificate-publisher-controller', () => new RootCACertPublisher({ ...base, rootCA: o.rootCA! }), 1);
    else if (enabled.has('root-ca-certificate-publisher-controller')) log.warn('root-ca-certificate-publisher-controller not started: no root CA (--root-ca-file, or a CA in the kubeconfig)');
    if (o.clusterSigning) add('certificatesigningrequest-signing-controller', () => new CSRSigningController({ ...base, ca: o.clusterSigning!, durationSeconds: o.clusterSigningDurationMs ? o.clusterSigningDurationMs / 1000 : undefined }), 5);
    else if (enabled.has('certificatesigningrequest-signing-controller')) log.info('certificatesigningrequest-signing-controller not started: no --cluster-signing-cert-file/--cluster-signing-key-file');
    add('certificatesigningrequest-approving-controller', () => new CSRApprovingController(base), 5);
    add('bootstrap-signer-controller', () => new BootstrapSigner(base), 1);
    add('token-cleaner-controller', () => new TokenCleaner(base), 1);
    add('clusterrole-aggregation-controller', () => new ClusterRoleAggregationController(base), 5);
    add('persistentvolume-binder-controller', () => new PersistentVolumeBinder({ ...base, recorder: o.recorderFor('persistentvolume-controller'), syncPeriodMs: o.pvclaimbinderSyncPeriodMs }), 1);
    add('persistentvolume-protection-controller', () => new PVProtectionController(base), 1);
    add('persistentvolumeclaim-protection-controller', () => new PVCProtectionController(base), 1);
    add('local-path-provisioner-controller', () => new LocalPathProvisioner({ ...base, recorder: o.recorderFor('rancher.io/local-path_skiff'), helperImage: o.localPathHelperImage }), 1);
  }

  /** Runs until the signal aborts, then stops every controller and resolves. */
  async run(signal: AbortSignal): Promise<void> {
    this.o.informers.start();
    log.info('waiting for caches to sync');
    await this.o.informers.waitForCacheSync(signal);
    if (signal.aborted) return;
    log.info('caches synced, starting controllers', { controllers: this.runs.map((r) => r.controller.name) });
    const done = Promise.all(this.runs.map((r) => r.controller.run(r.workers)));
    signal.addEventListener('abort', () => this.runs.forEach((r) => r.controller.shutDown()), { once: true });
    await done;
  }
}
