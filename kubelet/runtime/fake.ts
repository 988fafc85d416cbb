// An in-memory Runtime for unit tests: containers are records whose state the
// test drives (exit, die by OOM), every call is recorded, images are a set,
// and exec answers come from a test-supplied function.

import { PassThrough, Readable } from 'node:stream';
import type { ContainerConfig, ContainerStats, ExecResult, ExecSession, LogOptions, Runtime, RuntimeContainer, RuntimeEvent, SandboxConfig, StartedSandbox, TerminalSize } from './interface.js';

export interface FakeCall { op: string; args: unknown[] }

export interface FakeContainer extends RuntimeContainer {
  name: string;
  config?: ContainerConfig;
  sandbox?: SandboxConfig;
  logs: string;
}

export class FakeRuntime implements Runtime {
  readonly calls: FakeCall[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Map<string, string>([['skiff/pause:3.10', 'sha256:pause'], ['busybox:latest', 'sha256:busybox']]);
  /** Images a pull would fetch (anything else fails to pull). */
  readonly pullable = new Set<string>();
  execHandler: (id: string, cmd: string[]) => ExecResult = () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false });
  private seq = 0;
  private ipSeq = 2;
  private listeners = new Set<(e: RuntimeEvent) => void>();

  private rec(op: string, ...args: unknown[]): void {
    this.calls.push({ op, args });
  }

  ops(op?: string): FakeCall[] {
    return op ? this.calls.filter((c) => c.op === op) : this.calls;
  }

  private emit(c: FakeContainer, action: string): void {
    for (const l of this.listeners) l({ id: c.id, action, labels: c.labels });
  }

  async version() {
    return { name: 'docker', version: '0.0.0-fake' };
  }

  /** The last pod CIDR the kubelet passed; networkReady is what networkStatus() reports. */
  podCIDR?: string;
  networkReady = true;
  async updatePodCIDR(cidr: string): Promise<void> {
    this.rec('updatePodCIDR', cidr);
    this.podCIDR = cidr;
    this.networkReady = true;
  }
  networkStatus() {
    return this.networkReady ? { ready: true } : { ready: false, reason: 'NetworkPluginNotReady', message: 'fake: no pod CIDR' };
  }

  async list(labels: Record<string, string>): Promise<RuntimeContainer[]> {
    this.rec('list', labels);
    return [...this.containers.values()]
      .filter((c) => Object.entries(labels).every(([k, v]) => c.labels[k] === v))
      .map((c) => structuredClone({ ...c, config: undefined, sandbox: undefined }));
  }

  async snapshot(labels: Record<string, string>) {
    return [...this.containers.values()].filter((c) => Object.entries(labels).every(([k, v]) => c.labels[k] === v)).map((c) => ({ id: c.id, labels: c.labels, state: c.state }));
  }

  async inspect(id: string): Promise<RuntimeContainer | undefined> {
    const c = this.containers.get(id);
    return c ? structuredClone({ ...c, config: undefined, sandbox: undefined }) : undefined;
  }

  async imageID(image: string): Promise<string | undefined> {
    this.rec('imageID', image);
    return this.images.get(image);
  }

  async pull(image: string): Promise<void> {
    this.rec('pull', image);
    if (!this.pullable.has(image)) throw new Error(`pull access denied for ${image}`);
    this.images.set(image, `sha256:${image}`);
  }

  private add(name: string, image: string, labels: Record<string, string>, extra: Partial<FakeContainer>): FakeContainer {
    if ([...this.containers.values()].some((c) => c.name === name)) throw new Error(`Conflict. The container name "/${name}" is already in use`);
    const id = `fake${String(++this.seq).padStart(8, '0')}`;
    const c: FakeContainer = { id, name, labels, state: 'created', createdAt: new Date().toISOString(), image, imageID: this.images.get(image) ?? '', logs: '', ...extra };
    this.containers.set(id, c);
    return c;
  }

  /** Test hooks: sandbox starts wait for the gate; the next one fails with this error. */
  sandboxStartGate?: Promise<void>;
  /** Test hook: a started sandbox's inspect waits for this gate. */
  sandboxInspectGate?: Promise<void>;
  /** Test hook: what started sandboxes give as their network set-up. */
  sandboxNetwork?: Promise<void>;
  failNextSandboxStart?: string;

  async createSandbox(cfg: SandboxConfig): Promise<string> {
    this.rec('createSandbox', cfg);
    if (!this.images.has(cfg.image)) throw new Error(`No such image: ${cfg.image}`);
    return this.add(cfg.name, cfg.image, cfg.labels, { sandbox: cfg }).id;
  }

  async startSandbox(id: string, onStarted?: () => void): Promise<StartedSandbox> {
    this.rec('startSandbox', id);
    const c = this.containers.get(id);
    if (!c?.sandbox) throw new Error(`No such sandbox: ${id}`);
    await this.sandboxStartGate;
    if (this.failNextSandboxStart) {
      const msg = this.failNextSandboxStart;
      this.failNextSandboxStart = undefined;
      throw new Error(msg);
    }
    c.state = 'running';
    c.ip = `172.17.0.${this.ipSeq++}`;
    c.startedAt = new Date().toISOString();
    this.emit(c, 'start');
    onStarted?.();
    await this.sandboxInspectGate;
    return { ...structuredClone({ ...c, config: undefined, sandbox: undefined }), network: this.sandboxNetwork };
  }

  async createContainer(cfg: ContainerConfig): Promise<string> {
    this.rec('createContainer', cfg);
    if (!this.images.has(cfg.image)) throw new Error(`No such image: ${cfg.image}`);
    return this.add(cfg.name, cfg.image, cfg.labels, { config: cfg }).id;
  }

  async start(id: string): Promise<void> {
    this.rec('start', id);
    const c = this.containers.get(id);
    if (!c) throw new Error(`No such container: ${id}`);
    const sb = c.config && this.containers.get(c.config.sandboxId);
    if (c.config && sb?.state !== 'running') throw new Error(`cannot join network of a non running container: ${c.config.sandboxId}`);
    c.state = 'running';
    c.startedAt = new Date().toISOString();
    this.emit(c, 'start');
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    this.rec('stop', id, timeoutSeconds);
    const c = this.containers.get(id);
    if (c && c.state === 'running') this.exit(id, 137);
  }

  async remove(id: string): Promise<void> {
    this.rec('remove', id);
    const c = this.containers.get(id);
    this.containers.delete(id);
    if (c) this.emit(c, 'destroy');
  }

  /** Test hook: the container's process ends. */
  exit(id: string, exitCode: number, oomKilled = false): void {
    const c = this.containers.get(id);
    if (!c) throw new Error(`No such container: ${id}`);
    c.state = 'exited';
    c.exitCode = exitCode;
    c.oomKilled = oomKilled;
    c.finishedAt = new Date().toISOString();
    this.emit(c, oomKilled ? 'oom' : 'die');
  }

  /** Test hook: the running container named name of the pod. */
  find(podName: string, container: string, state: 'running' | 'exited' | 'any' = 'running'): FakeContainer | undefined {
    return [...this.containers.values()].filter((c) => c.labels['io.kubernetes.pod.name'] === podName && c.labels['io.kubernetes.container.name'] === container && (state === 'any' || c.state === state)).at(-1);
  }

  async logs(id: string, _opts: LogOptions): Promise<Readable> {
    return Readable.from([this.containers.get(id)?.logs ?? '']);
  }

  async exec(id: string, cmd: string[], _timeoutMs: number): Promise<ExecResult> {
    this.rec('exec', id, cmd);
    return this.execHandler(id, cmd);
  }

  async execStream(id: string, cmd: string[], opts?: { tty: boolean; size?: TerminalSize }): Promise<ExecSession> {
    this.rec('execStream', id, cmd, opts);
    const r = this.execHandler(id, cmd);
    const stdout = new PassThrough();
    stdout.end(r.stdout);
    return { stdout, resize: async (cols, rows) => { this.rec('resize', id, cols, rows); }, exitCode: Promise.resolve(r.exitCode) };
  }

  async attach(id: string): Promise<ExecSession> {
    this.rec('attach', id);
    const stdout = new PassThrough();
    stdout.end(this.containers.get(id)?.logs ?? '');
    return { stdout, resize: async () => {}, exitCode: Promise.resolve(this.containers.get(id)?.exitCode ?? 0) };
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    if (!this.containers.has(id)) return undefined;
    return { cpuUsageNanos: 1_000_000, timestamp: new Date().toISOString(), memoryUsageBytes: 2048, memoryWorkingSetBytes: 1024 };
  }

  watch(_labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void, actions?: string[]): () => void {
    const l = (e: RuntimeEvent) => {
      if (!actions || actions.includes(e.action)) onEvent(e);
    };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
