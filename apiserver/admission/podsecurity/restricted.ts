// The restricted level's checks (k8s.io/pod-security-admission/policy), on top
// of the baseline checks they do not replace. Messages are kube's.

import type { ObjectMeta } from '../../../api/types.js';
import { validSeccomp, type Check, type VersionedCheck } from './baseline.js';
import { allowed, containersOf, forbidden, isWindowsPod, joinQuote, pluralize, setters, sortedSet, type CheckPodFn, type CheckResult, type Spec } from './helpers.js';

/** From 1.25 the Linux-only restricted checks pass pods that declare spec.os.name=windows. */
const exceptWindows = (check: CheckPodFn): CheckPodFn => (meta, spec) => (isWindowsPod(spec) ? allowed : check(meta, spec));

function allowPrivilegeEscalation(_meta: ObjectMeta, spec: Spec): CheckResult {
  const bad = containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name as string);
  return bad.length
    ? forbidden('allowPrivilegeEscalation != false', `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must set securityContext.allowPrivilegeEscalation=false`)
    : allowed;
}

function capabilitiesRestricted(_meta: ObjectMeta, spec: Spec): CheckResult {
  const missingDropAll: string[] = [];
  const addingForbidden: string[] = [];
  const forbiddenCaps = new Set<string>();
  for (const c of containersOf(spec)) {
    const caps = c.securityContext?.capabilities;
    if (!caps) {
      missingDropAll.push(c.name);
      continue;
    }
    if (!(caps.drop ?? []).includes('ALL')) missingDropAll.push(c.name);
    const extra = (caps.add ?? []).filter((x: string) => x !== 'NET_BIND_SERVICE');
    if (extra.length) {
      addingForbidden.push(c.name);
      for (const x of extra) forbiddenCaps.add(x);
    }
  }
  const details: string[] = [];
  if (missingDropAll.length) details.push(`${pluralize('container', 'containers', missingDropAll.length)} ${joinQuote(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  if (addingForbidden.length) details.push(`${pluralize('container', 'containers', addingForbidden.length)} ${joinQuote(addingForbidden)} must not include ${joinQuote(sortedSet(forbiddenCaps))} in securityContext.capabilities.add`);
  return details.length ? forbidden('unrestricted capabilities', details.join('; ')) : allowed;
}

/** Volume sources restricted pods may use; anything else is reported by its source's name, or "unknown". */
const allowedVolumeSources = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret'];
const restrictedVolumeSources = ['hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs', 'rbd', 'flexVolume', 'cinder', 'cephfs',
  'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos'];

function restrictedVolumes(_meta: ObjectMeta, spec: Spec): CheckResult {
  const badVolumes: string[] = [];
  const badTypes = new Set<string>();
  for (const vol of spec.volumes ?? []) {
    if (!vol || allowedVolumeSources.some((k) => vol[k])) continue;
    badVolumes.push(vol.name);
    badTypes.add(restrictedVolumeSources.find((k) => vol[k]) ?? 'unknown');
  }
  if (!badVolumes.length) return allowed;
  const types = sortedSet(badTypes);
  return forbidden('restricted volume types',
    `${pluralize('volume', 'volumes', badVolumes.length)} ${joinQuote(badVolumes)} ${pluralize('uses', 'use', badVolumes.length)} ${pluralize('restricted volume type', 'restricted volume types', types.length)} ${joinQuote(types)}`);
}

function runAsNonRoot(_meta: ObjectMeta, spec: Spec): CheckResult {
  const pod = spec.securityContext?.runAsNonRoot;
  const podBad = pod === false;
  const podTrue = pod === true;
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  for (const c of containersOf(spec)) {
    const v = c.securityContext?.runAsNonRoot;
    if (v !== undefined && v !== null) {
      if (v === false) explicitlyBad.push(c.name);
    } else if (!podTrue) {
      implicitlyBad.push(c.name);
    }
  }
  const who = setters(podBad, explicitlyBad);
  if (who.length) return forbidden('runAsNonRoot != true', `${who.join(' and ')} must not set securityContext.runAsNonRoot=false`);
  if (implicitlyBad.length) {
    return forbidden('runAsNonRoot != true', `pod or ${pluralize('container', 'containers', implicitlyBad.length)} ${joinQuote(implicitlyBad)} must set securityContext.runAsNonRoot=true`);
  }
  return allowed;
}

function runAsUser(_meta: ObjectMeta, spec: Spec): CheckResult {
  const bad = containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name as string);
  const who = setters(spec.securityContext?.runAsUser === 0, bad);
  return who.length ? forbidden('runAsUser=0', `${who.join(' and ')} must not set runAsUser=0`) : allowed;
}

function seccompProfileRestricted(_meta: ObjectMeta, spec: Spec): CheckResult {
  const badValues = new Set<string>();
  const podProfile = spec.securityContext?.seccompProfile;
  const podBad = !!podProfile && !validSeccomp(podProfile.type);
  if (podBad) badValues.add(String(podProfile.type ?? ''));
  const podSet = !!podProfile && !podBad;
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  for (const c of containersOf(spec)) {
    const p = c.securityContext?.seccompProfile;
    if (p) {
      if (!validSeccomp(p.type)) {
        explicitlyBad.push(c.name);
        badValues.add(String(p.type ?? ''));
      }
    } else if (!podSet) {
      implicitlyBad.push(c.name);
    }
  }
  const who = setters(podBad, explicitlyBad);
  if (who.length) return forbidden('seccompProfile', `${who.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`);
  if (implicitlyBad.length) {
    return forbidden('seccompProfile', `pod or ${pluralize('container', 'containers', implicitlyBad.length)} ${joinQuote(implicitlyBad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  }
  return allowed;
}

const v = (minimumVersion: number, checkPod: CheckPodFn): VersionedCheck => ({ minimumVersion, checkPod });

export const restrictedChecks: Check[] = [
  { id: 'allowPrivilegeEscalation', level: 'restricted', versions: [v(8, allowPrivilegeEscalation), v(25, exceptWindows(allowPrivilegeEscalation))] },
  { id: 'capabilities_restricted', level: 'restricted', overrides: ['capabilities_baseline'], versions: [v(22, capabilitiesRestricted), v(25, exceptWindows(capabilitiesRestricted))] },
  { id: 'restrictedVolumes', level: 'restricted', overrides: ['hostPathVolumes'], versions: [v(0, restrictedVolumes)] },
  { id: 'runAsNonRoot', level: 'restricted', versions: [v(0, runAsNonRoot)] },
  { id: 'runAsUser', level: 'restricted', versions: [v(23, runAsUser)] },
  { id: 'seccompProfile_restricted', level: 'restricted', overrides: ['seccompProfile_baseline'], versions: [v(19, seccompProfileRestricted), v(25, exceptWindows(seccompProfileRestricted))] },
];
