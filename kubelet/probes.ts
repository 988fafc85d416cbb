// Liveness, readiness and startup probes, as the kubelet's prober workers run
// them: one worker per container and probe kind, ticking every periodSeconds;
// a result only flips after failureThreshold failures or successThreshold
// successes in a row; nothing runs before initialDelaySeconds, and liveness
// and readiness wait for the startup probe to succeed. Readiness starts as
// Failure, liveness as Success. A failed liveness or startup probe puts the
// worker on hold until the kubelet has replaced the container.

import net from 'node:net';
import http from 'node:http';
import type { Container, Pod, Probe } from '../api/types.js';
import { counter } from '../lib/metrics.js';
import { logger } from '../lib/log.js';
import type { Runtime } from './runtime/interface.js';

const log = logger('prober');

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = 'Success' | 'Failure' | 'Unknown';

const probeTotal = counter({ name: 'prober_probe_total', help: 'Cumulative number of a liveness, readiness or startup probe for a container by result.', labelNames: ['probe_type', 'result', 'container', 'pod', 'namespace'] as const });

export interface ProbeTarget {
  containerId: string;
  /** Milliseconds since the epoch when the container started. */
  startedAt: number;
}

export interface ProbeOutcome { result: 'Success' | 'Failure'; message: string }

/** Resolve a named or numeric port against the container's ports. */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Run one probe once. */
export async function runProbe(runtime: Runtime, probe: Probe, container: Container, containerId: string, podIP: string | undefined): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    try {
      const r = await runtime.exec(containerId, probe.exec.command ?? [], timeoutMs);
      if (r.timedOut) return { result: 'Failure', message: `command timed out after ${probe.timeoutSeconds ?? 1}s` };
      const out = (r.stdout + r.stderr).slice(0, 10 * 1024);
      return r.exitCode === 0 ? { result: 'Success', message: out } : { result: 'Failure', message: out || `command exited with ${r.exitCode}` };
    } catch (e) {
      return { result: 'Failure', message: (e as Error).message };
    }
  }
  const action = probe.httpGet ?? probe.tcpSocket;
  if (!action) return { result: 'Success', message: '' };
  const port = resolvePort(action.port, container);
  if (!port) return { result: 'Failure', message: `unable to resolve port ${String(action.port)}` };
  const host = action.host || podIP;
  if (!host) return { result: 'Failure', message: 'pod has no IP yet' };
  if (probe.tcpSocket) return tcpProbe(host, port, timeoutMs);
  return httpProbe(host, port, probe.httpGet!.path ?? '/', probe.httpGet!.httpHeaders ?? [], timeoutMs);
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (o: ProbeOutcome) => {
      s.destroy();
      resolve(o);
    };
    s.setTimeout(timeoutMs, () => done({ result: 'Failure', message: `dial tcp ${host}:${port}: i/o timeout` }));
    s.once('connect', () => done({ result: 'Success', message: '' }));
    s.once('error', (e) => done({ result: 'Failure', message: `dial tcp ${host}:${port}: ${e.message}` }));
  });
}

function httpProbe(host: string, port: number, path: string, headers: { name: string; value: string }[], timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const h: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
    for (const x of headers) h[x.name] = x.value;
    const req = http.get({ host, port, path: path.startsWith('/') ? path : `/${path}`, headers: h, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      // As the kubelet: 2xx and 3xx succeed.
      resolve(code >= 200 && code < 400 ? { result: 'Success', message: '' } : { result: 'Failure', message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ result: 'Failure', message: `Get "http://${host}:${port}${path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (e) => resolve({ result: 'Failure', message: `Get "http://${host}:${port}${path}": ${e.message}` }));
  });
}

interface Worker {
  kind: ProbeKind;
  probe: Probe;
  container: Container;
  target?: ProbeTarget;
  result: ProbeResult;
  lastMessage: string;
  /** The last raw outcome and how many times in a row it came. */
  lastRaw?: 'Success' | 'Failure';
  run: number;
  onHold: boolean;
  timer?: NodeJS.Timeout;
  running: boolean;
}

function initial(kind: ProbeKind): ProbeResult {
  return kind === 'readiness' ? 'Failure' : kind === 'liveness' ? 'Success' : 'Unknown';
}

export class ProbeManager {
  /** uid -> "container/kind" -> worker */
  private workers = new Map<string, Map<string, Worker>>();
  private pods = new Map<string, { pod: Pod; podIP?: string }>();

  constructor(private readonly runtime: Runtime, private readonly onChange: (uid: string, kind: ProbeKind, container: string, result: ProbeResult) => void) {}

  /** Bring the pod's workers in line with its spec and its current containers (those running). */
  update(pod: Pod, running: Map<string, ProbeTarget>, podIP: string | undefined): void {
    const uid = pod.metadata.uid!;
    this.pods.set(uid, { pod, podIP });
    let ws = this.workers.get(uid);
    if (!ws) this.workers.set(uid, (ws = new Map()));
    const wanted = new Set<string>();
    for (const c of pod.spec.containers) {
      for (const kind of ['liveness', 'readiness', 'startup'] as const) {
        const probe = c[`${kind}Probe`];
        if (!probe) continue;
        const key = `${c.name}/${kind}`;
        wanted.add(key);
        let w = ws.get(key);
        if (!w) {
          w = { kind, probe, container: c, result: initial(kind), lastMessage: '', run: 0, onHold: false, running: false };
          ws.set(key, w);
        }
        w.probe = probe;
        w.container = c;
        const t = running.get(c.name);
        if (t?.containerId !== w.target?.containerId) {
          // A new container starts with fresh results.
          w.target = t;
          w.result = initial(kind);
          w.lastRaw = undefined;
          w.run = 0;
          w.onHold = false;
          clearTimeout(w.timer);
          w.timer = undefined;
          if (t) this.schedule(uid, w, Math.max(0, t.startedAt + (probe.initialDelaySeconds ?? 0) * 1000 - Date.now()));
        }
      }
    }
    for (const [key, w] of ws) {
      if (!wanted.has(key)) {
        clearTimeout(w.timer);
        ws.delete(key);
      }
    }
  }

  /** The container a pod's workers currently probe, if any. */
  target(uid: string, container: string): string | undefined {
    for (const w of this.workers.get(uid)?.values() ?? []) if (w.container.name === container && w.target) return w.target.containerId;
    return undefined;
  }

  /** Start results from what a previous kubelet reported for the same container. */
  seed(uid: string, container: string, r: { readiness?: ProbeResult; startup?: ProbeResult }): void {
    const ws = this.workers.get(uid);
    for (const kind of ['readiness', 'startup'] as const) {
      const w = ws?.get(`${container}/${kind}`);
      const v = r[kind];
      if (w && v) {
        w.result = v;
        w.lastRaw = v === 'Success' ? 'Success' : undefined;
        w.run = v === 'Success' ? 1 : 0;
      }
    }
  }

  removePod(uid: string): void {
    for (const w of this.workers.get(uid)?.values() ?? []) clearTimeout(w.timer);
    this.workers.delete(uid);
    this.pods.delete(uid);
  }

  stop(): void {
    for (const uid of [...this.workers.keys()]) this.removePod(uid);
  }

  result(uid: string, container: string, kind: ProbeKind): ProbeResult | undefined {
    return this.workers.get(uid)?.get(`${container}/${kind}`)?.result;
  }

  message(uid: string, container: string, kind: ProbeKind): string {
    return this.workers.get(uid)?.get(`${container}/${kind}`)?.lastMessage ?? '';
  }

  /** Startup has succeeded (or there is no startup probe). */
  started(uid: string, container: string): boolean {
    const r = this.result(uid, container, 'startup');
    return r === undefined || r === 'Success';
  }

  private schedule(uid: string, w: Worker, delayMs: number): void {
    clearTimeout(w.timer);
    w.timer = setTimeout(() => void this.tick(uid, w), delayMs);
    w.timer.unref?.();
  }

  private async tick(uid: string, w: Worker): Promise<void> {
    const ws = this.workers.get(uid);
    if (!ws || ws.get(`${w.container.name}/${w.kind}`) !== w || !w.target) return;
    const periodMs = (w.probe.periodSeconds ?? 10) * 1000;
    const target = w.target;
    try {
      if (w.onHold || w.running) return;
      if (w.kind !== 'startup' && !this.started(uid, w.container.name)) return;
      if (w.kind === 'startup' && w.result === 'Success') return;
      w.running = true;
      const podIP = this.pods.get(uid)?.podIP;
      const out = await runProbe(this.runtime, w.probe, w.container, target.containerId, podIP);
      w.running = false;
      if (w.target !== target) return; // the container changed while probing
      const pod = this.pods.get(uid)?.pod;
      probeTotal.inc({ probe_type: cap(w.kind), result: out.result === 'Success' ? 'successful' : 'failed', container: w.container.name, pod: pod?.metadata.name ?? '', namespace: pod?.metadata.namespace ?? '' });
      w.run = w.lastRaw === out.result ? w.run + 1 : 1;
      w.lastRaw = out.result;
      w.lastMessage = out.message;
      const threshold = out.result === 'Success' ? (w.probe.successThreshold ?? 1) : (w.probe.failureThreshold ?? 3);
      if (w.run < threshold) return;
      if (w.result === out.result) return;
      w.result = out.result;
      if (out.result === 'Failure' && w.kind !== 'readiness') {
        // The container is about to be restarted; stop probing it.
        w.onHold = true;
        w.run = 0;
      }
      log.debug('probe result changed', { pod: pod?.metadata.name, container: w.container.name, probe: w.kind, result: out.result, message: out.message });
      this.onChange(uid, w.kind, w.container.name, w.result);
    } catch (e) {
      w.running = false;
      log.warn('probe error', { container: w.container.name, probe: w.kind, error: (e as Error).message });
    } finally {
      if (this.workers.get(uid)?.get(`${w.container.name}/${w.kind}`) === w && w.target === target) this.schedule(uid, w, periodMs);
    }
  }
}

function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}
