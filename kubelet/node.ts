// The kubelet's Node: registration (capacity and allocatable, addresses,
// nodeInfo, the kubelet endpoint), the Lease in kube-node-lease renewed every
// 10 s as the heartbeat, and node status with the conditions the kubelet
// posts (MemoryPressure, DiskPressure, PIDPressure, Ready), written when they
// change and otherwise every nodeStatusReportFrequency.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlreadyExists, isConflict, isNotFound } from '../api/errors.js';
import { R } from '../api/resources.js';
import { localPathRootAnnotation } from '../api/kinds/core/persistentvolumeutil.js';
import type { KubeObject, Lease, Node, NodeCondition, NodeStatus } from '../api/types.js';
import type { EventRecorder } from '../client/events.js';
import type { Client } from '../client/interfaces.js';
import { logger } from '../lib/log.js';
import type { NetworkStatus, Runtime } from './runtime/interface.js';
import { nowRFC3339 } from './status.js';

const log = logger('node-status');

export const KUBELET_VERSION = 'v1.32.0';
export const LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeAgentOptions {
  client: Client;
  runtime: Runtime;
  nodeName: string;
  nodeIP: string;
  port: number;
  rootDir: string;
  maxPods: number;
  /** Capacity overrides (quantities), as several simulated nodes share one host. */
  cpu?: string;
  memory?: string;
  leaseDurationSeconds?: number;
  renewIntervalMs?: number;
  statusUpdateMs?: number;
  statusReportMs?: number;
  recorder?: EventRecorder;
}

/** The event reason the kubelet records when a condition turns to a status (nodestatus setters). */
const conditionEvents: Record<string, Record<string, string>> = {
  MemoryPressure: { True: 'NodeHasInsufficientMemory', False: 'NodeHasSufficientMemory' },
  DiskPressure: { True: 'NodeHasDiskPressure', False: 'NodeHasNoDiskPressure' },
  PIDPressure: { True: 'NodeHasInsufficientPID', False: 'NodeHasSufficientPID' },
  Ready: { True: 'NodeReady', False: 'NodeNotReady' },
};

function readFile(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFile('/etc/os-release'));
  return m?.[1] ?? 'Linux';
}

export class NodeAgent {
  private timers: NodeJS.Timeout[] = [];
  private lastReport = 0;
  private lastConditions = '';
  /** The lease as this kubelet last wrote it: renewals update it without reading it first. */
  private lease?: Lease;
  private runtimeVersion = '';
  private runtimeUp = true;
  /** Until the first status update has checked the runtime, Ready is False, as the kubelet starts out. */
  private runtimeChecked = false;
  /** The runtime's NetworkReady as of the last status update. */
  private network: NetworkStatus = { ready: true };

  constructor(private readonly o: NodeAgentOptions) {}

  capacity(): Record<string, string> {
    let storage: string | undefined;
    try {
      const s = fs.statfsSync(this.o.rootDir);
      storage = `${Math.floor((s.blocks * s.bsize) / 1024)}Ki`;
    } catch { /* no root dir yet */ }
    const cap: Record<string, string> = {
      cpu: this.o.cpu || String(os.cpus().length),
      memory: this.o.memory || `${Math.floor(os.totalmem() / 1024)}Ki`,
      pods: String(this.o.maxPods),
    };
    if (storage) cap['ephemeral-storage'] = storage;
    return cap;
  }

  private conditions(old: NodeCondition[] | undefined, now: string): NodeCondition[] {
    const cond = (type: string, status: 'True' | 'False', reason: string, message: string): NodeCondition => {
      const prev = old?.find((c) => c.type === type);
      return { type, status, lastHeartbeatTime: now, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now, reason, message };
    };
    return [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      !this.runtimeChecked
        ? cond('Ready', 'False', 'KubeletNotReady', 'container runtime status check may not have completed yet')
        : !this.runtimeUp
          ? cond('Ready', 'False', 'KubeletNotReady', 'container runtime is down')
          : !this.network.ready
            ? cond('Ready', 'False', 'KubeletNotReady', `container runtime network not ready: NetworkReady=false reason:${this.network.reason} message:${this.network.message}`)
            : cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ];
  }

  status(old: NodeStatus | undefined): NodeStatus {
    const cap = this.capacity();
    return {
      capacity: cap,
      allocatable: { ...cap },
      conditions: this.conditions(old?.conditions, nowRFC3339()),
      addresses: [{ type: 'InternalIP', address: this.o.nodeIP }, { type: 'Hostname', address: this.o.nodeName }],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.port } },
      nodeInfo: {
        machineID: readFile('/etc/machine-id'),
        systemUUID: readFile('/sys/class/dmi/id/product_uuid') || readFile('/etc/machine-id'),
        bootID: readFile('/proc/sys/kernel/random/boot_id'),
        kernelVersion: os.release(),
        osImage: osImage(),
        containerRuntimeVersion: `docker://${this.runtimeVersion}`,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      },
    };
  }

  private labels(): Record<string, string> {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    return {
      'kubernetes.io/hostname': this.o.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': arch,
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': arch,
    };
  }

  /** Where this node's local-path volumes live: under --root-dir, so they go with the node's other state. */
  private annotations(): Record<string, string> {
    return { [localPathRootAnnotation]: path.resolve(this.o.rootDir, 'local-path') };
  }

  /**
   * The kubelet's nodeRef: no apiVersion, and the node's name as its uid
   * (the kubelet refers to its Node before it has read the real uid).
   */
  private nodeRef(): KubeObject {
    return { kind: 'Node', metadata: { name: this.o.nodeName, uid: this.o.nodeName } } as KubeObject;
  }

  /**
   * recordNodeStatusEvent as the kubelet's setters call it: a pressure
   * condition when it is new or changed, Ready only when an existing one changed.
   */
  private recordTransitions(old: NodeCondition[] | undefined, next: NodeCondition[] | undefined): void {
    for (const c of next ?? []) {
      const prev = old?.find((o) => o.type === c.type);
      if (prev?.status === c.status || (c.type === 'Ready' && !prev)) continue;
      const reason = conditionEvents[c.type]?.[c.status];
      if (reason) this.o.recorder?.event(this.nodeRef(), 'Normal', reason, 'Node %s status is now: %s', this.o.nodeName, reason);
    }
  }

  /** Create the Node, or bring an existing one up to date; retried until it works. */
  async register(): Promise<Node> {
    this.o.recorder?.event(this.nodeRef(), 'Normal', 'Starting', 'Starting kubelet.');
    this.runtimeVersion = (await this.o.runtime.version()).version;
    const nodes = this.o.client.resource<Node>(R.nodes);
    for (let attempt = 0; ; attempt++) {
      try {
        const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: this.o.nodeName, labels: this.labels(), annotations: this.annotations() }, spec: {}, status: this.status(undefined) };
        let created: Node;
        try {
          created = await nodes.create(node);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          const cur = await nodes.get(this.o.nodeName);
          await nodes.patch(this.o.nodeName, 'merge', { metadata: { labels: this.labels(), annotations: this.annotations() } });
          created = await nodes.patch(this.o.nodeName, 'merge', { status: this.status(cur.status) }, { subresource: 'status' });
        }
        // Some servers drop status on create: make sure it is there.
        if (!created.status?.conditions?.length) created = await nodes.patch(this.o.nodeName, 'merge', { status: this.status(undefined) }, { subresource: 'status' });
        this.lastReport = Date.now();
        // The kubelet builds its initial Node afresh on every start, so its
        // setters see no conditions and record each one, even on re-registration.
        this.recordTransitions(undefined, created.status?.conditions);
        log.info('registered node', { node: this.o.nodeName });
        return created;
      } catch (e) {
        log.warn('unable to register node, retrying', { error: (e as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(7000, 200 * 2 ** attempt)));
      }
    }
  }

  start(): void {
    const tick = (fn: () => Promise<void>, ms: number) => {
      const t = setInterval(() => void fn().catch((e) => log.warn('node update failed', { error: (e as Error).message })), ms);
      t.unref?.();
      this.timers.push(t);
    };
    void this.renewLease().catch(() => {});
    // fastStatusUpdateOnce: report Ready as soon as the runtime checks out, not a period later.
    void this.updateStatus().catch((e) => log.warn('node update failed', { error: (e as Error).message }));
    // Until the pod network is ready (a pod CIDR assigned), look again every second rather than every status period.
    const fast = setInterval(() => {
      if (this.o.runtime.networkStatus().ready) clearInterval(fast);
      else void this.updateStatus().catch((e) => log.warn('node update failed', { error: (e as Error).message }));
    }, 1000);
    fast.unref?.();
    this.timers.push(fast);
    tick(() => this.renewLease(), this.o.renewIntervalMs ?? 10_000);
    tick(() => this.updateStatus(), this.o.statusUpdateMs ?? 10_000);
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  async updateStatus(): Promise<void> {
    try {
      this.runtimeVersion = (await this.o.runtime.version()).version;
      this.runtimeUp = true;
    } catch {
      this.runtimeUp = false;
    }
    this.runtimeChecked = true;
    const nodes = this.o.client.resource<Node>(R.nodes);
    const cur = await nodes.get(this.o.nodeName).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!cur) {
      await this.register();
      return;
    }
    // kubelet's updatePodCIDR: the runtime's pod network follows the Node's spec.podCIDRs.
    const podCIDRs = cur.spec?.podCIDRs?.length ? cur.spec.podCIDRs : cur.spec?.podCIDR ? [cur.spec.podCIDR] : [];
    if (podCIDRs.length) {
      await this.o.runtime.updatePodCIDR(podCIDRs.join(',')).catch((e) => log.warn('failed to update pod CIDR', { podCIDRs, error: (e as Error).message }));
    }
    this.network = this.o.runtime.networkStatus();
    const next = this.status(cur.status);
    const key = JSON.stringify(next.conditions?.map((c) => [c.type, c.status])) + JSON.stringify(next.capacity);
    // As the kubelet with leases: post when something changed, else every nodeStatusReportFrequency.
    if (key === this.lastConditions && Date.now() - this.lastReport < (this.o.statusReportMs ?? 60_000)) return;
    await nodes.patch(this.o.nodeName, 'merge', { status: next }, { subresource: 'status' });
    this.recordTransitions(cur.status?.conditions, next.conditions);
    this.lastConditions = key;
    this.lastReport = Date.now();
  }

  async renewLease(): Promise<void> {
    const leases = this.o.client.resource<Lease>(R.leases, LEASE_NAMESPACE);
    const now = new Date().toISOString().replace('Z', '000Z').replace(/(\.\d{6})\d*Z$/, '$1Z');
    const spec = { holderIdentity: this.o.nodeName, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 40, renewTime: now };
    // As kube's lease controller: nobody else writes a node's lease, so update the one this kubelet last
    // wrote without reading it first (a GET per renewal per node saved), and read it only when that fails.
    if (this.lease) {
      try {
        this.lease = await leases.update({ ...this.lease, spec: { ...this.lease.spec, ...spec } });
        return;
      } catch (e) {
        this.lease = undefined;
        log.info('failed to update lease using latest lease, fallback to ensure lease', { error: (e as Error).message });
      }
    }
    try {
      const cur = await leases.get(this.o.nodeName);
      this.lease = await leases.update({ ...cur, spec: { ...cur.spec, ...spec } });
    } catch (e) {
      if (isConflict(e)) return; // renewed by the next tick
      if (!isNotFound(e)) throw e;
      const node = await this.o.client.resource<Node>(R.nodes).get(this.o.nodeName).catch(() => undefined);
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: {
          name: this.o.nodeName, namespace: LEASE_NAMESPACE,
          ownerReferences: node ? [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid: node.metadata.uid! }] : undefined,
        },
        spec,
      };
      this.lease = await leases.create(lease).catch((err) => {
        if (!isAlreadyExists(err)) throw err;
        return undefined;
      });
    }
  }
}
