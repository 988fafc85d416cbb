// The pod status the kubelet reports (pkg/kubelet/kubelet_pods.go
// generateAPIPodStatus and getPhase), computed from what runs in the runtime,
// what the sync could not do (waiting reasons) and the probes; and the status
// manager that writes it through the status subresource only when it changed.

import { isNotFound } from '../api/errors.js';
import { R } from '../api/resources.js';
import type { ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from '../api/types.js';
import type { Client } from '../client/interfaces.js';
import { logger } from '../lib/log.js';
import { L, type RuntimeContainer } from './runtime/interface.js';

const log = logger('status-manager');

export interface Waiting { reason: string; message?: string }

export interface ContainerView {
  name: string;
  image: string;
  /** The newest instance, and the one before it (for lastState). */
  current?: RuntimeContainer;
  previous?: RuntimeContainer;
  /** Why the sync left the container waiting (image pull, back-off, config errors). */
  waiting?: Waiting;
  ready: boolean;
  started: boolean;
}

export interface StatusInput {
  views: ContainerView[];
  /** The pod's init containers, in spec order. */
  initViews?: ContainerView[];
  podIP?: string;
  hostIP: string;
  sandboxReady: boolean;
  startTime: string;
  /** The pod is being shut down (deletion) or has finished. */
  terminating?: boolean;
  now?: string;
}

export function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function restartCountOf(c: RuntimeContainer | undefined): number {
  return Number(c?.labels[L.restartCount] ?? 0) || 0;
}

function terminated(c: RuntimeContainer): ContainerState['terminated'] {
  const exitCode = c.exitCode ?? 0;
  // As the CRI runtimes report it: OOMKilled first, then Completed for 0, Error otherwise.
  const reason = c.oomKilled ? 'OOMKilled' : c.error && !c.startedAt ? 'ContainerCannotRun' : exitCode === 0 ? 'Completed' : 'Error';
  const t: NonNullable<ContainerState['terminated']> = { exitCode, reason, startedAt: c.startedAt ?? c.createdAt, finishedAt: c.finishedAt ?? c.startedAt ?? c.createdAt, containerID: `docker://${c.id}` };
  if (c.error) t.message = c.error;
  return t;
}

/** A container with nothing in the runtime yet waits as ContainerCreating, or PodInitializing in a pod with init containers. */
export function containerStatus(v: ContainerView, defaultWaiting = 'ContainerCreating', init = false): ContainerStatus {
  const cur = v.current;
  const s: ContainerStatus = {
    name: v.name,
    state: {},
    lastState: {},
    ready: false,
    restartCount: restartCountOf(cur),
    image: v.image,
    imageID: '',
    started: false,
  };
  if (cur) {
    s.imageID = cur.imageID ? `docker://${cur.imageID}` : '';
    s.containerID = `docker://${cur.id}`;
  }
  if (cur?.state === 'running') {
    s.state = { running: { startedAt: cur.startedAt ?? cur.createdAt } };
    s.ready = v.ready;
    s.started = v.started;
    if (v.previous?.state === 'exited') s.lastState = { terminated: terminated(v.previous) };
  } else if (cur?.state === 'exited') {
    if (v.waiting) {
      s.state = { waiting: { reason: v.waiting.reason, ...(v.waiting.message ? { message: v.waiting.message } : {}) } };
      s.lastState = { terminated: terminated(cur) };
    } else {
      s.state = { terminated: terminated(cur) };
      if (v.previous?.state === 'exited') s.lastState = { terminated: terminated(v.previous) };
    }
  } else {
    const w = v.waiting ?? { reason: defaultWaiting };
    s.state = { waiting: { reason: w.reason, ...(w.message ? { message: w.message } : {}) } };
    if (!cur) {
      delete s.containerID;
      s.restartCount = 0;
    }
  }
  if (init) {
    // An init container is ready once it has completed.
    s.ready = s.state.terminated?.exitCode === 0;
    s.started = !!s.state.running;
  }
  return s;
}

/** The init-container half of getPhase: still initializing, failed for good, or done. */
function initPhase(pod: Pod, init: ContainerStatus[]): 'pending' | 'failed' | 'done' {
  let pending = 0;
  let failed = 0;
  for (const c of pod.spec.initContainers ?? []) {
    const s = init.find((x) => x.name === c.name);
    if (!s || s.state?.running) pending++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failed++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failed++;
      } else pending++;
    } else pending++;
  }
  if (failed > 0 && pod.spec.restartPolicy === 'Never') return 'failed';
  return pending > 0 ? 'pending' : 'done';
}

/** getPhase from pkg/kubelet/kubelet_pods.go (regular init containers; no sidecars). */
export function podPhase(pod: Pod, statuses: ContainerStatus[], terminating = false, init: ContainerStatus[] = []): NonNullable<PodStatus['phase']> {
  const ip = initPhase(pod, init);
  if (ip === 'failed') return 'Failed';
  if (ip === 'pending') return 'Pending';
  let running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  const policy = pod.spec.restartPolicy ?? 'Always';
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    // A pod being shut down for good ends in a terminal phase whatever its restart policy (kubelet 1.27+).
    if (policy === 'Always' && !terminating) return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never' || terminating) return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(old: PodCondition[] | undefined, type: string, status: 'True' | 'False', now: string, reason?: string, message?: string): PodCondition {
  const prev = old?.find((c) => c.type === type);
  const c: PodCondition = { type, status, lastProbeTime: null, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/** GeneratePodInitializedCondition: true once every init container completed, or any app container has started. */
function initializedCondition(pod: Pod, old: PodCondition[] | undefined, statuses: ContainerStatus[], init: ContainerStatus[], phase: string, now: string): PodCondition {
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of pod.spec.initContainers ?? []) {
    const s = init.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (s.state?.terminated?.exitCode !== 0) incomplete.push(c.name);
  }
  if (phase === 'Succeeded' && !unknown.length) return condition(old, 'Initialized', 'True', now, 'PodCompleted');
  const anyStarted = statuses.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
  if (anyStarted) return condition(old, 'Initialized', 'True', now);
  const msgs: string[] = [];
  if (unknown.length) msgs.push(`containers with unknown status: [${unknown.join(' ')}]`);
  if (incomplete.length) msgs.push(`containers with incomplete status: [${incomplete.join(' ')}]`);
  if (msgs.length) return condition(old, 'Initialized', 'False', now, 'ContainersNotInitialized', msgs.join(', '));
  return condition(old, 'Initialized', 'True', now);
}

export function computePodStatus(pod: Pod, input: StatusInput): PodStatus {
  const now = input.now ?? nowRFC3339();
  const old = pod.status ?? {};
  const hasInit = !!pod.spec.initContainers?.length;
  const statuses = input.views.map((v) => containerStatus(v, hasInit ? 'PodInitializing' : 'ContainerCreating'));
  const initStatuses = (input.initViews ?? []).map((v) => containerStatus(v, 'PodInitializing', true));
  const oldPhase = old.phase;
  // Terminal phases never change back.
  const phase = oldPhase === 'Succeeded' || oldPhase === 'Failed' ? oldPhase : podPhase(pod, statuses, input.terminating, initStatuses);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  if (terminal) for (const s of statuses) s.ready = false;
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const oldConds = old.conditions;
  const containersReady = unready.length === 0;
  const notReadyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';
  const notReadyMsg = terminal ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  const conditions: PodCondition[] = [
    condition(oldConds, 'PodReadyToStartContainers', input.sandboxReady && !terminal ? 'True' : 'False', now),
    initializedCondition(pod, oldConds, statuses, initStatuses, phase, now),
    containersReady ? condition(oldConds, 'Ready', 'True', now) : condition(oldConds, 'Ready', 'False', now, notReadyReason, notReadyMsg),
    containersReady ? condition(oldConds, 'ContainersReady', 'True', now) : condition(oldConds, 'ContainersReady', 'False', now, notReadyReason, notReadyMsg),
  ];
  const scheduled = oldConds?.find((c) => c.type === 'PodScheduled');
  conditions.push(scheduled ?? condition(undefined, 'PodScheduled', 'True', now));
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: old.startTime ?? input.startTime,
    containerStatuses: statuses,
  };
  if (hasInit) status.initContainerStatuses = initStatuses;
  const podIP = input.podIP ?? (terminal ? old.podIP : undefined);
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  }
  if (old.qosClass) status.qosClass = old.qosClass;
  return status;
}

/** Writes pod status when it differs from what this kubelet last wrote (or what the API shows). */
export class StatusManager {
  private written = new Map<string, string>();
  /** The write in flight per pod: a status set without waiting (before a start) lands before the next one. */
  private inflight = new Map<string, Promise<unknown>>();

  constructor(private readonly client: Client) {}

  /** True when a write happened. Writes of one pod happen in the order they were asked for. */
  set(pod: Pod, status: PodStatus): Promise<boolean> {
    const uid = pod.metadata.uid!;
    const prev = this.inflight.get(uid);
    const p = prev ? prev.then(() => this.write(pod, status), () => this.write(pod, status)) : this.write(pod, status);
    this.inflight.set(uid, p);
    const done = () => { if (this.inflight.get(uid) === p) this.inflight.delete(uid); };
    p.then(done, done);
    return p;
  }

  private async write(pod: Pod, status: PodStatus): Promise<boolean> {
    const uid = pod.metadata.uid!;
    const json = JSON.stringify(status);
    if (this.written.get(uid) === json) return false;
    if (!this.written.has(uid) && JSON.stringify(pod.status ?? {}) === json) {
      this.written.set(uid, json);
      return false;
    }
    try {
      await this.client.resource<Pod>(R.pods, pod.metadata.namespace).patch(pod.metadata.name!, 'merge', { metadata: { uid }, status }, { subresource: 'status' });
      this.written.set(uid, json);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      log.warn('failed to update pod status', { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, error: (e as Error).message });
      throw e;
    }
  }

  /** The last status written, as JSON. */
  last(uid: string): PodStatus | undefined {
    const j = this.written.get(uid);
    return j ? (JSON.parse(j) as PodStatus) : undefined;
  }

  forget(uid: string): void {
    this.written.delete(uid);
  }
}
