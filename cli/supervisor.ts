// The supervisor `skiff up` leaves running: one small detached process that
// starts the cluster's components in order (etcd, then the API server once
// etcd is healthy, then the rest once the API server is ready), watches them
// and restarts any that exits, as the kubelet restarts a static pod's
// container. The backoff is the kubelet's shape (doubling, reset after a long
// enough run) with a shorter start: 1 s doubling to 30 s rather than 10 s to
// 5 min. Here each component is the cluster's only one, so a scheduler or
// controller-manager that exits on "leaderelection lost" after an etcd stall
// would otherwise leave the cluster without scheduling or controllers for
// tens of seconds to minutes; a few restarts a minute of a crash-looping
// component cost little on a developer's machine, and 30 s still bounds it.
//
// Each restart is logged in the supervisor's log and in the component's own.
// Pids, start times and restart counts go to $SKIFF_HOME/state.json, written
// whole and renamed into place so `skiff status` and `skiff down` never read
// half a file.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { reclaimWhenIdle } from '../lib/idlegc.js';
import { formatLine, logger, setLogFormat, type LogFormat } from '../lib/log.js';
import { procStartTime } from './proc.js';
import { healthy, writeState, type ClusterState, type ProcessRecord } from './state.js';

export interface ComponentSpec {
  name: string;
  cmd: string;
  args: string[];
  log: string;
  /** URL whose 200 means healthy. */
  health?: string;
  /** Start the next component only once this one is healthy (etcd, the API server). */
  waitHealthy?: boolean;
}

export interface SupervisorPlan {
  cluster: Pick<ClusterState, 'name' | 'apiserver' | 'kubeconfig' | 'nodes'>;
  /** The cluster CA (PEM file) that HTTPS health URLs are verified against. */
  caFile?: string;
  logFormat: LogFormat;
  components: ComponentSpec[];
}

export const supervisorName = 'skiff-supervisor';

export function planPath(home: string): string {
  return path.join(home, 'supervisor.json');
}

export interface Backoff { initialMs: number; maxMs: number }

/** Kubernetes' static-pod backoff is 10 s doubling to 5 min; see the header for why Skiff starts lower. */
export const defaultBackoff: Backoff = { initialMs: 1000, maxMs: 30_000 };

/**
 * The delay before the next restart, as client-go's flowcontrol.Backoff the
 * kubelet uses: the initial delay the first time, or when the last restart
 * is more than twice the maximum ago (the process ran long enough to count
 * as healthy); otherwise double the previous delay, capped at the maximum.
 */
export function nextDelay(prev: { delayMs: number; at: number } | undefined, now: number, b: Backoff = defaultBackoff): number {
  if (!prev || now - prev.at > 2 * b.maxMs) return b.initialMs;
  return Math.min(prev.delayMs * 2, b.maxMs);
}

export class Supervisor {
  private readonly records = new Map<string, ProcessRecord>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly backoff = new Map<string, { delayMs: number; at: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly startedAt = new Date().toISOString();
  private readonly log = logger(supervisorName);
  private stopping = false;

  constructor(private readonly home: string, private readonly plan: SupervisorPlan, private readonly b: Backoff = defaultBackoff) {}

  /** Start every component in the plan's order, waiting for health where it asks. Returns once all are started. */
  async run(): Promise<void> {
    this.save();
    const ca = this.plan.caFile ? fs.readFileSync(this.plan.caFile, 'utf8') : undefined;
    for (const c of this.plan.components) {
      if (this.stopping) return;
      this.start(c, 0);
      if (c.waitHealthy && c.health) {
        while (!this.stopping && !(await healthy(c.health, ca))) await new Promise((r) => setTimeout(r, 200));
      }
    }
    this.log.info('every component started', { components: this.plan.components.length });
  }

  /** Stop restarting (the components keep running: `skiff down` stops them) and record the last state. */
  stop(): void {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const child of this.children.values()) child.removeAllListeners('exit');
    this.save();
  }

  private start(c: ComponentSpec, restarts: number): void {
    fs.mkdirSync(path.dirname(c.log), { recursive: true });
    const fd = fs.openSync(c.log, 'a');
    // Detached: its own process group, which `skiff down` signals whole; and it outlives the supervisor.
    // MALLOC_ARENA_MAX=2: glibc gives each thread that contends for malloc an arena of its own, up to 8
    // per core, and a Node.js process has a dozen threads (V8's platform workers, libuv's pool, the API
    // server's etcd thread); the arenas' resident leftovers were 3-60 MiB per idle process (bench:idle).
    // The JS heap does not use malloc, so two arenas cost the hot paths nothing measurable.
    const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
    const child = spawn(c.cmd, c.args, { detached: true, stdio: ['ignore', fd, fd], env });
    fs.closeSync(fd);
    const rec: ProcessRecord = {
      name: c.name, pid: child.pid ?? 0, args: [c.cmd, ...c.args], log: c.log, health: c.health,
      startTime: child.pid ? procStartTime(child.pid) : undefined, restarts, startedAt: new Date().toISOString(),
    };
    this.records.set(c.name, rec);
    this.children.set(c.name, child);
    this.save();
    let done = false;
    const exited = (how: string) => {
      if (done) return;
      done = true;
      this.exited(c, rec, how);
    };
    child.once('exit', (code, signal) => exited(signal ? `signal ${signal}` : `code ${code}`));
    // A spawn that fails (no such binary) emits only 'error'.
    child.once('error', (e) => { if (!child.pid) exited(`error ${e.message}`); });
  }

  private exited(c: ComponentSpec, rec: ProcessRecord, how: string): void {
    if (this.stopping) return;
    const now = Date.now();
    const delayMs = nextDelay(this.backoff.get(c.name), now, this.b);
    this.backoff.set(c.name, { delayMs, at: now });
    const restart = rec.restarts + 1;
    const message = `${c.name} (pid ${rec.pid}) exited with ${how}; restarting in ${delayMs / 1000}s (restart ${restart})`;
    this.log.warn(message, { pid: rec.pid, restart });
    this.componentLog(c, 'warn', message, { pid: rec.pid, restart });
    rec.nextStartAt = new Date(now + delayMs).toISOString();
    this.save();
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopping) return;
      this.start(c, restart);
      const pid = this.records.get(c.name)!.pid;
      this.log.warn(`${c.name} restarted as pid ${pid} (restart ${restart})`, { pid, restart });
      this.componentLog(c, 'warn', `restarted by ${supervisorName} as pid ${pid} (restart ${restart})`, { pid, restart });
    }, delayMs);
    this.timers.add(t);
  }

  /** A line in the component's own log, in the cluster's log format, so its log tells why it starts again. */
  private componentLog(c: ComponentSpec, level: string, message: string, fields: Record<string, unknown>): void {
    try {
      fs.appendFileSync(c.log, formatLine(this.plan.logFormat, { timestamp: new Date().toISOString(), level, component: supervisorName, message, ...fields }) + '\n');
    } catch (e) {
      this.log.error(`cannot write to ${c.log}: ${(e as Error).message}`);
    }
  }

  private save(): void {
    const self: ProcessRecord = {
      name: supervisorName, pid: process.pid, args: process.argv, log: path.join(this.home, 'logs', `${supervisorName}.log`),
      startTime: procStartTime(process.pid), restarts: 0, startedAt: this.startedAt,
    };
    // In the plan's order, so `skiff down` can stop them newest first.
    const processes = this.plan.components.map((c) => this.records.get(c.name)).filter((r): r is ProcessRecord => !!r);
    writeState(this.home, { ...this.plan.cluster, supervisor: self, processes, startedAt: this.startedAt });
  }
}

/** `skiff supervise`: run the plan `skiff up` wrote under home until SIGTERM. */
export async function supervise(home: string): Promise<number> {
  const plan = JSON.parse(fs.readFileSync(planPath(home), 'utf8')) as SupervisorPlan;
  setLogFormat(plan.logFormat);
  const sup = new Supervisor(home, plan);
  const done = new Promise<number>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        logger(supervisorName).info(`${sig}: no more restarts`);
        sup.stop();
        resolve(0);
      });
    }
  });
  // A closed terminal must not end supervision.
  process.on('SIGHUP', () => {});
  await sup.run();
  reclaimWhenIdle();
  return done;
}
