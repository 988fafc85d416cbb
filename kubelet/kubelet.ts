// The kubelet's pod lifecycle: it watches the pods bound to its node and, one
// worker per pod, drives each toward its spec through the Runtime — a sandbox
// holding the pod's network namespace, then the app containers joined to it —
// restarting containers by restartPolicy with CrashLoopBackOff back-off,
// acting on probe results, reporting status, and shutting pods down
// gracefully (preStop, SIGTERM, SIGKILL after the grace period) before
// deleting their API objects. Everything is found again from the runtime's
// labels, so a restarted kubelet adopts what runs.

import fs from 'node:fs';
import http from 'node:http';
import { isConflict, isNotFound } from '../api/errors.js';
import { R } from '../api/resources.js';
import type { ConfigMap, Container, HTTPGetAction, KubeObject, LifecycleHandler, Pod, Secret, Service } from '../api/types.js';
import type { EventRecorder } from '../client/events.js';
import { SharedInformerFactory } from '../client/informer.js';
import type { Client, Informer } from '../client/interfaces.js';
import { logger } from '../lib/log.js';
import { gauge, histogram } from '../lib/metrics.js';
import { Backoff } from './backoff.js';
import { ImageManager } from './images.js';
import { buildContainerConfig, ConfigError, containerHash, needsPodIP, podDir, podLabels, portMappings, sandboxName, serviceEnv } from './podconfig.js';
import { PodWorkers } from './podworkers.js';
import { ProbeManager, resolvePort, type ProbeTarget } from './probes.js';
import { L, SANDBOX_NAME, type ContainerConfig, type Runtime, type RuntimeContainer, type StartedSandbox } from './runtime/interface.js';
import { computePodStatus, containerStatus, restartCountOf, StatusManager, type ContainerView, type Waiting } from './status.js';
import { TokenManager } from './tokens.js';
import type { DnsConfigurer } from './dns.js';
import { prepareVolumes, type ObjectSource } from './volumes.js';

const log = logger('kubelet');

const runningPods = gauge({ name: 'kubelet_running_pods', help: 'Number of pods that have a running pod sandbox' });
const runningContainers = gauge({ name: 'kubelet_running_containers', help: 'Number of containers currently running', labelNames: ['container_state'] as const });
const podStartDuration = histogram({
  name: 'kubelet_pod_start_duration_seconds',
  help: 'Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run',
  buckets: [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120],
});

/** A postStart hook that has not finished by then counts as failed. */
const POST_START_TIMEOUT_MS = 120_000;

/** Kubernetes' minimumGracePeriodInSeconds for killing a container. */
const MIN_GRACE_SECONDS = 2;

export interface KubeletOptions {
  client: Client;
  runtime: Runtime;
  nodeName: string;
  nodeIP: string;
  rootDir: string;
  podInfraImage?: string;
  recorder?: EventRecorder;
  /** Level-based safety net: every pod is synced at least this often. */
  syncFrequencyMs?: number;
  /** How often the runtime is relisted to notice container state changes events may have missed. */
  relistMs?: number;
  /** The ServiceAccount token manager projected token volumes read (one over the client unless given). */
  tokens?: TokenManager;
  /** Each pod's /etc/resolv.conf (--cluster-dns, --cluster-domain, --resolv-conf); none: the runtime's own. */
  dns?: DnsConfigurer;
}

const byNewest = (a: RuntimeContainer, b: RuntimeContainer) => restartCountOf(b) - restartCountOf(a) || Date.parse(b.createdAt) - Date.parse(a.createdAt);
const isSandbox = (c: RuntimeContainer) => c.labels[L.type] === 'podsandbox' || c.labels[L.containerName] === SANDBOX_NAME;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** podsDifferSemantically of pkg/kubelet/config: what a pod sync acts on, as opposed to its status. */
function differSemantically(a: Pod, b: Pod): boolean {
  const m = (p: Pod) => JSON.stringify([p.spec, p.metadata.labels, p.metadata.annotations, p.metadata.deletionTimestamp, p.metadata.deletionGracePeriodSeconds]);
  return m(a) !== m(b);
}

/**
 * The pod's sandbox: its ID as soon as it exists, when it has started (what
 * its containers' starts wait for), and the sandbox as inspected once it
 * runs (its IP); for a new one, the app containers' image lookups made while
 * it was being created.
 */
interface SandboxRef { id: string; started: Promise<void>; running: Promise<StartedSandbox>; images?: Map<string, Promise<string | undefined | null>> }

/** A sandbox that already runs, as a SandboxRef. */
const runningRef = (s: RuntimeContainer): SandboxRef => ({ id: s.id, started: Promise.resolve(), running: Promise.resolve(s) });

export class Kubelet {
  readonly workers: PodWorkers;
  readonly probes: ProbeManager;
  readonly status: StatusManager;
  readonly images: ImageManager;
  readonly backoff = new Backoff();
  readonly tokens: TokenManager;
  private readonly desired = new Map<string, Pod>();
  /** The last state of pods whose API objects are gone, for their grace period. */
  private readonly removed = new Map<string, Pod>();
  private readonly waiting = new Map<string, Map<string, Waiting>>();
  private readonly firstSeen = new Map<string, number>();
  private readonly startObserved = new Set<string>();
  /** Pods whose graceful termination is done, waiting for their DELETED event. */
  private readonly finished = new Set<string>();
  private informers?: SharedInformerFactory;
  private podInformer?: Informer<Pod>;
  private serviceInformer?: Informer<Service>;
  private stopWatch?: () => void;
  private timers: NodeJS.Timeout[] = [];
  private lastSnapshot = new Map<string, string>();
  /** Pods with containers in the last completed relist, and pods this kubelet has begun to sync. */
  private snapshotUids?: Set<string>;
  private readonly everSynced = new Set<string>();
  private relisting = false;
  /** Container states (by ID) the last completed sync of each pod acted on, and the changes the relist saw during a sync. */
  private readonly viewed = new Map<string, Map<string, string>>();
  private readonly relistSaw = new Map<string, Map<string, string>>();
  /** Sandbox starts in flight: a sync that fails early still ends only once its sandbox start has, so the next one sees how it went. */
  private readonly sandboxStarts = new Map<string, Promise<unknown>>();
  /** Start-up phases per pod (wall-clock ms), kept only at debug level, logged once the pod first runs. */
  private readonly phases = new Map<string, [string, number][]>();

  constructor(private readonly o: KubeletOptions) {
    this.workers = new PodWorkers((uid) => this.syncPod(uid));
    this.probes = new ProbeManager(o.runtime, (uid, kind, container, result) => {
      const pod = this.desired.get(uid);
      if (pod && result === 'Failure') {
        const msg = this.probes.message(uid, container, kind);
        o.recorder?.event(pod, 'Warning', 'Unhealthy', `${kind[0].toUpperCase() + kind.slice(1)} probe failed: ${msg}`.trim());
      }
      this.workers.update(uid);
    });
    this.status = new StatusManager(o.client);
    this.images = new ImageManager(o.runtime, o.recorder);
    this.tokens = o.tokens ?? new TokenManager({ client: o.client });
  }

  get nodeLabels(): Record<string, string> {
    return { [L.node]: this.o.nodeName };
  }

  /** Start watching this node's pods and the runtime. */
  start(informers = new SharedInformerFactory(this.o.client)): void {
    this.informers = informers;
    this.podInformer = informers.informerFor<Pod>(R.pods, { fieldSelector: `spec.nodeName=${this.o.nodeName}` });
    this.podInformer.addEventHandler({
      onAdd: (p) => this.upsert(p),
      onUpdate: (old, p) => this.upsert(p, old),
      onDelete: (p) => {
        const uid = p.metadata.uid!;
        this.desired.delete(uid);
        this.removed.set(uid, p);
        // Removed before this kubelet finished terminating it (`delete --force --grace-period=0`, also
        // during a graceful stop): kube's registry stores a grace period of 0 before it removes the
        // object, and a grace period only ever shortens, so what runs is killed at once.
        if (!this.finished.has(uid) && this.workers.isBusy(uid)) void this.stopRunning(uid, MIN_GRACE_SECONDS).catch(() => {});
        this.workers.update(uid);
      },
    });
    // Service-link environment variables come from every Service the kubelet can see.
    this.serviceInformer = informers.informerFor<Service>(R.services);
    informers.start();
    // Only the ends of containers need a sync at once (a start is this kubelet's own doing, and the
    // relist notices anything else): the engine sends nothing else, so a burst of pod starts costs no events.
    this.stopWatch = this.o.runtime.watch(this.nodeLabels, (e) => {
      const uid = e.labels[L.podUid];
      // Our own stops come back as events too; collapsed by the worker, and cheap.
      if (uid) this.workers.update(uid);
    }, ['die', 'oom', 'destroy']);
    this.timers.push(setInterval(() => void this.relist(), this.o.relistMs ?? 1000));
    this.timers.push(setInterval(() => {
      for (const uid of this.desired.keys()) this.workers.update(uid);
      this.backoff.gc();
      this.images.backoff.gc();
    }, this.o.syncFrequencyMs ?? 10_000));
    for (const t of this.timers) t.unref?.();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.stopWatch?.();
    this.workers.stop();
    this.probes.stop();
    this.informers?.stop();
  }

  hasSynced(): boolean {
    return !!this.podInformer?.hasSynced();
  }

  /** Pods this kubelet runs (for the HTTP API), by namespace/name. */
  podByName(namespace: string, name: string): Pod | undefined {
    for (const p of this.desired.values()) if (p.metadata.name === name && p.metadata.namespace === namespace) return p;
    return undefined;
  }

  pods(): Pod[] {
    return [...this.desired.values()];
  }

  /** Note when a pod reached a start-up phase (debug level only: the cost is nil otherwise). */
  private mark(uid: string, phase: string): void {
    this.phases.get(uid)?.push([phase, Date.now()]);
  }

  private upsert(p: Pod, old?: Pod): void {
    const uid = p.metadata.uid!;
    if (!this.firstSeen.has(uid)) {
      this.firstSeen.set(uid, Date.now());
      if (log.isDebugEnabled()) this.phases.set(uid, []);
    }
    this.desired.set(uid, p);
    // As kube's pod config source: an update that changes only the status (most
    // often the kubelet's own write coming back) is a reconcile, not a reason
    // to sync, unless it says the pod has finished.
    if (old && !differSemantically(old, p) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') return;
    this.workers.update(uid);
  }

  /** The PLEG's relist: notice containers that changed state or belong to no pod. */
  async relist(): Promise<void> {
    if (this.relisting) return;
    this.relisting = true;
    try {
      const snap = await this.o.runtime.snapshot(this.nodeLabels);
      const seen = new Map<string, string>();
      const uids = new Set<string>();
      let pods = 0;
      const states: Record<string, number> = { running: 0, exited: 0, created: 0, unknown: 0 };
      for (const c of snap) {
        seen.set(c.id, c.state);
        const uid = c.labels[L.podUid];
        if (!uid) continue;
        uids.add(uid);
        const sandbox = c.labels[L.containerName] === SANDBOX_NAME;
        if (sandbox && c.state === 'running') pods++;
        if (!sandbox) states[c.state in states ? c.state : 'unknown']++;
        if (this.lastSnapshot.get(c.id) !== c.state) this.relistChanged(uid, c.id, c.state);
      }
      runningPods.set(pods);
      for (const [k, v] of Object.entries(states)) runningContainers.set({ container_state: k }, v);
      // Containers of pods this kubelet no longer has: clean them up once the pod list is known.
      if (this.hasSynced()) {
        for (const uid of uids) if (!this.desired.has(uid) && !this.workers.isBusy(uid)) this.workers.update(uid);
      }
      this.lastSnapshot = seen;
      this.snapshotUids = uids;
    } catch (e) {
      log.warn('relist failed', { error: (e as Error).message });
    } finally {
      this.relisting = false;
    }
  }

  /**
   * A container the relist saw change: sync its pod unless the pod's last
   * sync already acted on that state (kube's pod workers read the PLEG's
   * cache rather than the runtime, so such a sync costs it nothing; here it
   * would list the runtime again while it is busiest starting pods). During a
   * sync the decision waits for the sync's own view.
   */
  private relistChanged(uid: string, id: string, state: string): void {
    if (this.workers.isBusy(uid)) {
      let m = this.relistSaw.get(uid);
      if (!m) this.relistSaw.set(uid, (m = new Map()));
      m.set(id, state);
    } else if (this.viewed.get(uid)?.get(id) !== state) this.workers.update(uid);
  }

  /** One pass for one pod; then a change the relist saw meanwhile that the pass did not see gets another. */
  async syncPod(uid: string): Promise<void> {
    this.viewed.delete(uid);
    try {
      await this.syncPodOnce(uid);
    } finally {
      await this.sandboxStarts.get(uid)?.catch(() => {});
      this.sandboxStarts.delete(uid);
      const saw = this.relistSaw.get(uid);
      this.relistSaw.delete(uid);
      const v = this.viewed.get(uid);
      if (saw && [...saw].some(([id, state]) => v?.get(id) !== state)) this.workers.update(uid);
    }
  }

  /** What volumes and env read from the API: GETs by name (all a node may read of Secrets). */
  private readonly sources: ObjectSource = {
    configMap: (namespace, name) => this.getOrUndefined<ConfigMap>(R.configmaps, namespace, name),
    secret: (namespace, name) => this.getOrUndefined<Secret>(R.secrets, namespace, name),
    persistentVolumeClaim: (namespace, name) => this.getOrUndefined(R.persistentvolumeclaims, namespace, name),
    persistentVolume: (name) => this.getOrUndefined(R.persistentvolumes, undefined, name),
  };

  private async getOrUndefined<T extends KubeObject>(res: typeof R.configmaps, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.o.client.resource<T>(res, namespace).get(name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private setWaiting(uid: string, container: string, w: Waiting | undefined): void {
    let m = this.waiting.get(uid);
    if (!w) {
      m?.delete(container);
      return;
    }
    if (!m) this.waiting.set(uid, (m = new Map()));
    m.set(container, w);
  }

  /** One pass for one pod: make the runtime match the pod, then report status. */
  private async syncPodOnce(uid: string): Promise<void> {
    const pod = this.desired.get(uid);
    if (!pod) {
      // Before the first list, an unknown pod may simply not have been seen yet.
      if (!this.hasSynced()) return;
      return this.cleanupPod(uid);
    }
    if (pod.metadata.deletionTimestamp) {
      if (this.finished.has(uid)) return;
      return this.terminatePod(pod);
    }
    const phase = this.status.last(uid)?.phase ?? pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return this.syncTerminal(pod);

    const { runtime, nodeName } = this.o;
    this.mark(uid, 'sync');
    // Only this pod's worker makes its containers, and a relist that ran in
    // this kubelet sees any a previous one left: a pod never synced here that
    // the relist found nothing of has nothing to list (the first step of every
    // new pod, while the engine is busiest).
    const fresh = !this.everSynced.has(uid) && !!this.snapshotUids && !this.snapshotUids.has(uid);
    this.everSynced.add(uid);
    let containers = fresh ? [] : await runtime.list({ [L.podUid]: uid });
    this.mark(uid, 'listed');
    // The containers this sync makes: for a fresh pod, all it has afterwards.
    const made: string[] = [];
    const sandboxes = containers.filter(isSandbox).sort(byNewest);
    let sandbox = sandboxes.find((c) => c.state === 'running');
    let sb: SandboxRef | undefined = sandbox && runningRef(sandbox);
    let changed = false;
    const grace = pod.spec.terminationGracePeriodSeconds ?? 30;

    if (!sb) {
      this.reportBeforeStart(pod, containers);
      // Containers that outlived their sandbox have lost their network: they restart with the new one.
      const orphans = containers.filter((c) => !isSandbox(c) && c.state === 'running');
      await Promise.all(orphans.map((c) => this.killContainer(pod, this.specOf(pod, c), c, grace)));
      if (sandboxes.length) this.o.recorder?.event(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      const attempt = sandboxes.length ? restartCountOf(sandboxes[0]) + 1 : 0;
      const labels = { ...podLabels(pod, nodeName, SANDBOX_NAME, 'podsandbox'), [L.restartCount]: String(attempt) };
      const failed = (e: unknown) => {
        this.o.recorder?.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
        return e;
      };
      // The app containers start in the new sandbox once it exists (init containers, one at a
      // time, only once it runs): whether their images are present is asked beside its create.
      const images = pod.spec.initContainers?.length ? undefined : new Map(pod.spec.containers.map((c) => [c.name, this.images.lookup(c.image)]));
      let id: string;
      try {
        id = await runtime.createSandbox({ name: sandboxName(pod, attempt), image: this.o.podInfraImage ?? 'skiff/pause:3.10', hostname: pod.spec.hostname ?? pod.metadata.name!, labels, hostNetwork: pod.spec.hostNetwork, portMappings: portMappings(pod) });
      } catch (e) {
        throw failed(e);
      }
      made.push(id);
      this.mark(uid, 'sandbox-created');
      // The sandbox starts while the app containers are prepared and created
      // (they need it to exist, not to run): on a busy engine the two starts
      // are most of a pod's start-up, and this takes the create off the path.
      // The app containers start once the sandbox runs, not once it has also been inspected.
      let onStarted!: () => void;
      const startedSignal = new Promise<void>((r) => (onStarted = r));
      const running = runtime.startSandbox(id, () => {
        this.mark(uid, 'sandbox-started');
        onStarted();
      }).then((s) => {
        this.mark(uid, 'sandbox-running');
        return s;
      }, (e) => Promise.reject(failed(e)));
      const started = Promise.race([startedSignal, running.then(() => {})]);
      this.sandboxStarts.set(uid, running);
      // Awaited below; this only keeps a failure from counting as unhandled when the sync ends early.
      running.catch(() => {});
      started.catch(() => {});
      sb = { id, started, running, images };
      changed = true;
    }

    let volumes: Map<string, string> | undefined;
    try {
      volumes = await prepareVolumes(pod, { rootDir: this.o.rootDir, sources: this.sources, tokens: this.tokens });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.o.recorder?.event(pod, 'Warning', 'FailedMount', e.message);
      for (const c of pod.spec.containers) this.setWaiting(uid, c.name, { reason: 'ContainerCreating' });
      this.workers.enqueueAfter(uid, 2000);
    }

    let initialized = true;
    // A new sandbox: once it runs, the ones before it go, and its network set-up is what is left to wait for.
    let network: Promise<void> | undefined;
    const running = async (): Promise<RuntimeContainer> => {
      if (sandbox) return sandbox;
      const s = await sb.running;
      sandbox = s;
      network = s.network;
      for (const old of sandboxes) await runtime.remove(old.id);
      return s;
    };
    if (volumes && pod.spec.initContainers?.length) {
      const r = await this.syncInit(pod, containers, await running(), volumes, made);
      initialized = r.done;
      if (r.changed) changed = true;
    }

    if (volumes && initialized) {
      // Init containers done, app containers about to be made: the pod reads PodInitializing meanwhile.
      if (pod.spec.initContainers?.length && sandbox && !containers.some((x) => !isSandbox(x) && pod.spec.containers.some((c) => c.name === x.labels[L.containerName]))) {
        this.reportBeforeStart(pod, containers, sandbox);
      }
      for (const c of pod.spec.containers) {
        const instances = containers.filter((x) => !isSandbox(x) && x.labels[L.containerName] === c.name).sort(byNewest);
        let cur = instances[0];
        if (cur?.state === 'running') {
          const live = this.probes.result(uid, c.name, 'liveness');
          const startup = this.probes.result(uid, c.name, 'startup');
          const specChanged = cur.labels[L.hash] !== undefined && cur.labels[L.hash] !== containerHash(c);
          if (live !== 'Failure' && startup !== 'Failure' && !specChanged) {
            this.setWaiting(uid, c.name, undefined);
            continue;
          }
          const why = specChanged ? `Container ${c.name} definition changed, will be restarted` : `Container ${c.name} failed ${live === 'Failure' ? 'liveness' : 'startup'} probe, will be restarted`;
          this.o.recorder?.event(pod, 'Normal', 'Killing', why);
          await this.killContainer(pod, c, cur, grace);
          cur = (await runtime.inspect(cur.id)) ?? cur;
          changed = true;
        }
        if (cur?.state === 'created') {
          // Created but never started (a kubelet stopped in between): start it now.
          try {
            await runtime.start(cur.id);
            changed = true;
            continue;
          } catch {
            await runtime.remove(cur.id);
            cur = instances[1];
          }
        }
        let restartCount = 0;
        if (cur) {
          if (!this.shouldRestart(pod, cur)) {
            this.setWaiting(uid, c.name, undefined);
            continue;
          }
          restartCount = restartCountOf(cur) + 1;
          if (this.inBackOff(pod, c, cur)) continue;
        }
        if (await this.startContainer(pod, c, restartCount, sb, volumes, instances, made)) changed = true;
      }
      // Ephemeral containers (kubectl debug) start once each and are never restarted; --target joins that container's processes.
      for (const ec of pod.spec.ephemeralContainers ?? []) {
        const instances = containers.filter((x) => !isSandbox(x) && x.labels[L.containerName] === ec.name);
        if (instances.length) continue;
        const target = ec.targetContainerName && containers.filter((x) => !isSandbox(x) && x.labels[L.containerName] === ec.targetContainerName && x.state === 'running').sort(byNewest)[0];
        if (await this.startContainer(pod, ec, 0, sb, volumes, instances, made, target ? { pidMode: `container:${target.id}` } : {})) changed = true;
      }
    }

    const ready = await running();
    // A pod is not reported running (and so Ready, and a Service backend) before its network is complete.
    await network;
    if (changed) containers = fresh ? await this.inspectMade(made, ready) : await runtime.list({ [L.podUid]: uid });
    this.mark(uid, 'relisted');
    await this.report(pod, containers, ready);
    this.viewed.set(uid, new Map(containers.map((c) => [c.id, c.state])));
  }

  /**
   * A fresh pod's containers after its first sync, without a label listing
   * (which costs the engine a walk over every container it has, at the moment
   * it is busiest starting pods): only this pod's worker makes its
   * containers, so they are the ones this sync made. The sandbox is as its
   * inspect after the start showed it; a change since then comes back as an
   * event or in the relist and syncs the pod again.
   */
  private async inspectMade(made: string[], sandbox: StartedSandbox): Promise<RuntimeContainer[]> {
    const { network: _, ...sb } = sandbox;
    const apps = await Promise.all(made.filter((id) => id !== sb.id).map((id) => this.o.runtime.inspect(id)));
    return [sb, ...apps.filter((c): c is RuntimeContainer => !!c)];
  }

  /**
   * CrashLoopBackOff: true (with the waiting reason set and a retry queued)
   * while the container that exited may not restart yet; otherwise the
   * back-off advances for the restart about to happen.
   */
  private inBackOff(pod: Pod, c: Container, cur: RuntimeContainer): boolean {
    const uid = pod.metadata.uid!;
    const key = `${uid}/${c.name}`;
    const finished = Date.parse(cur.finishedAt ?? cur.createdAt);
    if (this.backoff.isInBackOffSince(key, finished)) {
      const msg = `back-off ${Math.round(this.backoff.get(key) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${uid})`;
      const prev = this.waiting.get(uid)?.get(c.name);
      if (prev?.reason !== 'CrashLoopBackOff') this.o.recorder?.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${uid})`);
      this.setWaiting(uid, c.name, { reason: 'CrashLoopBackOff', message: msg });
      this.workers.enqueueAfter(uid, this.backoff.remaining(key, finished) + 10);
      return true;
    }
    this.backoff.next(key, finished);
    return false;
  }

  /**
   * Init containers run one at a time, in order, each to successful
   * completion, before any app container starts; a failed one is retried
   * with back-off unless restartPolicy is Never (then the pod fails). They
   * run again in a new sandbox. Resolves done once all have completed here.
   */
  private async syncInit(pod: Pod, containers: RuntimeContainer[], sandbox: RuntimeContainer, volumes: Map<string, string>, made: string[]): Promise<{ done: boolean; changed: boolean }> {
    const uid = pod.metadata.uid!;
    const inSandbox = (x: RuntimeContainer) => !x.labels[L.sandboxId] || x.labels[L.sandboxId] === sandbox.id;
    const apps = new Set(pod.spec.containers.map((c) => c.name));
    // App containers made for this sandbox: it was initialized before (e.g. by a kubelet that then restarted).
    if (containers.some((x) => !isSandbox(x) && apps.has(x.labels[L.containerName]) && inSandbox(x))) return { done: true, changed: false };
    for (const c of pod.spec.initContainers ?? []) {
      const all = containers.filter((x) => !isSandbox(x) && x.labels[L.containerName] === c.name).sort(byNewest);
      const cur = all.find(inSandbox);
      if (cur?.state === 'exited' && cur.exitCode === 0) {
        this.setWaiting(uid, c.name, undefined);
        continue;
      }
      if (cur?.state === 'running') {
        this.setWaiting(uid, c.name, undefined);
        return { done: false, changed: false };
      }
      if (cur?.state === 'created') {
        try {
          await this.o.runtime.start(cur.id);
          return { done: false, changed: true };
        } catch {
          await this.o.runtime.remove(cur.id);
        }
      }
      if (cur?.state === 'exited') {
        if ((pod.spec.restartPolicy ?? 'Always') === 'Never') {
          this.setWaiting(uid, c.name, undefined);
          return { done: false, changed: false };
        }
        if (this.inBackOff(pod, c, cur)) return { done: false, changed: false };
      }
      const restartCount = all.length ? restartCountOf(all[0]) + 1 : 0;
      const changed = await this.startContainer(pod, c, restartCount, runningRef(sandbox), volumes, all, made);
      return { done: false, changed };
    }
    return { done: true, changed: false };
  }

  private async serviceEnvFor(pod: Pod): Promise<Map<string, string>> {
    // Right after start the pod list may arrive before the service list: give it a moment rather than fail the container.
    for (let i = 0; i < 100 && this.serviceInformer && !this.serviceInformer.hasSynced(); i++) await sleep(50);
    if (!this.serviceInformer?.hasSynced()) throw new ConfigError('CreateContainerConfigError', 'services have not yet been read at least once, cannot construct envvars');
    return serviceEnv(this.serviceInformer.lister.list(), pod.metadata.namespace ?? 'default', pod.spec.enableServiceLinks !== false);
  }

  /** postStart: runs right after the start; a failure kills the container, which then restarts by policy. */
  private async postStart(pod: Pod, c: Container, id: string, h: LifecycleHandler): Promise<void> {
    let msg: string | undefined;
    if (h.exec?.command) {
      const r = await this.o.runtime.exec(id, h.exec.command, POST_START_TIMEOUT_MS);
      if (r.timedOut || r.exitCode !== 0) {
        const err = r.timedOut ? 'command timed out' : `command '${h.exec.command.join(' ')}' exited with ${r.exitCode}: ${r.stderr}`;
        msg = `Exec lifecycle hook ([${h.exec.command.join(' ')}]) for Container "${c.name}" in Pod "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})" failed - error: ${err}, message: ${JSON.stringify(r.stdout + r.stderr)}`;
      }
    } else if (h.httpGet) {
      await this.httpHook(pod, c, h.httpGet, POST_START_TIMEOUT_MS);
    } else if (h.sleep) {
      await sleep(h.sleep.seconds * 1000);
    }
    if (!msg) return;
    this.o.recorder?.event(pod, 'Warning', 'FailedPostStartHook', msg);
    const cur = await this.o.runtime.inspect(id);
    if (cur) await this.killContainer(pod, undefined, cur, pod.spec.terminationGracePeriodSeconds ?? 30);
    throw new ConfigError('PostStartHookError', msg);
  }

  private specOf(pod: Pod, c: RuntimeContainer): Container | undefined {
    return pod.spec.containers.find((x) => x.name === c.labels[L.containerName]);
  }

  private shouldRestart(pod: Pod, c: RuntimeContainer): boolean {
    const policy = pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Always') return true;
    if (policy === 'OnFailure') return (c.exitCode ?? 0) !== 0;
    return false;
  }

  /** Create and start one container; false (with a waiting reason) when it could not be. */
  private async startContainer(pod: Pod, c: Container, restartCount: number, sandbox: SandboxRef, volumes: Map<string, string>, instances: RuntimeContainer[], made: string[], extra: Partial<ContainerConfig> = {}): Promise<boolean> {
    const uid = pod.metadata.uid!;
    const { runtime } = this.o;
    try {
      await this.images.ensure(pod, c, sandbox.images?.get(c.name));
      this.mark(uid, 'image');
      // Only the pod's IP has to wait for the sandbox to run.
      const podIP = needsPodIP(c) ? (await sandbox.running).ip : undefined;
      const cfg = await buildContainerConfig(pod, c, {
        node: this.o.nodeName, hostIP: this.o.nodeIP, podIP, sandboxId: sandbox.id, restartCount, volumes, sources: this.sources,
        services: await this.serviceEnvFor(pod),
      });
      Object.assign(cfg, extra);
      if (this.o.dns) cfg.mounts.push(this.o.dns.mount(pod, podDir(this.o.rootDir, uid)));
      this.mark(uid, 'config');
      // A leftover with the same attempt number (a start that failed) would clash by name.
      for (const x of instances) if (restartCountOf(x) === restartCount) await runtime.remove(x.id);
      let id: string;
      try {
        id = await runtime.createContainer(cfg);
      } catch (e) {
        throw new ConfigError('CreateContainerError', (e as Error).message);
      }
      made.push(id);
      this.mark(uid, `created:${c.name}`);
      try {
        await sandbox.started;
      } catch (e) {
        // Made for a sandbox that never ran: it could never start.
        await runtime.remove(id).catch(() => {});
        throw e;
      }
      this.o.recorder?.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
      try {
        await runtime.start(id);
      } catch (e) {
        this.backoff.next(`${uid}/${c.name}`);
        throw new ConfigError('RunContainerError', (e as Error).message);
      }
      this.mark(uid, `started:${c.name}`);
      this.o.recorder?.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
      if (c.lifecycle?.postStart) await this.postStart(pod, c, id, c.lifecycle.postStart);
      this.setWaiting(uid, c.name, undefined);
      // Keep the instance before this one for lastState and logs --previous; older ones go.
      for (const old of instances.filter((x) => restartCountOf(x) !== restartCount).slice(1)) await runtime.remove(old.id);
      return true;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.setWaiting(uid, c.name, { reason: e.reason, message: e.message });
      if (e.reason === 'ErrImagePull') this.workers.enqueueAfter(uid, 1050);
      else if (e.reason === 'ImagePullBackOff') this.workers.enqueueAfter(uid, this.images.remaining(pod, c) + 10);
      else if (e.reason === 'RunContainerError') this.workers.enqueueAfter(uid, this.backoff.get(`${uid}/${c.name}`) || 1000);
      else if (e.reason === 'PostStartHookError') this.workers.enqueueAfter(uid, 1000);
      else this.workers.enqueueAfter(uid, 2000);
      if (e.reason === 'CreateContainerConfigError' || e.reason === 'CreateContainerError' || e.reason === 'RunContainerError') {
        this.o.recorder?.event(pod, 'Warning', 'Failed', `Error: ${e.message}`);
      }
      return true; // the status changed even though nothing runs
    }
  }

  /** preStop, then SIGTERM and SIGKILL after what is left of the grace period. */
  private async killContainer(pod: Pod, spec: Container | undefined, c: RuntimeContainer, graceSeconds: number): Promise<void> {
    const started = Date.now();
    const pre = spec?.lifecycle?.preStop;
    if (pre && c.state === 'running' && graceSeconds > 0) {
      const budgetMs = graceSeconds * 1000;
      try {
        if (pre.exec?.command) await this.o.runtime.exec(c.id, pre.exec.command, budgetMs);
        else if (pre.sleep) await sleep(Math.min(pre.sleep.seconds * 1000, budgetMs));
        else if (pre.httpGet && spec) await this.httpHook(pod, spec, pre.httpGet, budgetMs);
      } catch (e) {
        this.o.recorder?.event(pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${(e as Error).message}`);
      }
    }
    const left = Math.max(MIN_GRACE_SECONDS, graceSeconds - Math.floor((Date.now() - started) / 1000));
    await this.o.runtime.stop(c.id, left);
  }

  private async httpHook(pod: Pod, spec: Container, h: HTTPGetAction, timeoutMs: number): Promise<void> {
    const ip = h.host ?? this.lastPodIP(pod);
    const port = resolvePort(h.port, spec);
    if (!ip || !port) return;
    await new Promise<void>((resolve) => {
      const req = http.get({ host: ip, port, path: h.path ?? '/', timeout: timeoutMs, agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => resolve());
      req.on('timeout', () => { req.destroy(); resolve(); });
    });
  }

  private lastPodIP(pod: Pod): string | undefined {
    return this.status.last(pod.metadata.uid!)?.podIP ?? pod.status?.podIP;
  }

  /** Compute and write status; update probes; stop a pod that has finished. */
  private async report(pod: Pod, containers: RuntimeContainer[], sandbox: RuntimeContainer | undefined, terminating = false): Promise<void> {
    const uid = pod.metadata.uid!;
    const running = new Map<string, ProbeTarget>();
    const views: ContainerView[] = pod.spec.containers.map((c) => {
      const inst = containers.filter((x) => !isSandbox(x) && x.labels[L.containerName] === c.name).sort(byNewest);
      const cur = inst[0];
      if (cur?.state === 'running' && !terminating) running.set(c.name, { containerId: cur.id, startedAt: Date.parse(cur.startedAt ?? cur.createdAt) });
      const isRunning = cur?.state === 'running';
      const started = isRunning && this.probes.started(uid, c.name);
      const ready = started && (c.readinessProbe ? this.probes.result(uid, c.name, 'readiness') === 'Success' : true);
      return { name: c.name, image: c.image ?? '', current: cur, previous: inst[1], waiting: terminating ? undefined : this.waiting.get(uid)?.get(c.name), ready: ready && !terminating, started };
    });
    const initViews: ContainerView[] = (pod.spec.initContainers ?? []).map((c) => {
      const inst = containers.filter((x) => !isSandbox(x) && x.labels[L.containerName] === c.name).sort(byNewest);
      return { name: c.name, image: c.image ?? '', current: inst[0], previous: inst[1], waiting: terminating ? undefined : this.waiting.get(uid)?.get(c.name), ready: false, started: false };
    });
    const sandboxReady = sandbox?.state === 'running' && !terminating;
    if (!terminating) this.adoptReadiness(pod, running, sandbox?.ip);
    // Probe results may have just been seeded from the API: recompute readiness with them.
    for (const v of views) {
      const c = pod.spec.containers.find((x) => x.name === v.name)!;
      if (v.current?.state === 'running' && !terminating) {
        v.started = this.probes.started(uid, c.name);
        v.ready = v.started && (c.readinessProbe ? this.probes.result(uid, c.name, 'readiness') === 'Success' : true);
      }
    }
    const status = computePodStatus(pod, {
      views, initViews, podIP: sandbox?.state === 'running' ? (pod.spec.hostNetwork ? this.o.nodeIP : sandbox.ip) : undefined, hostIP: this.o.nodeIP, sandboxReady,
      startTime: new Date(this.firstSeen.get(uid) ?? Date.now()).toISOString().replace(/\.\d+Z$/, 'Z'), terminating,
    });
    if (pod.spec.ephemeralContainers?.length) {
      status.ephemeralContainerStatuses = pod.spec.ephemeralContainers.map((c) => {
        const inst = containers.filter((x) => !isSandbox(x) && x.labels[L.containerName] === c.name).sort(byNewest);
        return containerStatus({ name: c.name, image: c.image ?? '', current: inst[0], waiting: this.waiting.get(uid)?.get(c.name), ready: false, started: false });
      });
    }
    const first = this.firstSeen.get(uid);
    const startedNow = !this.startObserved.has(uid) && status.phase === 'Running' && views.every((v) => v.current?.state === 'running');
    if (startedNow) {
      this.startObserved.add(uid);
      if (first) podStartDuration.observe((Date.now() - first) / 1000);
    }
    this.mark(uid, 'computed');
    const wrote = await this.status.set(pod, status);
    const m = startedNow && this.phases.get(uid);
    if (m) {
      this.mark(uid, wrote ? 'status-written' : 'status-unchanged');
      log.debug('pod start-up phases', { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, seen: first, ready: status.conditions?.find((x) => x.type === 'Ready')?.status, phases: m.map(([k, t]) => `${k}+${t - first!}`).join(' ') });
      this.phases.delete(uid);
    }
    if ((status.phase === 'Succeeded' || status.phase === 'Failed') && !terminating) await this.syncTerminal(pod);
  }

  /**
   * The status before this sync makes anything, as kube's SyncPod writes it
   * first: containers not created yet wait as ContainerCreating (or
   * PodInitializing behind init containers), what `kubectl get pods` shows
   * while a sandbox, an image or a container is being made. Not awaited: it
   * goes out beside the start, ahead of the sync's own report.
   */
  private reportBeforeStart(pod: Pod, containers: RuntimeContainer[], sandbox?: RuntimeContainer): void {
    const uid = pod.metadata.uid!;
    const views = (specs: Container[]): ContainerView[] => specs.map((c) => {
      const inst = containers.filter((x) => !isSandbox(x) && x.labels[L.containerName] === c.name).sort(byNewest);
      return { name: c.name, image: c.image ?? '', current: inst[0], previous: inst[1], waiting: this.waiting.get(uid)?.get(c.name), ready: false, started: false };
    });
    const running = sandbox?.state === 'running';
    const status = computePodStatus(pod, {
      views: views(pod.spec.containers), initViews: views(pod.spec.initContainers ?? []), podIP: running ? sandbox!.ip : undefined, hostIP: this.o.nodeIP,
      sandboxReady: running, startTime: new Date(this.firstSeen.get(uid) ?? Date.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    this.status.set(pod, status).catch(() => {});
  }

  /**
   * After a kubelet restart the probe workers start over, which would mark
   * ready containers unready until their next probe; the API's record of the
   * same container (same ID) says what the last kubelet knew.
   */
  private adoptReadiness(pod: Pod, running: Map<string, ProbeTarget>, podIP: string | undefined): void {
    const uid = pod.metadata.uid!;
    const before = new Map(pod.spec.containers.map((c) => [c.name, this.probes.target(uid, c.name)]));
    this.probes.update(pod, running, podIP);
    for (const cs of pod.status?.containerStatuses ?? []) {
      const t = running.get(cs.name);
      // Only for a worker just created for a container the API already knows.
      if (!t || cs.containerID !== `docker://${t.containerId}` || before.get(cs.name) === t.containerId) continue;
      this.probes.seed(uid, cs.name, { readiness: cs.ready ? 'Success' : undefined, startup: cs.started ? 'Success' : undefined });
    }
  }

  /** A finished pod keeps its containers (for logs) but not its sandbox. */
  private async syncTerminal(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid!;
    this.probes.removePod(uid);
    const containers = await this.o.runtime.list({ [L.podUid]: uid });
    await Promise.all(containers.filter((c) => c.state === 'running').map((c) => this.killContainer(pod, this.specOf(pod, c), c, isSandbox(c) ? 0 : pod.spec.terminationGracePeriodSeconds ?? 30)));
  }

  /** Graceful deletion: stop everything within the grace period, report, then delete the object for good. */
  private async terminatePod(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid!;
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    this.probes.removePod(uid);
    let containers = await this.o.runtime.list({ [L.podUid]: uid });
    const apps = containers.filter((c) => !isSandbox(c) && c.state === 'running');
    if (apps.length) {
      for (const c of apps) this.o.recorder?.event(pod, 'Normal', 'Killing', `Stopping container ${c.labels[L.containerName]}`);
      await Promise.all(apps.map((c) => this.killContainer(pod, this.specOf(pod, c), c, grace)));
    }
    await Promise.all(containers.filter((c) => isSandbox(c) && c.state === 'running').map((c) => this.o.runtime.stop(c.id, MIN_GRACE_SECONDS)));
    containers = await this.o.runtime.list({ [L.podUid]: uid });
    try {
      await this.report(pod, containers, undefined, true);
    } catch {
      // The object may be going away under us; deleting it below is what matters.
    }
    try {
      await this.o.client.resource<Pod>(R.pods, pod.metadata.namespace).delete(pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
    await this.removePodResources(uid, containers);
    this.finished.add(uid);
  }

  /** The pod's object is gone: nothing of it may keep running. */
  private async cleanupPod(uid: string): Promise<void> {
    const last = this.removed.get(uid);
    const containers = await this.o.runtime.list({ [L.podUid]: uid });
    const running = containers.filter((c) => c.state === 'running');
    if (running.length) {
      // A removed pod this kubelet had not terminated went with a grace period of 0 (see onDelete); one it
      // never saw (a restart in between) gets the grace period its containers were started with.
      const grace = last && !this.finished.has(uid) ? 0 : Number(running[0].labels[L.gracePeriod] ?? 30);
      await Promise.all(running.filter((c) => !isSandbox(c)).map((c) => this.o.runtime.stop(c.id, Math.max(MIN_GRACE_SECONDS, grace))));
      await Promise.all(running.filter(isSandbox).map((c) => this.o.runtime.stop(c.id, MIN_GRACE_SECONDS)));
    }
    await this.removePodResources(uid, containers);
    this.removed.delete(uid);
    this.finished.delete(uid);
    this.workers.forget(uid);
  }

  /** Stop what runs of a pod with this grace period, beside whatever its worker is doing. */
  private async stopRunning(uid: string, graceSeconds: number): Promise<void> {
    const running = (await this.o.runtime.list({ [L.podUid]: uid })).filter((c) => c.state === 'running');
    await Promise.all(running.filter((c) => !isSandbox(c)).map((c) => this.o.runtime.stop(c.id, graceSeconds)));
    await Promise.all(running.filter(isSandbox).map((c) => this.o.runtime.stop(c.id, MIN_GRACE_SECONDS)));
  }

  private async removePodResources(uid: string, containers: RuntimeContainer[]): Promise<void> {
    for (const c of containers) await this.o.runtime.remove(c.id);
    this.probes.removePod(uid);
    this.waiting.delete(uid);
    this.backoff.resetPrefix(`${uid}/`);
    this.images.forget(uid);
    this.firstSeen.delete(uid);
    this.startObserved.delete(uid);
    this.phases.delete(uid);
    this.viewed.delete(uid);
    this.relistSaw.delete(uid);
    this.everSynced.delete(uid);
    this.status.forget(uid);
    this.tokens.deletePodTokens(uid);
    fs.rmSync(podDir(this.o.rootDir, uid), { recursive: true, force: true });
  }
}
