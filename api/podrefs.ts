// The API objects a pod's spec names (k8s.io/kubernetes/pkg/api/v1/pod's
// VisitPodSecretNames and VisitPodConfigmapNames): what the Node authorizer
// lets the pod's node read, and what NodeRestriction forbids in mirror pods.

import type { KubeObject } from './types.js';

type Spec = Record<string, any>;

/** Init, regular and ephemeral containers, as podutil.AllContainers. */
export function allContainers(spec: Spec | undefined): Spec[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...(spec?.ephemeralContainers ?? [])];
}

/** Secret names in pull secrets, env, envFrom and every volume source that carries a secret reference, without empties. */
export function podSecretNames(pod: KubeObject): string[] {
  const spec: Spec = pod.spec ?? {};
  const out: string[] = [];
  const add = (n: unknown) => { if (typeof n === 'string' && n) out.push(n); };
  for (const r of spec.imagePullSecrets ?? []) add(r?.name);
  for (const c of allContainers(spec)) {
    for (const e of c.envFrom ?? []) add(e?.secretRef?.name);
    for (const e of c.env ?? []) add(e?.valueFrom?.secretKeyRef?.name);
  }
  for (const v of spec.volumes ?? []) {
    if (!v) continue;
    if (v.azureFile) add(v.azureFile.secretName);
    else if (v.cephfs) add(v.cephfs.secretRef?.name);
    else if (v.cinder) add(v.cinder.secretRef?.name);
    else if (v.flexVolume) add(v.flexVolume.secretRef?.name);
    else if (v.projected) for (const s of v.projected.sources ?? []) add(s?.secret?.name);
    else if (v.rbd) add(v.rbd.secretRef?.name);
    else if (v.secret) add(v.secret.secretName);
    else if (v.scaleIO) add(v.scaleIO.secretRef?.name);
    else if (v.iscsi) add(v.iscsi.secretRef?.name);
    else if (v.storageos) add(v.storageos.secretRef?.name);
    else if (v.csi) add(v.csi.nodePublishSecretRef?.name);
  }
  return out;
}

/** ConfigMap names in env, envFrom, configMap volumes and projected sources, without empties. */
export function podConfigMapNames(pod: KubeObject): string[] {
  const spec: Spec = pod.spec ?? {};
  const out: string[] = [];
  const add = (n: unknown) => { if (typeof n === 'string' && n) out.push(n); };
  for (const c of allContainers(spec)) {
    for (const e of c.envFrom ?? []) add(e?.configMapRef?.name);
    for (const e of c.env ?? []) add(e?.valueFrom?.configMapKeyRef?.name);
  }
  for (const v of spec.volumes ?? []) {
    if (!v) continue;
    if (v.projected) for (const s of v.projected.sources ?? []) add(s?.configMap?.name);
    else if (v.configMap) add(v.configMap.name);
  }
  return out;
}

/** PersistentVolumeClaims the pod mounts, generic ephemeral volumes named <pod>-<volume> as kube's ephemeral.VolumeClaimName. */
export function podClaimNames(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v?.persistentVolumeClaim?.claimName) out.push(v.persistentVolumeClaim.claimName);
    else if (v?.ephemeral) out.push(`${pod.metadata.name}-${v.name}`);
  }
  return out;
}

export const mirrorPodAnnotation = 'kubernetes.io/config.mirror';

export function isMirrorPod(pod: KubeObject): boolean {
  return pod.metadata.annotations?.[mirrorPodAnnotation] !== undefined;
}
