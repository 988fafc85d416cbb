// The kubelet's view of a container runtime, shaped after the CRI: pod
// sandboxes (the container that holds a pod's network namespace) and app
// containers, found again by their labels after a restart. Implementations:
// docker.ts (the Docker Engine through dockerode) and fake.ts (records calls,
// for unit tests).

import type { Readable, Writable } from 'node:stream';

/** Labels every container carries, as dockershim named them, so a restarted kubelet can adopt them. */
export const L = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  /** "podsandbox" or "container", as dockershim's io.kubernetes.docker.type. */
  type: 'io.kubernetes.docker.type',
  restartCount: 'io.kubernetes.container.restartCount',
  /** Hash of the container's spec: a changed spec means a new container. */
  hash: 'io.kubernetes.container.hash',
  gracePeriod: 'io.kubernetes.pod.terminationGracePeriod',
  /** The sandbox a container was created in. */
  sandboxId: 'io.kubernetes.sandbox.id',
  node: 'skiff.node',
} as const;

export const SANDBOX_NAME = 'POD';

export type ContainerStateName = 'created' | 'running' | 'exited' | 'unknown';

export interface RuntimeContainer {
  id: string;
  labels: Record<string, string>;
  state: ContainerStateName;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  /** The runtime's error when a container failed to start. */
  error?: string;
  /** The image reference the container was created from, and the image's ID. */
  image: string;
  imageID: string;
  /** Only sandboxes have one. */
  ip?: string;
  pid?: number;
}

/**
 * A sandbox that runs. network, when present, settles once the last of the
 * pod's network set-up that its containers do not need to start (hairpin
 * mode) is done; it never rejects.
 */
export interface StartedSandbox extends RuntimeContainer {
  network?: Promise<void>;
}

export interface Mount { hostPath: string; containerPath: string; readOnly?: boolean }

export interface SandboxConfig {
  name: string;
  image: string;
  hostname: string;
  labels: Record<string, string>;
  /** hostNetwork: the sandbox (and so every container of the pod) in the node's network namespace; the node's name is its hostname. */
  hostNetwork?: boolean;
  /** hostPorts of the pod's containers (CRI's PodSandboxConfig.port_mappings), opened on the node as kube's portmap CNI plugin does. */
  portMappings?: PortMapping[];
}

export interface PortMapping { containerPort: number; hostPort: number; protocol: 'TCP' | 'UDP' | 'SCTP'; hostIP?: string }

export interface ContainerConfig {
  name: string;
  image: string;
  /** Entrypoint override (kube's command) and Cmd (kube's args); undefined keeps the image's. */
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  env: string[];
  mounts: Mount[];
  labels: Record<string, string>;
  /** The sandbox whose namespaces the container joins. */
  sandboxId: string;
  user?: string;
  memoryLimitBytes?: number;
  nanoCpus?: number;
  cpuShares?: number;
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  /** Whose processes the container sees: "host" (hostPID), "container:<id>" (shareProcessNamespace, an ephemeral container's target); unset, its own. */
  pidMode?: string;
  /** "host" for hostIPC; unset, the sandbox's. */
  ipcMode?: string;
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  sinceSeconds?: number;
}

export interface ExecResult { exitCode: number; stdout: string; stderr: string; timedOut: boolean }

/** A terminal's size as kubectl sends it on the resize channel. */
export interface TerminalSize {
  width: number;
  height: number;
}

export interface ExecSession {
  /** Demultiplexed output (one stream when tty). */
  stdout: Readable;
  stderr?: Readable;
  stdin?: Writable;
  resize(cols: number, rows: number): Promise<void>;
  /** Settles with the command's exit code once it ends. */
  exitCode: Promise<number>;
  /** Detach without ending the process (attach only). */
  close?(): void;
}

export interface ContainerStats {
  /** Cumulative CPU time in nanoseconds and the instant sampled. */
  cpuUsageNanos: number;
  /** CPU rate over the runtime's own sampling interval, in nanocores. */
  usageNanoCores?: number;
  timestamp: string;
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
}

export type RuntimeEvent = { id: string; action: string; labels: Record<string, string> };

/** CRI's NetworkReady runtime condition. */
export interface NetworkStatus {
  ready: boolean;
  /** Why not, in the CRI's words (reason and message of the condition). */
  reason?: string;
  message?: string;
}

export interface Runtime {
  /** "docker" and the engine's version. */
  version(): Promise<{ name: string; version: string }>;
  /**
   * CRI's UpdateRuntimeConfig: the node's pod CIDR(s) (comma-separated, as
   * the kubelet passes them), from which the runtime's pod network takes
   * sandbox addresses. A runtime on a network of its own ignores it.
   */
  updatePodCIDR(cidr: string): Promise<void>;
  /** Whether pod sandboxes can be given a network now. */
  networkStatus(): NetworkStatus;
  /** Every container (any state) carrying all the given labels. */
  list(labels: Record<string, string>): Promise<RuntimeContainer[]>;
  /** A cheap listing (no per-container inspect) for the relist that notices state changes. */
  snapshot(labels: Record<string, string>): Promise<{ id: string; labels: Record<string, string>; state: string }[]>;
  inspect(id: string): Promise<RuntimeContainer | undefined>;
  /** The local image's ID, or undefined when it is not present. */
  imageID(image: string): Promise<string | undefined>;
  pull(image: string): Promise<void>;
  /**
   * RunPodSandbox in two steps, so that the pod's containers can be created
   * (they only need the sandbox to exist) while the sandbox starts: create
   * resolves with the sandbox's ID, start with the running sandbox as
   * inspect shows it (its IP). onStarted is called as soon as the sandbox
   * runs, before that inspect: the containers can start then.
   */
  createSandbox(cfg: SandboxConfig): Promise<string>;
  startSandbox(id: string, onStarted?: () => void): Promise<StartedSandbox>;
  createContainer(cfg: ContainerConfig): Promise<string>;
  start(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after timeoutSeconds. */
  stop(id: string, timeoutSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  logs(id: string, opts: LogOptions): Promise<Readable>;
  /** Run a command to completion with a deadline (probes, preStop hooks). */
  exec(id: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
  /** An interactive exec for the kubelet's /exec endpoint. */
  /**
   * size is the client's terminal when it sent one before the exec began: a
   * runtime that can size the new terminal before the process starts should,
   * since a short command (stty size, tput) reads it at once.
   */
  execStream(id: string, cmd: string[], opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean; size?: TerminalSize }): Promise<ExecSession>;
  /** Attach to the container's own stdio (kubectl attach); exitCode settles with the container's when the streams end. */
  attach(id: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<ExecSession>;
  stats(id: string): Promise<ContainerStats | undefined>;
  /** Container lifecycle events (start, die, oom, destroy), only those actions when given, of containers with the given labels; returns a stop function. */
  watch(labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void, actions?: string[]): () => void;
}
