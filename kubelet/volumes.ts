// The pod's volumes on disk under --root-dir, as kube's volume plugins lay
// them out (pods/<uid>/volumes/kubernetes.io~<plugin>/<name>): emptyDir,
// hostPath, and the API-backed ones written atomically (atomicwriter.ts):
// configMap, secret, downwardAPI and projected (kube's projected plugin:
// serviceAccountToken from the TokenRequest API through the token manager,
// configMap, secret and downwardAPI sources in one directory). Volumes are set
// up again on every pod sync, which is how an updated ConfigMap or Secret and a
// refreshed token reach a running container. Secret contents and tokens are
// written to their files and nowhere else: errors name objects and keys only.

import fs from 'node:fs';
import path from 'node:path';
import { parseQuantity } from '../api/quantity.js';
import type { ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, KubeObject, Pod, ProjectedVolumeSource, Secret, Volume } from '../api/types.js';
import { writeAtomic, type FileProjection } from './atomicwriter.js';
import type { TokenManager } from './tokens.js';

/** A problem that keeps a container from being created: reported as a waiting reason. */
export class ConfigError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** Where the kubelet reads what volumes and env refer to: undefined for an object that does not exist. */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** A claim the pod mounts and the volume bound to it (the Node authorizer lets a node read just these). */
  persistentVolumeClaim?(namespace: string, name: string): Promise<KubeObject | undefined>;
  persistentVolume?(name: string): Promise<KubeObject | undefined>;
}

export interface VolumeContext {
  rootDir: string;
  sources: ObjectSource;
  tokens: TokenManager;
}

/** The kubelet's default for every defaultMode (kube's API defaulting: 0644). */
const DEFAULT_MODE = 0o644;

export function podDir(rootDir: string, uid: string): string {
  return path.join(rootDir, 'pods', uid);
}

/** An aggregate as kube's utilerrors prints it: one error alone, several in brackets. */
function aggregate(errs: string[]): string {
  const uniq = [...new Set(errs)];
  return uniq.length === 1 ? uniq[0] : `[${uniq.join(', ')}]`;
}

// ---- payloads (kube's MakePayload of each plugin) ----

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const b64 = (s: string) => Buffer.from(s, 'base64');

/** configmap.MakePayload: all keys (data and binaryData), or the listed items; a missing key is an error unless optional. */
export function configMapPayload(cm: ConfigMap, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean): Map<string, FileProjection> {
  const out = new Map<string, FileProjection>();
  const value = (k: string): Buffer | undefined => (cm.data && k in cm.data ? utf8(cm.data[k]) : cm.binaryData && k in cm.binaryData ? b64(cm.binaryData[k]) : undefined);
  if (!items?.length) {
    for (const k of Object.keys(cm.data ?? {})) out.set(k, { data: value(k)!, mode: defaultMode });
    for (const k of Object.keys(cm.binaryData ?? {})) out.set(k, { data: b64(cm.binaryData![k]), mode: defaultMode });
    return out;
  }
  for (const it of items) {
    const v = value(it.key);
    if (v === undefined) {
      if (optional) continue;
      throw new Error(`configmap references non-existent config key: ${it.key}`);
    }
    out.set(it.path, { data: v, mode: it.mode ?? defaultMode });
  }
  return out;
}

/** secret.MakePayload: the same over the Secret's (base64) data. */
export function secretPayload(s: Secret, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean): Map<string, FileProjection> {
  const out = new Map<string, FileProjection>();
  const data = s.data ?? {};
  if (!items?.length) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: b64(v), mode: defaultMode });
    return out;
  }
  for (const it of items) {
    if (!(it.key in data)) {
      if (optional) continue;
      throw new Error(`references non-existent secret key: ${it.key}`);
    }
    out.set(it.path, { data: b64(data[it.key]), mode: it.mode ?? defaultMode });
  }
  return out;
}

/** fieldpath.FormatMap: sorted key="value" lines. */
function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${JSON.stringify(m![k])}`).join('\n');
}

/** fieldpath.ExtractFieldPathAsString: the fields a downwardAPI volume may project. */
export function downwardFieldValue(pod: Pod, fieldPath: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.annotations': return formatMap(pod.metadata.annotations);
    case 'metadata.labels': return formatMap(pod.metadata.labels);
    case 'metadata.name': return pod.metadata.name ?? '';
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    default: throw new Error(`unsupported fieldPath: ${fieldPath}`);
  }
}

/** A container's request or limit in units of the divisor, rounded up (resource.ExtractContainerResourceValue). */
export function resourceValue(c: Container | undefined, resource: string, divisor = '1'): string {
  const [kind, name] = resource.split('.');
  const q = (kind === 'limits' ? c?.resources?.limits : c?.resources?.requests)?.[name];
  if (!q) return '0';
  const d = parseQuantity(divisor) || 1;
  return String(Math.ceil(parseQuantity(q) / d));
}

/** downwardapi.CollectData; errors are collected rather than thrown, as kube aggregates them. */
function downwardPayload(pod: Pod, items: DownwardAPIVolumeFile[] | undefined, defaultMode: number, errs: string[]): Map<string, FileProjection> {
  const out = new Map<string, FileProjection>();
  for (const it of items ?? []) {
    const mode = it.mode ?? defaultMode;
    try {
      if (it.fieldRef) out.set(it.path, { data: utf8(downwardFieldValue(pod, it.fieldRef.fieldPath)), mode });
      else if (it.resourceFieldRef) {
        const r = it.resourceFieldRef;
        const c = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((x) => x.name === r.containerName);
        out.set(it.path, { data: utf8(resourceValue(c, r.resource, r.divisor)), mode });
      }
    } catch (e) {
      errs.push((e as Error).message);
    }
  }
  return out;
}

async function getOrEmpty<T>(get: () => Promise<T | undefined>, kind: 'configmap' | 'secret', name: string, optional: boolean): Promise<T | undefined> {
  const o = await get();
  if (o) return o;
  if (optional) return undefined;
  throw new Error(`${kind} "${name}" not found`);
}

/** projected.collectData: every source into one payload, errors aggregated. */
async function projectedPayload(pod: Pod, src: ProjectedVolumeSource, ctx: VolumeContext): Promise<Map<string, FileProjection>> {
  const ns = pod.metadata.namespace ?? 'default';
  const defaultMode = src.defaultMode ?? DEFAULT_MODE;
  const out = new Map<string, FileProjection>();
  const errs: string[] = [];
  const merge = (m: Map<string, FileProjection>) => { for (const [k, v] of m) out.set(k, v); };
  for (const s of src.sources ?? []) {
    try {
      if (s.configMap) {
        const optional = !!s.configMap.optional;
        const cm = await getOrEmpty(() => ctx.sources.configMap(ns, s.configMap!.name), 'configmap', s.configMap.name, optional);
        merge(configMapPayload(cm ?? { metadata: {} } as ConfigMap, s.configMap.items, defaultMode, optional));
      } else if (s.secret) {
        const optional = !!s.secret.optional;
        const sec = await getOrEmpty(() => ctx.sources.secret(ns, s.secret!.name), 'secret', s.secret.name, optional);
        merge(secretPayload(sec ?? { metadata: {} } as Secret, s.secret.items, defaultMode, optional));
      } else if (s.downwardAPI) {
        merge(downwardPayload(pod, s.downwardAPI.items, defaultMode, errs));
      } else if (s.serviceAccountToken) {
        const tp = s.serviceAccountToken;
        const tr = await ctx.tokens.get(ns, pod.spec.serviceAccountName || 'default', {
          audiences: tp.audience ? [tp.audience] : undefined,
          expirationSeconds: tp.expirationSeconds ?? 3600,
          boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name!, uid: pod.metadata.uid! },
        });
        out.set(tp.path, { data: utf8(tr.status!.token), mode: defaultMode });
      }
    } catch (e) {
      errs.push((e as Error).message);
    }
  }
  if (errs.length) throw new Error(aggregate(errs));
  return out;
}

/** The payload of an API-backed volume, or undefined for the other kinds. */
async function payloadOf(pod: Pod, v: Volume, ctx: VolumeContext): Promise<{ plugin: string; payload: Map<string, FileProjection> } | undefined> {
  const ns = pod.metadata.namespace ?? 'default';
  if (v.configMap) {
    const optional = !!v.configMap.optional;
    const cm = await getOrEmpty(() => ctx.sources.configMap(ns, v.configMap!.name), 'configmap', v.configMap.name, optional);
    return { plugin: 'configmap', payload: configMapPayload(cm ?? { metadata: {} } as ConfigMap, v.configMap.items, v.configMap.defaultMode ?? DEFAULT_MODE, optional) };
  }
  if (v.secret) {
    const optional = !!v.secret.optional;
    const name = v.secret.secretName ?? '';
    const s = await getOrEmpty(() => ctx.sources.secret(ns, name), 'secret', name, optional);
    return { plugin: 'secret', payload: secretPayload(s ?? { metadata: {} } as Secret, v.secret.items, v.secret.defaultMode ?? DEFAULT_MODE, optional) };
  }
  if (v.downwardAPI) {
    const errs: string[] = [];
    const payload = downwardPayload(pod, v.downwardAPI.items, v.downwardAPI.defaultMode ?? DEFAULT_MODE, errs);
    if (errs.length) throw new Error(aggregate(errs));
    return { plugin: 'downward-api', payload };
  }
  if (v.projected) return { plugin: 'projected', payload: await projectedPayload(pod, v.projected, ctx) };
  return undefined;
}

/** Volumes whose contents come from the API, and claims mounted readOnly: read-only in every container, whatever the mount says, as in Kubernetes. */
export function isReadOnlyVolume(v: Volume | undefined): boolean {
  return !!(v?.configMap || v?.secret || v?.downwardAPI || v?.projected || (v as { persistentVolumeClaim?: { readOnly?: boolean } } | undefined)?.persistentVolumeClaim?.readOnly);
}

/** hostPath's type checks (and the *OrCreate kinds' creation); returns the problem, if any. */
function setUpHostPath(p: string, t: string): string | undefined {
  if (t === 'DirectoryOrCreate') fs.mkdirSync(p, { recursive: true, mode: 0o755 });
  else if (t === 'FileOrCreate' && !fs.existsSync(p)) {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, '', { mode: 0o644 });
  } else if (t === 'Directory' && !fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) {
    return `hostPath type check failed: ${p} is not a directory`;
  } else if (t === 'File' && !fs.statSync(p, { throwIfNoEntry: false })?.isFile()) {
    return `hostPath type check failed: ${p} is not a file`;
  }
  return undefined;
}

/**
 * A persistentVolumeClaim volume: claim -> bound volume -> the path on this
 * node (hostPath, made when its type asks, as for the local-path
 * provisioner's volumes; or local, which must exist). Until the claim is
 * bound the pod waits in ContainerCreating, with kube's words for why.
 */
async function claimPath(pod: Pod, claimName: string, sources: ObjectSource): Promise<string> {
  const key = `${pod.metadata.namespace}/${claimName}`;
  const claim = await sources.persistentVolumeClaim?.(pod.metadata.namespace!, claimName);
  if (!claim) throw new Error(`error processing PVC ${key}: failed to fetch PVC from API server: persistentvolumeclaims "${claimName}" not found`);
  if (claim.metadata.deletionTimestamp) throw new Error(`error processing PVC ${key}: can't start pod because PVC is being deleted`);
  const pvName = claim.spec?.volumeName;
  if (!pvName || claim.status?.phase !== 'Bound') throw new Error(`error processing PVC ${key}: PVC is not bound`);
  const pv = await sources.persistentVolume?.(pvName);
  if (!pv) throw new Error(`error processing PVC ${key}: failed to fetch PV ${pvName} from API server: persistentvolumes "${pvName}" not found`);
  if (pv.spec?.claimRef?.uid !== claim.metadata.uid) {
    throw new Error(`error processing PVC ${key}: found PV object ${pvName} but it has a ClaimRef that is bound to a different claim`);
  }
  if (pv.spec?.hostPath?.path) {
    const problem = setUpHostPath(pv.spec.hostPath.path, pv.spec.hostPath.type ?? '');
    if (problem) throw new Error(problem);
    return pv.spec.hostPath.path;
  }
  if (pv.spec?.local?.path) {
    if (!fs.statSync(pv.spec.local.path, { throwIfNoEntry: false })) throw new Error(`path "${pv.spec.local.path}" does not exist`);
    return pv.spec.local.path;
  }
  throw new Error(`volume ${pvName}: this node mounts only hostPath and local persistent volumes`);
}

/**
 * Lay the pod's volumes out on disk; returns the host path of each by name.
 * A volume that cannot be set up is a ConfigError with kube's FailedMount
 * message; the pod then waits in ContainerCreating.
 */
export async function prepareVolumes(pod: Pod, ctx: VolumeContext): Promise<Map<string, string>> {
  const dir = podDir(ctx.rootDir, pod.metadata.uid!);
  // Only root walks to the pods' volumes on the host; containers reach theirs by their bind mounts.
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o750 });
  const out = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const failed = (why: string) => new ConfigError('ContainerCreating', `MountVolume.SetUp failed for volume "${v.name}" : ${why}`);
    if (v.emptyDir) {
      const p = path.join(dir, 'volumes', 'kubernetes.io~empty-dir', v.name);
      fs.mkdirSync(p, { recursive: true });
      fs.chmodSync(p, 0o777);
      out.set(v.name, p);
      continue;
    }
    if (v.hostPath) {
      const problem = setUpHostPath(v.hostPath.path, v.hostPath.type ?? '');
      if (problem) throw failed(problem);
      out.set(v.name, v.hostPath.path);
      continue;
    }
    const pvc = (v as { persistentVolumeClaim?: { claimName?: string } }).persistentVolumeClaim;
    if (pvc?.claimName) {
      try {
        out.set(v.name, await claimPath(pod, pvc.claimName, ctx.sources));
      } catch (e) {
        // kube's volume manager words a claim it cannot use this way; the pod waits and is retried.
        throw new ConfigError('ContainerCreating', `Unable to attach or mount volumes: unmounted volumes=[${v.name}]: ${(e as Error).message}`);
      }
      continue;
    }
    let made: Awaited<ReturnType<typeof payloadOf>>;
    try {
      made = await payloadOf(pod, v, ctx);
    } catch (e) {
      // Missing objects arrive here as kube words them; any other API error fails the mount as well.
      throw failed((e as Error).message);
    }
    if (!made) continue;
    const p = path.join(dir, 'volumes', `kubernetes.io~${made.plugin}`, v.name);
    try {
      writeAtomic(p, made.payload);
    } catch (e) {
      throw failed((e as Error).message);
    }
    out.set(v.name, p);
  }
  return out;
}
