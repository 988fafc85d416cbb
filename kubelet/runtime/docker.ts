// The Runtime on the Docker Engine (dockerode), as dockershim mapped the CRI
// onto it: a sandbox is a pause container on the default bridge, app
// containers join its network, IPC and UTS namespaces with NetworkMode
// container:<sandbox>, and logs come back through Docker's multiplexed stream.

import Docker from 'dockerode';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { logger } from '../../lib/log.js';
import { formatCIDR, intToIp, parseCIDR } from '../../lib/ipv4.js';
import { Hairpin } from './hairpin.js';
import { withStartFailure } from './execstart.js';
import type { NetworkStatus } from './interface.js';
import type { ContainerConfig, ContainerStats, ExecResult, ExecSession, LogOptions, PortMapping, Runtime, RuntimeContainer, RuntimeEvent, SandboxConfig, StartedSandbox, TerminalSize } from './interface.js';

const log = logger('kubelet');

const zeroTime = '0001-01-01T00:00:00Z';

function labelFilter(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

function isNotFound(e: unknown): boolean {
  return (e as { statusCode?: number })?.statusCode === 404;
}

/** Docker's timestamps carry nanoseconds; the API's carry seconds. */
function rfc3339(t: string | undefined): string | undefined {
  if (!t || t.startsWith('0001-')) return undefined;
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Docker's container status (list's State, inspect's State.Status) as the runtime's state. */
function stateOf(status: string | undefined): RuntimeContainer['state'] {
  switch (status) {
    case 'running': case 'restarting': return 'running';
    case 'created': return 'created';
    case 'exited': case 'dead': return 'exited';
    default: return 'unknown';
  }
}

/** Docker's PortBindings: "containerPort/proto" -> host addresses and ports. */
function portBindings(mappings: PortMapping[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const m of mappings) (out[`${m.containerPort}/${m.protocol.toLowerCase()}`] ??= []).push({ HostIp: m.hostIP && m.hostIP !== '0.0.0.0' ? m.hostIP : '', HostPort: String(m.hostPort) });
  return out;
}

export function dockerSocketPath(endpoint: string): string {
  return endpoint.replace(/^unix:\/\//, '');
}

/**
 * Where pod sandboxes get their network. bridge: Docker's default bridge
 * (one node per engine, or several sharing one: `--node-mode shared`).
 * podcidr: a bridge network of the Node's spec.podCIDR, gateway its first
 * address, as kubenet's cbr0; sandboxes wait for it (the kubelet's
 * --pod-network).
 */
export interface DockerNetworkOptions {
  podNetwork?: 'bridge' | 'podcidr';
  /** The Docker network's name (podcidr). */
  networkName?: string;
  /** The Linux bridge's name (podcidr), kubenet's. */
  bridgeName?: string;
}

/** What dockershim with kubenet said before the node had a pod CIDR. */
const noPodCIDR: NetworkStatus = { ready: false, reason: 'NetworkPluginNotReady', message: 'docker: network plugin is not ready: kubenet does not have netConfig. This is most likely due to lack of PodCIDR' };

export class DockerRuntime implements Runtime {
  readonly docker: Docker;
  private readonly net: Required<DockerNetworkOptions>;
  /** The subnet of the pod network once it exists (podcidr). */
  private podSubnet?: string;
  private networkUpdate: Promise<void> = Promise.resolve();
  private readonly hairpin = new Hairpin();
  /** The last inspect of each container, by ID. */
  private readonly inspected = new Map<string, RuntimeContainer>();
  /** Image inspects in flight, and how many pulls of each image have ended (an inspect's epoch). */
  private readonly imageInspects = new Map<string, { epoch: number; id: Promise<string | undefined> }>();
  private readonly pulls = new Map<string, number>();

  constructor(endpoint = 'unix:///var/run/docker.sock', net: DockerNetworkOptions = {}) {
    this.docker = new Docker({ socketPath: dockerSocketPath(endpoint) });
    this.net = { podNetwork: net.podNetwork ?? 'bridge', networkName: net.networkName ?? 'skiff-pods', bridgeName: net.bridgeName ?? 'cbr0' };
    if (this.net.podNetwork !== 'bridge' && this.net.podNetwork !== 'podcidr') throw new Error(`unknown pod network ${String(this.net.podNetwork)} (bridge or podcidr)`);
    if (this.net.bridgeName.length > 15) throw new Error(`bridge name ${this.net.bridgeName} is longer than Linux's 15 characters`);
  }

  networkStatus(): NetworkStatus {
    return this.net.podNetwork === 'bridge' || this.podSubnet ? { ready: true } : noPodCIDR;
  }

  /** One at a time: the network is inspected, maybe removed, and created. */
  updatePodCIDR(cidrs: string): Promise<void> {
    const next = this.networkUpdate.then(() => this.ensurePodNetwork(cidrs));
    this.networkUpdate = next.catch(() => {});
    return next;
  }

  private async ensurePodNetwork(cidrs: string): Promise<void> {
    if (this.net.podNetwork !== 'podcidr') return;
    const v4 = cidrs.split(',').map((c) => c.trim()).find((c) => c && !c.includes(':'));
    if (!v4) return;
    const n = parseCIDR(v4);
    const subnet = formatCIDR(n);
    if (this.podSubnet === subnet) return;
    // Not ready while the network does not match the Node: no sandbox may land on the old subnet.
    this.podSubnet = undefined;
    const network = this.docker.getNetwork(this.net.networkName);
    let existing: string | undefined;
    try {
      existing = ((await network.inspect()) as { IPAM?: { Config?: { Subnet?: string }[] } }).IPAM?.Config?.[0]?.Subnet;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (existing && existing !== subnet) {
      // The node's CIDR changed (a Node deleted and registered again): the old network goes, which the engine refuses while pods still use it.
      log.info('pod CIDR changed, replacing the pod network', { network: this.net.networkName, from: existing, to: subnet });
      await network.remove();
      existing = undefined;
    }
    if (!existing) {
      await this.docker.createNetwork({
        Name: this.net.networkName,
        Driver: 'bridge',
        CheckDuplicate: true,
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: intToIp(n.network + 1) }] },
        // No masquerade by the engine: its rule for the subnet would sit above the network agent's exceptions
        // (Docker inserts it whenever it starts), and a pod on another node would see this node's address, not
        // the client pod's. The agent masquerades what leaves the cluster CIDR, as kubenet's own rules did.
        Options: { 'com.docker.network.bridge.name': this.net.bridgeName, 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
        Labels: { 'skiff.pod-network': 'podcidr' },
      });
      log.info('created the pod network', { network: this.net.networkName, bridge: this.net.bridgeName, subnet });
    }
    this.podSubnet = subnet;
  }

  async version(): Promise<{ name: string; version: string }> {
    const v = await this.docker.version();
    return { name: 'docker', version: v.Version };
  }

  /**
   * A list is one cheap call; the inspect behind each container is what
   * costs the engine, and every sync lists its pod twice. Everything inspect
   * reports (times, exit code, IP) changes only together with the state the
   * list shows (containers are never restarted in place), so an inspect is
   * reused while the listed state matches it.
   */
  async list(labels: Record<string, string>): Promise<RuntimeContainer[]> {
    const summaries = await this.docker.listContainers({ all: true, filters: { label: labelFilter(labels) } });
    const out = await Promise.all(summaries.map((s) => {
      const known = this.inspected.get(s.Id);
      return known && known.state === stateOf(s.State) ? { ...known } : this.inspect(s.Id);
    }));
    return out.filter((c): c is RuntimeContainer => !!c);
  }

  async snapshot(labels: Record<string, string>): Promise<{ id: string; labels: Record<string, string>; state: string }[]> {
    const summaries = await this.docker.listContainers({ all: true, filters: { label: labelFilter(labels) } });
    // Forget inspects of containers removed behind our back (the relist lists everything this kubelet labels).
    const ids = new Set(summaries.map((s) => s.Id));
    for (const [id, c] of this.inspected) if (!ids.has(id) && Object.entries(labels).every(([k, v]) => c.labels[k] === v)) this.inspected.delete(id);
    return summaries.map((s) => ({ id: s.Id, labels: s.Labels ?? {}, state: stateOf(s.State) }));
  }

  async inspect(id: string): Promise<RuntimeContainer | undefined> {
    let i: Docker.ContainerInspectInfo;
    try {
      i = await this.docker.getContainer(id).inspect();
    } catch (e) {
      if (isNotFound(e)) {
        this.inspected.delete(id);
        return undefined;
      }
      throw e;
    }
    const st = i.State;
    const state = st.Running || st.Restarting ? 'running' : stateOf(st.Status);
    const c: RuntimeContainer = {
      id: i.Id,
      labels: i.Config.Labels ?? {},
      state,
      createdAt: rfc3339(i.Created) ?? new Date().toISOString(),
      startedAt: rfc3339(st.StartedAt),
      finishedAt: st.FinishedAt && st.FinishedAt !== zeroTime ? rfc3339(st.FinishedAt) : undefined,
      exitCode: state === 'exited' ? st.ExitCode : undefined,
      oomKilled: st.OOMKilled,
      error: st.Error || undefined,
      image: i.Config.Image,
      imageID: i.Image,
      ip: (i.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress || Object.values(i.NetworkSettings?.Networks ?? {}).find((n) => n?.IPAddress)?.IPAddress || undefined,
      pid: st.Pid || undefined,
    };
    // Only settled states: one in between (paused, removing) is read afresh each time.
    if (state === 'unknown') this.inspected.delete(id);
    else this.inspected.set(id, c);
    return { ...c };
  }

  /**
   * Pods started together ask about the same image at once: they share one
   * inspect in flight rather than send the engine one each. Only an inspect
   * begun after the image's last pull ended is shared, so a caller that
   * has just pulled sees the pull's result.
   */
  async imageID(image: string): Promise<string | undefined> {
    const epoch = this.pulls.get(image) ?? 0;
    const inflight = this.imageInspects.get(image);
    if (inflight && inflight.epoch === epoch) return inflight.id;
    const id = this.inspectImage(image);
    const entry = { epoch, id };
    this.imageInspects.set(image, entry);
    const done = () => { if (this.imageInspects.get(image) === entry) this.imageInspects.delete(image); };
    id.then(done, done);
    return id;
  }

  private async inspectImage(image: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(image).inspect()).Id;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async pull(image: string): Promise<void> {
    try {
      await this.pullImage(image);
    } finally {
      this.pulls.set(image, (this.pulls.get(image) ?? 0) + 1);
    }
  }

  private async pullImage(image: string): Promise<void> {
    const stream = await this.docker.pull(image);
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) => {
        const failed = output?.find((o) => o.error);
        if (err || failed) reject(err ?? new Error(failed!.error));
        else resolve();
      });
    });
  }

  async createSandbox(cfg: SandboxConfig): Promise<string> {
    const net = this.networkStatus();
    // The kubelet's own words for a pod that comes before the network (kubelet.go's NetworkNotReady).
    if (!net.ready) throw new Error(`network is not ready: container runtime network not ready: NetworkReady=false reason:${net.reason} message:${net.message}`);
    const c = await this.docker.createContainer({
      name: cfg.name,
      Image: cfg.image,
      // The engine refuses a hostname of its own in the host's network namespace.
      Hostname: cfg.hostNetwork ? undefined : cfg.hostname,
      Labels: cfg.labels,
      // hostPort: the engine publishes it in its own network namespace (the node's), DNAT plus its proxy for
      // connections from the node itself, as kube's portmap plugin does; a hostNetwork pod binds the port itself.
      ExposedPorts: cfg.hostNetwork || !cfg.portMappings?.length ? undefined : Object.fromEntries(cfg.portMappings.map((m) => [`${m.containerPort}/${m.protocol.toLowerCase()}`, {}])),
      HostConfig: {
        NetworkMode: cfg.hostNetwork ? 'host' : this.net.podNetwork === 'podcidr' ? this.net.networkName : 'bridge', IpcMode: 'shareable', AutoRemove: false,
        PortBindings: cfg.hostNetwork || !cfg.portMappings?.length ? undefined : portBindings(cfg.portMappings),
      },
    });
    return c.id;
  }

  async startSandbox(id: string, onStarted?: () => void): Promise<StartedSandbox> {
    const t0 = Date.now();
    await this.docker.getContainer(id).start();
    onStarted?.();
    const t1 = Date.now();
    const sb = await this.inspect(id);
    if (!sb) throw new Error(`sandbox ${id} is gone`);
    const t2 = Date.now();
    // A pod that cannot reach itself through its Service is a broken network, not a slower one: log, keep the pod.
    // The containers do not need it to start (the bridge port's setting takes the kernel's rtnl lock, which
    // the engine's own veth set-up holds under load): it goes on beside their start.
    // A sandbox without an address of its own is in the host's network namespace: it has no bridge port.
    const pid = sb.ip ? sb.pid : undefined;
    const network = pid
      ? this.hairpin.enable(pid).then(() => {}, (e: Error) => { log.warn('could not enable hairpin mode', { sandbox: id, error: e.message }); })
      : undefined;
    // winston formats a line before its transport drops it by level: on this path that costs more than the hairpin.
    if (log.isDebugEnabled()) void network?.then(() => log.debug('sandbox started', { sandbox: id.slice(0, 12), startMs: t1 - t0, inspectMs: t2 - t1, hairpinMs: Date.now() - t2 }));
    return { ...sb, network };
  }

  async createContainer(cfg: ContainerConfig): Promise<string> {
    const ns = `container:${cfg.sandboxId}`;
    const c = await this.docker.createContainer({
      name: cfg.name,
      Image: cfg.image,
      Entrypoint: cfg.entrypoint,
      Cmd: cfg.cmd,
      WorkingDir: cfg.workingDir,
      Env: cfg.env,
      Labels: cfg.labels,
      User: cfg.user,
      Tty: cfg.tty ?? false,
      OpenStdin: cfg.stdin ?? false,
      // Docker closes the container's stdin when the first attached client detaches, as stdinOnce asks.
      StdinOnce: cfg.stdinOnce ?? false,
      HostConfig: {
        NetworkMode: ns,
        IpcMode: cfg.ipcMode ?? ns,
        PidMode: cfg.pidMode,
        Binds: cfg.mounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`),
        Memory: cfg.memoryLimitBytes,
        // Without swap accounting a memory limit alone would let the container swap instead of being OOM-killed.
        MemorySwap: cfg.memoryLimitBytes,
        NanoCpus: cfg.nanoCpus,
        CpuShares: cfg.cpuShares,
      },
    });
    return c.id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(timeoutSeconds)) });
    } catch (e) {
      // 304: already stopped; 404: already gone.
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 304 && code !== 404) throw e;
    }
  }

  async remove(id: string): Promise<void> {
    this.inspected.delete(id);
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) throw e; // 409: removal already in progress
    }
  }

  async logs(id: string, opts: LogOptions): Promise<Readable> {
    const c = this.docker.getContainer(id);
    const info = await c.inspect();
    const base = {
      stdout: true, stderr: true, timestamps: !!opts.timestamps,
      tail: opts.tailLines !== undefined ? opts.tailLines : ('all' as unknown as number),
      since: opts.sinceSeconds ? Math.floor(Date.now() / 1000) - opts.sinceSeconds : 0,
    };
    const out = new PassThrough();
    if (opts.follow) {
      const raw = (await c.logs({ ...base, follow: true })) as unknown as Readable;
      if (info.Config.Tty) raw.pipe(out);
      else {
        this.docker.modem.demuxStream(raw, out, out);
        raw.on('end', () => out.end());
      }
      raw.on('error', (e) => out.destroy(e));
      out.on('close', () => (raw as Readable & { destroy(): void }).destroy());
    } else {
      const buf = (await c.logs({ ...base, follow: false })) as unknown as Buffer;
      out.end(info.Config.Tty ? buf : demuxBuffer(buf));
    }
    return out;
  }

  async exec(id: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const ex = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const collect = (into: Buffer[]) => new PassThrough().on('data', (d: Buffer) => into.push(d));
    this.docker.modem.demuxStream(stream, collect(stdout), collect(stderr));
    const ended = new Promise<boolean>((resolve) => {
      stream.on('end', () => resolve(false));
      stream.on('close', () => resolve(false));
      stream.on('error', () => resolve(false));
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([ended, new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); })]);
    clearTimeout(timer);
    if (timedOut) {
      stream.destroy();
      return { exitCode: -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), timedOut: true };
    }
    const info = await ex.inspect();
    return { exitCode: info.ExitCode ?? -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), timedOut: false };
  }

  async execStream(id: string, cmd: string[], opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean; size?: TerminalSize }): Promise<ExecSession> {
    const size = opts.tty && opts.size?.width && opts.size.height ? opts.size : undefined;
    // ConsoleSize (Engine API 1.42+) sizes the terminal before the process
    // starts; older engines ignore the field, and there only a resize right at
    // start can win the race against a command that reads its size at once.
    const consoleSize: { ConsoleSize?: [number, number] } = size ? { ConsoleSize: [size.height, size.width] } : {};
    const ex = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdin: opts.stdin, AttachStdout: opts.stdout, AttachStderr: opts.stderr, Tty: opts.tty, ...consoleSize });
    const starting = ex.start({ hijack: true, stdin: opts.stdin, Tty: opts.tty, ...consoleSize } as Docker.ExecStartOptions);
    // The engine holds an exec resize until the process has started, so
    // sending it alongside start applies it as early as the engine allows;
    // engines that refuse a resize before start get it again once started.
    const early = size ? ex.resize({ h: size.height, w: size.width }).then(() => true, () => false) : undefined;
    const stream = await starting;
    if (early && size) void early.then((ok) => ok || ex.resize({ h: size.height, w: size.width }).catch(() => {}));
    const session = this.session(stream, opts, {
      exitCode: () => ex.inspect().then((i) => i.ExitCode ?? 0),
      resize: (w, h) => ex.resize({ w, h }),
    });
    return withStartFailure(session, ex.id, () => ex.inspect().then((i) => (i.Running ? -1 : i.Pid)));
  }

  async attach(id: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<ExecSession> {
    const c = this.docker.getContainer(id);
    const stream = (await c.attach({ stream: true, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, hijack: true, logs: false })) as unknown as Duplex;
    const session = this.session(stream, opts, {
      // Detaching from a container that keeps running is a success.
      exitCode: () => c.inspect().then((i) => (i.State.Running ? 0 : i.State.ExitCode ?? 0)),
      resize: (w, h) => c.resize({ w, h }),
    });
    return { ...session, close: () => stream.destroy() };
  }

  /** A hijacked exec or attach stream as an ExecSession: a TTY stream is raw, otherwise Docker multiplexes stdout and stderr. */
  private session(
    stream: Duplex,
    opts: { stdin: boolean; tty: boolean },
    o: { exitCode(): Promise<number>; resize(w: number, h: number): Promise<unknown> },
  ): ExecSession {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (opts.tty) stream.pipe(stdout);
    else this.docker.modem.demuxStream(stream, stdout, stderr);
    const exitCode = new Promise<number>((resolve) => {
      let ended = false;
      const done = () => {
        if (ended) return;
        ended = true;
        stdout.end();
        stderr.end();
        o.exitCode().then(resolve, () => resolve(-1));
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
    return {
      stdout,
      stderr: opts.tty ? undefined : stderr,
      stdin: opts.stdin ? stream : undefined,
      resize: async (cols, rows) => { await o.resize(cols, rows).catch(() => {}); },
      exitCode,
    };
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    try {
      const s = (await this.docker.getContainer(id).stats({ stream: false })) as any;
      const usage = s.memory_stats?.usage ?? 0;
      // cgroup v2 reports inactive_file, v1 total_inactive_file: working set excludes them, as cAdvisor does.
      const inactive = s.memory_stats?.stats?.inactive_file ?? s.memory_stats?.stats?.total_inactive_file ?? 0;
      const total = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
      const pre = s.precpu_stats?.cpu_usage?.total_usage ?? 0;
      const dt = (Date.parse(s.read) - Date.parse(s.preread)) / 1000;
      return {
        cpuUsageNanos: total,
        usageNanoCores: pre && dt > 0 ? Math.max(0, ((total - pre) / dt)) : undefined,
        timestamp: s.read ?? new Date().toISOString(),
        memoryUsageBytes: usage,
        memoryWorkingSetBytes: Math.max(0, usage - inactive),
      };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  watch(labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void, actions?: string[]): () => void {
    let stopped = false;
    let current: Readable | undefined;
    let retry: NodeJS.Timeout | undefined;
    const connect = () => {
      if (stopped) return;
      // The engine filters by action itself: events nobody acts on are neither encoded nor parsed.
      this.docker.getEvents({ filters: { type: ['container'], label: labelFilter(labels), ...(actions ? { event: actions } : {}) } }).then((s) => {
        const stream = s as unknown as Readable;
        current = stream;
        let buf = '';
        stream.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            try {
              const ev = JSON.parse(line);
              onEvent({ id: ev.id ?? ev.Actor?.ID, action: String(ev.Action ?? ev.status ?? ''), labels: ev.Actor?.Attributes ?? {} });
            } catch { /* a partial or foreign line */ }
          }
        });
        const again = () => { if (!stopped) retry = setTimeout(connect, 1000); };
        stream.on('end', again);
        stream.on('error', again);
      }, () => { if (!stopped) retry = setTimeout(connect, 1000); });
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      current?.destroy();
    };
  }
}

/** Docker's multiplexed log format: 8-byte headers (stream, 0, 0, 0, size BE32) before each frame. */
export function demuxBuffer(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const size = buf.readUInt32BE(off + 4);
    parts.push(buf.subarray(off + 8, off + 8 + size));
    off += 8 + size;
  }
  return Buffer.concat(parts);
}
