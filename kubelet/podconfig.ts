// Turning a pod's spec into runtime configuration: environment (values,
// fieldRef, configMapKeyRef, secretKeyRef, envFrom, $(VAR) expansion), the
// mounts of the volumes volumes.ts lays out, resource limits, labels and
// container names as dockershim chose them.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseQuantity } from '../api/quantity.js';
import type { ConfigMap, Container, EnvVar, Pod, Secret, Service } from '../api/types.js';
import { L, SANDBOX_NAME, type ContainerConfig, type Mount, type PortMapping } from './runtime/interface.js';
import { ConfigError, isReadOnlyVolume, type ObjectSource } from './volumes.js';

export { ConfigError, podDir } from './volumes.js';

/** Env sources the kubelet reads beyond api/types' EnvVar and envFrom: Secrets, as ConfigMaps. */
type KeyRef = { name: string; key: string; optional?: boolean };
type EnvVarIn = EnvVar & { valueFrom?: EnvVar['valueFrom'] & { secretKeyRef?: KeyRef } };
type EnvFromIn = NonNullable<Container['envFrom']>[number] & { secretRef?: { name: string; optional?: boolean } };

export function podLabels(pod: Pod, node: string, container: string, type: 'podsandbox' | 'container'): Record<string, string> {
  return {
    [L.podName]: pod.metadata.name!,
    [L.podNamespace]: pod.metadata.namespace ?? 'default',
    [L.podUid]: pod.metadata.uid!,
    [L.containerName]: container,
    [L.type]: type,
    [L.node]: node,
    [L.gracePeriod]: String(pod.spec.terminationGracePeriodSeconds ?? 30),
  };
}

/** dockershim's names: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>. */
export function containerName(pod: Pod, container: string, attempt: number): string {
  return `k8s_${container}_${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid}_${attempt}`;
}

export function sandboxName(pod: Pod, attempt: number): string {
  return containerName(pod, SANDBOX_NAME, attempt);
}

/** The pod's hostPorts, as kube's generatePodSandboxConfig collects them for the sandbox. */
export function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) if (p.hostPort) out.push({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol ?? 'TCP', hostIP: p.hostIP });
  }
  return out;
}

/** Changes to these fields need a new container (the API server only lets image change). */
export function containerHash(c: Container): string {
  const relevant = { image: c.image, command: c.command, args: c.args, env: c.env, envFrom: c.envFrom, workingDir: c.workingDir, ports: c.ports, volumeMounts: c.volumeMounts, resources: c.resources?.limits, securityContext: c.securityContext };
  return crypto.createHash('sha256').update(JSON.stringify(relevant)).digest('hex').slice(0, 8);
}

/** Kubernetes' $(VAR) expansion: defined names are replaced, $$ escapes, anything else stays as written. */
export function expand(s: string, vars: Map<string, string>): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '$') {
      out += '$';
      i++;
    } else if (s[i] === '$' && s[i + 1] === '(') {
      const end = s.indexOf(')', i + 2);
      if (end < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, end);
      out += vars.has(name) ? vars.get(name)! : s.slice(i, end + 1);
      i = end;
    } else out += s[i];
  }
  return out;
}

function fieldValue(pod: Pod, fieldPath: string, podIP: string | undefined, hostIP: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name': return pod.metadata.name!;
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    case 'spec.nodeName': return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec.serviceAccountName ?? '';
    case 'status.podIP': case 'status.podIPs': return podIP ?? '';
    case 'status.hostIP': case 'status.hostIPs': return hostIP;
    default: throw new ConfigError('CreateContainerConfigError', `unsupported fieldPath: ${fieldPath}`);
  }
}

/** The container's environment names the pod's IP, which exists only once the sandbox runs. */
export function needsPodIP(c: Container): boolean {
  return (c.env ?? []).some((e) => e.valueFrom?.fieldRef && /^status\.podIPs?$/.test(e.valueFrom.fieldRef.fieldPath));
}

const envName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const envPrefix = (name: string) => name.toUpperCase().replace(/-/g, '_');

/**
 * The service-link variables (pkg/kubelet/envvars FromServices): {SVC}_SERVICE_HOST/PORT,
 * named ports, and the Docker-link style {SVC}_PORT_*, for the master service
 * "kubernetes" in default always and for the pod's namespace's services unless
 * enableServiceLinks is false. Headless services (ClusterIP None) have none.
 */
export function serviceEnv(services: readonly Service[], namespace: string, enableServiceLinks: boolean): Map<string, string> {
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    const ip = svc.spec.clusterIP;
    if (!ip || ip === 'None' || !svc.spec.ports?.length) continue;
    const name = svc.metadata.name!;
    if (svc.metadata.namespace === 'default' && name === 'kubernetes') {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (svc.metadata.namespace === namespace && enableServiceLinks) {
      chosen.set(name, svc);
    }
  }
  const out = new Map<string, string>();
  for (const [name, svc] of [...chosen].sort(([a], [b]) => a.localeCompare(b))) {
    const prefix = envPrefix(name);
    const ip = svc.spec.clusterIP!;
    const ports = svc.spec.ports!;
    out.set(`${prefix}_SERVICE_HOST`, ip);
    out.set(`${prefix}_SERVICE_PORT`, String(ports[0].port));
    for (const sp of ports) if (sp.name) out.set(`${prefix}_SERVICE_PORT_${envPrefix(sp.name)}`, String(sp.port));
    const host = ip.includes(':') ? `[${ip}]` : ip;
    ports.forEach((sp, i) => {
      const proto = sp.protocol ?? 'TCP';
      const url = `${proto.toLowerCase()}://${host}:${sp.port}`;
      if (i === 0) out.set(`${prefix}_PORT`, url);
      const pp = `${prefix}_PORT_${sp.port}_${proto.toUpperCase()}`;
      out.set(pp, url);
      out.set(`${pp}_PROTO`, proto.toLowerCase());
      out.set(`${pp}_PORT`, String(sp.port));
      out.set(`${pp}_ADDR`, ip);
    });
  }
  return out;
}

export async function buildEnv(pod: Pod, c: Container, podIP: string | undefined, hostIP: string, sources: ObjectSource, services = new Map<string, string>()): Promise<Map<string, string>> {
  const ns = pod.metadata.namespace ?? 'default';
  const vars = new Map<string, string>();
  // $(VAR) in values sees the container's own variables first, then the service links.
  const scope = { has: (k: string) => vars.has(k) || services.has(k), get: (k: string) => (vars.has(k) ? vars.get(k) : services.get(k)) } as Map<string, string>;
  // Each object is read once per container, as kube's makeEnvironmentVariables keeps them.
  const cms = new Map<string, ConfigMap | undefined>();
  const secrets = new Map<string, Secret | undefined>();
  const cm = async (name: string) => {
    if (!cms.has(name)) cms.set(name, await sources.configMap(ns, name));
    return cms.get(name);
  };
  const secret = async (name: string) => {
    if (!secrets.has(name)) secrets.set(name, await sources.secret(ns, name));
    return secrets.get(name);
  };
  const fail = (msg: string) => new ConfigError('CreateContainerConfigError', msg);
  for (const from of (c.envFrom ?? []) as EnvFromIn[]) {
    let data: Record<string, string>;
    if (from.configMapRef) {
      const m = await cm(from.configMapRef.name);
      if (!m) {
        if (from.configMapRef.optional) continue;
        throw fail(`configmap "${from.configMapRef.name}" not found`);
      }
      data = m.data ?? {};
    } else if (from.secretRef) {
      const s = await secret(from.secretRef.name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw fail(`secret "${from.secretRef.name}" not found`);
      }
      data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    } else continue;
    for (const [k, v] of Object.entries(data)) {
      const name = (from.prefix ?? '') + k;
      if (envName.test(name)) vars.set(name, v);
    }
  }
  for (const e of (c.env ?? []) as EnvVarIn[]) {
    if (e.valueFrom?.fieldRef) vars.set(e.name, fieldValue(pod, e.valueFrom.fieldRef.fieldPath, podIP, hostIP));
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const m = await cm(ref.name);
      if (!m) {
        if (ref.optional) continue;
        throw fail(`configmap "${ref.name}" not found`);
      }
      const v = m.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw fail(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
      }
      vars.set(e.name, v);
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const s = await secret(ref.name);
      if (!s) {
        if (ref.optional) continue;
        throw fail(`secret "${ref.name}" not found`);
      }
      const v = s.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw fail(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
      }
      vars.set(e.name, Buffer.from(v, 'base64').toString('utf8'));
    } else if (e.valueFrom?.resourceFieldRef) {
      vars.set(e.name, resourceField(c, e.valueFrom.resourceFieldRef.resource));
    } else {
      // Values may refer to variables defined before them.
      vars.set(e.name, expand(e.value ?? '', scope));
    }
  }
  // Service links come after the declared variables, which win on a clash.
  for (const [k, v] of services) if (!vars.has(k)) vars.set(k, v);
  return vars;
}

function resourceField(c: Container, resource: string): string {
  const [kind, name] = resource.split('.');
  const q = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[name];
  if (!q) return name === 'cpu' ? String(0) : '0';
  const n = parseQuantity(q);
  // As the downward API: cpu rounded up to whole cores with the default divisor 1, memory in bytes.
  return name === 'cpu' ? String(Math.ceil(n)) : String(Math.ceil(n));
}

export function mountsFor(pod: Pod, c: Container, volumes: Map<string, string>): Mount[] {
  const mounts: Mount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const host = volumes.get(m.name);
    if (!host) throw new ConfigError('CreateContainerConfigError', `unable to find volume "${m.name}" for container "${c.name}" of pod "${pod.metadata.name}"`);
    let hostPath: string | undefined = host;
    if (m.subPath) {
      hostPath = subPathOf(host, m.subPath);
      if (!hostPath) throw new ConfigError('CreateContainerConfigError', `failed to prepare subPath for volumeMount "${m.name}" of container "${c.name}"`);
    }
    const vol = pod.spec.volumes?.find((v) => v.name === m.name);
    mounts.push({ hostPath, containerPath: m.mountPath, readOnly: m.readOnly || isReadOnlyVolume(vol) });
  }
  return mounts;
}

/**
 * The host path a subPath mount binds, resolved here: a container can turn a
 * path inside its volume into a symlink to anywhere on the host (kube's
 * CVE-2017-1002101), so the resolved path must still be inside the volume.
 * Undefined when it is not.
 */
function subPathOf(volume: string, subPath: string): string | undefined {
  const root = fs.realpathSync(volume);
  const inside = (p: string) => p === root || p.startsWith(root + path.sep);
  const joined = path.join(volume, subPath);
  if (joined !== volume && !joined.startsWith(volume + path.sep)) return undefined;
  if (!fs.existsSync(joined)) {
    // mkdir would follow a symlink on the way (or a dangling one at the end): the deepest existing part must resolve inside.
    if (fs.lstatSync(joined, { throwIfNoEntry: false })) return undefined;
    let existing = path.dirname(joined);
    while (!fs.lstatSync(existing, { throwIfNoEntry: false })) existing = path.dirname(existing);
    if (!fs.existsSync(existing) || !inside(fs.realpathSync(existing))) return undefined;
    fs.mkdirSync(joined, { recursive: true });
  }
  const real = fs.realpathSync(joined);
  return inside(real) ? real : undefined;
}

export interface BuildOptions {
  node: string;
  hostIP: string;
  podIP?: string;
  sandboxId: string;
  restartCount: number;
  volumes: Map<string, string>;
  sources: ObjectSource;
  /** Service-link variables for the pod (serviceEnv). */
  services?: Map<string, string>;
}

export async function buildContainerConfig(pod: Pod, c: Container, o: BuildOptions): Promise<ContainerConfig> {
  const vars = await buildEnv(pod, c, o.podIP, o.hostIP, o.sources, o.services);
  const labels = podLabels(pod, o.node, c.name, 'container');
  // Which sandbox the container was made for: init containers run again in a new one.
  labels[L.sandboxId] = o.sandboxId;
  labels[L.restartCount] = String(o.restartCount);
  labels[L.hash] = containerHash(c);
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const cfg: ContainerConfig = {
    name: containerName(pod, c.name, o.restartCount),
    image: c.image!,
    entrypoint: c.command?.map((s) => expand(s, vars)),
    // Args without command replace the image's Cmd and keep its Entrypoint, as in Kubernetes.
    cmd: c.args?.map((s) => expand(s, vars)) ?? (c.command ? [] : undefined),
    workingDir: c.workingDir,
    env: [...vars].map(([k, v]) => `${k}=${v}`),
    mounts: mountsFor(pod, c, o.volumes),
    labels,
    sandboxId: o.sandboxId,
    tty: c.tty,
    stdin: c.stdin,
    stdinOnce: (c as Container & { stdinOnce?: boolean }).stdinOnce,
  };
  // The pause container is the pod's PID 1 when the pod shares one process namespace, as with kube's CRI runtimes.
  if (pod.spec.hostPID) cfg.pidMode = 'host';
  else if (pod.spec.shareProcessNamespace) cfg.pidMode = `container:${o.sandboxId}`;
  if (pod.spec.hostIPC) cfg.ipcMode = 'host';
  const sc = c.securityContext;
  if (sc?.runAsUser !== undefined) cfg.user = sc.runAsGroup !== undefined ? `${sc.runAsUser}:${sc.runAsGroup}` : String(sc.runAsUser);
  if (limits.memory) cfg.memoryLimitBytes = Math.round(parseQuantity(limits.memory));
  if (limits.cpu) cfg.nanoCpus = Math.round(parseQuantity(limits.cpu) * 1e9);
  // cgroup shares from the CPU request, as the kubelet computes them (minimum 2).
  const reqCpu = requests.cpu ?? limits.cpu;
  if (reqCpu) cfg.cpuShares = Math.max(2, Math.round(parseQuantity(reqCpu) * 1024));
  return cfg;
}
