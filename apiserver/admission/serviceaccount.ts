// The ServiceAccount admission plugin (kube's plugin/pkg/admission/serviceaccount):
// every pod runs as a ServiceAccount that exists ("default" unless it names
// one) and, unless the pod or its ServiceAccount opts out, gets the projected
// kube-api-access-<suffix> volume (a bound token, the cluster CA, the
// namespace) mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount
// in each container. Mirror pods (made by a kubelet from a file) are not
// changed and may reference no ServiceAccount or Secret at all.

import crypto from 'node:crypto';
import { errors } from '../../api/errors.js';
import type { Container, KubeObject } from '../../api/types.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../auth/types.js';

export const defaultServiceAccountName = 'default';
export const serviceAccountVolumeName = 'kube-api-access';
export const defaultAPITokenMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
/** serviceaccount.WarnOnlyBoundTokenExpirationSeconds: the kubelet refreshes the token well before. */
export const tokenExpirationSeconds = 3607;
export const mirrorPodAnnotation = 'kubernetes.io/config.mirror';
const rootCAConfigMap = 'kube-root-ca.crt';

export interface ServiceAccountAdmissionOptions {
  /** The ServiceAccount, or undefined when it does not exist (StoreLookup.serviceAccount). */
  getServiceAccount(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** kube's MountServiceAccountToken; on by default. */
  mountServiceAccountToken?: boolean;
  /** Lookups of "default" before giving up: its controller may not have made it yet (kube: 10). */
  defaultAttempts?: number;
  /** Pause between those lookups (kube: 100-200 ms). */
  retryDelayMs?: () => number;
  /** The volume name suffix (names.SimpleNameGenerator), for tests. */
  suffix?: () => string;
}

const suffixChars = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  return [...crypto.randomBytes(5)].map((b) => suffixChars[b % suffixChars.length]).join('');
}

/** TokenVolumeSource, with defaultMode set explicitly as kube does (kubernetes#104464). */
export function tokenVolumeSource(): Record<string, unknown> {
  return {
    sources: [
      { serviceAccountToken: { expirationSeconds: tokenExpirationSeconds, path: 'token' } },
      { configMap: { name: rootCAConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
    defaultMode: 0o644,
  };
}

const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
const objects = <T>(x: unknown): T[] => (Array.isArray(x) ? x.filter(isObject) : []) as T[];

export class ServiceAccountAdmission implements AdmissionPlugin {
  readonly name = 'ServiceAccount';
  private readonly o: Required<Omit<ServiceAccountAdmissionOptions, 'getServiceAccount'>> & Pick<ServiceAccountAdmissionOptions, 'getServiceAccount'>;

  constructor(o: ServiceAccountAdmissionOptions) {
    this.o = {
      getServiceAccount: o.getServiceAccount,
      mountServiceAccountToken: o.mountServiceAccountToken ?? true,
      defaultAttempts: o.defaultAttempts ?? 10,
      retryDelayMs: o.retryDelayMs ?? (() => 100 + Math.floor(Math.random() * 100)),
      suffix: o.suffix ?? randomSuffix,
    };
    if (this.o.defaultAttempts < 1) throw new Error('defaultAttempts must be at least 1');
  }

  /** shouldIgnore: pods only (and their ephemeralcontainers), with an object. */
  private pod(a: AdmissionAttributes): KubeObject | undefined {
    if (a.resource.group !== '' || a.resource.plural !== 'pods') return undefined;
    if (a.subresource !== '' && a.subresource !== 'ephemeralcontainers') return undefined;
    return isObject(a.object) ? a.object : undefined;
  }

  async admit(a: AdmissionAttributes): Promise<void> {
    const pod = this.pod(a);
    if (!pod || a.operation !== 'CREATE') return;
    if (pod.metadata.annotations?.[mirrorPodAnnotation] !== undefined) return this.validate(a);
    if (!isObject(pod.spec)) return;
    const spec = pod.spec;
    // v1's deprecated alias counts when the real field is empty.
    if (!spec.serviceAccountName && typeof spec.serviceAccount === 'string') spec.serviceAccountName = spec.serviceAccount;
    if (!spec.serviceAccountName) spec.serviceAccountName = defaultServiceAccountName;
    const sa = await this.lookup(a, spec.serviceAccountName);
    if (this.o.mountServiceAccountToken && shouldAutomount(sa, pod)) this.mountToken(pod);
    if (!Array.isArray(spec.imagePullSecrets) || !spec.imagePullSecrets.length) {
      const fromSA = objects<{ name?: string }>(sa.imagePullSecrets).map((s) => ({ name: s.name }));
      if (fromSA.length) spec.imagePullSecrets = fromSA;
    }
    return this.validate(a);
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    const pod = this.pod(a);
    if (!pod || a.operation !== 'CREATE') return;
    const spec = isObject(pod.spec) ? pod.spec : {};
    if (pod.metadata.annotations?.[mirrorPodAnnotation] !== undefined) {
      if (spec.serviceAccountName) throw forbidden(a, 'a mirror pod may not reference service accounts');
      if (referencesSecrets(spec)) throw forbidden(a, 'a mirror pod may not reference secrets');
      for (const v of objects<Record<string, any>>(spec.volumes)) {
        if (objects<Record<string, unknown>>(v.projected?.sources).some((s) => s.serviceAccountToken)) {
          throw forbidden(a, 'a mirror pod may not use ServiceAccountToken volume projections');
        }
      }
      return;
    }
    const name = spec.serviceAccountName || (typeof spec.serviceAccount === 'string' ? spec.serviceAccount : '');
    if (!name) throw forbidden(a, `no service account specified for pod ${a.namespace}/${pod.metadata.name ?? ''}`);
    await this.lookup(a, name);
  }

  /** getServiceAccount, retrying "default" a while: the controller creates it just after its namespace. */
  private async lookup(a: AdmissionAttributes, name: string): Promise<KubeObject> {
    const attempts = name === defaultServiceAccountName ? this.o.defaultAttempts : 1;
    const delay = this.o.retryDelayMs();
    for (let i = 0; i < attempts; i++) {
      if (i) await new Promise((r) => setTimeout(r, delay));
      let sa: KubeObject | undefined;
      try {
        sa = await this.o.getServiceAccount(a.namespace, name);
      } catch (e) {
        throw forbidden(a, `error looking up service account ${a.namespace}/${name}: ${(e as Error).message}`);
      }
      if (sa) return sa;
    }
    throw forbidden(a, `error looking up service account ${a.namespace}/${name}: serviceaccount "${name}" not found`);
  }

  private mountToken(pod: KubeObject): void {
    const spec = pod.spec;
    const volumes = objects<{ name?: string }>(spec.volumes);
    // An existing kube-api-access-* volume is reused, not duplicated.
    const existing = volumes.find((v) => typeof v.name === 'string' && v.name.startsWith(`${serviceAccountVolumeName}-`));
    const volumeName = existing?.name ?? `${serviceAccountVolumeName}-${this.o.suffix()}`;
    let needsVolume = false;
    for (const list of [spec.initContainers, spec.containers]) {
      for (const c of objects<Container>(list)) {
        const mounts = Array.isArray(c.volumeMounts) ? c.volumeMounts : [];
        // A container that mounts something at the token path keeps it.
        if (objects<{ mountPath?: string }>(mounts).some((m) => m.mountPath === defaultAPITokenMountPath)) continue;
        c.volumeMounts = [...mounts, { name: volumeName, readOnly: true, mountPath: defaultAPITokenMountPath }];
        needsVolume = true;
      }
    }
    if (!existing && needsVolume) spec.volumes = [...(Array.isArray(spec.volumes) ? spec.volumes : []), { name: volumeName, projected: tokenVolumeSource() }];
  }
}

/** shouldAutomount: the pod's preference wins, then the ServiceAccount's, then yes. */
function shouldAutomount(sa: KubeObject, pod: KubeObject): boolean {
  if (typeof pod.spec.automountServiceAccountToken === 'boolean') return pod.spec.automountServiceAccountToken;
  if (typeof sa.automountServiceAccountToken === 'boolean') return sa.automountServiceAccountToken;
  return true;
}

/** podutil.VisitPodSecretNames: any reference to a Secret, in volumes, env, envFrom or image pull secrets. */
function referencesSecrets(spec: Record<string, any>): boolean {
  if (objects(spec.imagePullSecrets).length) return true;
  for (const v of objects<Record<string, any>>(spec.volumes)) {
    if (v.secret) return true;
    if (objects<Record<string, unknown>>(v.projected?.sources).some((s) => s.secret)) return true;
    // Volume plugins that name a secretRef (cephfs, iscsi, rbd, csi, ...).
    if (Object.values(v).some((src) => isObject(src) && (isObject(src.secretRef) || isObject(src.nodePublishSecretRef) || isObject(src.controllerPublishSecretRef)))) return true;
  }
  for (const c of [...objects<Record<string, any>>(spec.containers), ...objects<Record<string, any>>(spec.initContainers), ...objects<Record<string, any>>(spec.ephemeralContainers)]) {
    if (objects<Record<string, any>>(c.envFrom).some((e) => e.secretRef)) return true;
    if (objects<Record<string, any>>(c.env).some((e) => e.valueFrom?.secretKeyRef)) return true;
  }
  return false;
}

/** admission.NewForbidden: `<resource> "<name>" is forbidden: <why>`, named after generateName before a name exists. */
function forbidden(a: AdmissionAttributes, why: string) {
  const name = a.name || a.object?.metadata?.name || a.object?.metadata?.generateName || 'Unknown';
  return errors.forbiddenResource(a.resource.plural, a.resource.group, name, why);
}
