// The baseline level's checks (k8s.io/pod-security-admission/policy,
// check_*.go), each with the versions kube 1.32 defines. Messages are kube's.

import type { ObjectMeta } from '../../../api/types.js';
import { allowed, containersOf, forbidden, goQuote, joinQuote, pluralize, setters, sortedSet, type CheckPodFn, type CheckResult, type Spec } from './helpers.js';

export interface VersionedCheck { minimumVersion: number; checkPod: CheckPodFn }
export interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** Ascending minimum versions (minor numbers of 1.x). */
  versions: VersionedCheck[];
  /** Baseline checks a restricted check replaces from its first version on. */
  overrides?: string[];
}

const appArmorAnnotationPrefix = 'container.apparmor.security.beta.kubernetes.io/';

function appArmorProfile(meta: ObjectMeta, spec: Spec): CheckResult {
  const goodType = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';
  const badValues = new Set<string>();
  const bad: string[] = [];
  const podProfile = spec.securityContext?.appArmorProfile;
  const podBad = !!podProfile && !goodType(podProfile.type);
  if (podBad) badValues.add(String(podProfile.type ?? ''));
  const badContainers: string[] = [];
  for (const c of containersOf(spec)) {
    const p = c.securityContext?.appArmorProfile;
    if (p && !goodType(p.type)) {
      badContainers.push(c.name);
      badValues.add(String(p.type ?? ''));
    }
  }
  bad.push(...setters(podBad, badContainers));
  const badAnnotations: string[] = [];
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    if (k.startsWith(appArmorAnnotationPrefix) && v !== '' && v !== 'runtime/default' && !v.startsWith('localhost/')) badAnnotations.push(`${k}=${goQuote(v)}`);
  }
  const values = sortedSet(badValues);
  if (badAnnotations.length) {
    badAnnotations.sort();
    values.push(...badAnnotations);
    bad.push(pluralize('annotation', 'annotations', badAnnotations.length));
  }
  if (!bad.length) return allowed;
  return forbidden(
    pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
    `${bad.join(' and ')} must not set AppArmor profile type to ${joinQuote(values)}`,
  );
}

const defaultCapabilities = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

function capabilitiesBaseline(_meta: ObjectMeta, spec: Spec): CheckResult {
  const badContainers: string[] = [];
  const caps = new Set<string>();
  for (const c of containersOf(spec)) {
    const add: string[] = c.securityContext?.capabilities?.add ?? [];
    const extra = add.filter((x) => !defaultCapabilities.has(x));
    if (extra.length) {
      badContainers.push(c.name);
      for (const x of extra) caps.add(x);
    }
  }
  if (!badContainers.length) return allowed;
  return forbidden('non-default capabilities',
    `${pluralize('container', 'containers', badContainers.length)} ${joinQuote(badContainers)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`);
}

function hostNamespaces(_meta: ObjectMeta, spec: Spec): CheckResult {
  const used: string[] = [];
  if (spec.hostNetwork) used.push('hostNetwork=true');
  if (spec.hostPID) used.push('hostPID=true');
  if (spec.hostIPC) used.push('hostIPC=true');
  return used.length ? forbidden('host namespaces', used.join(', ')) : allowed;
}

function hostPathVolumes(_meta: ObjectMeta, spec: Spec): CheckResult {
  const names = (spec.volumes ?? []).filter((v: Spec) => v?.hostPath).map((v: Spec) => v.name as string);
  return names.length ? forbidden('hostPath volumes', `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)}`) : allowed;
}

function hostPorts(_meta: ObjectMeta, spec: Spec): CheckResult {
  const badContainers: string[] = [];
  const ports = new Set<string>();
  for (const c of containersOf(spec)) {
    const used = (c.ports ?? []).filter((p: Spec) => p?.hostPort).map((p: Spec) => String(p.hostPort));
    if (used.length) {
      badContainers.push(c.name);
      for (const p of used) ports.add(p);
    }
  }
  if (!badContainers.length) return allowed;
  const list = sortedSet(ports);
  return forbidden('hostPort', `${pluralize('container', 'containers', badContainers.length)} ${joinQuote(badContainers)} ${pluralize('uses', 'use', badContainers.length)} ${pluralize('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`);
}

function privileged(_meta: ObjectMeta, spec: Spec): CheckResult {
  const bad = containersOf(spec).filter((c) => c.securityContext?.privileged === true).map((c) => c.name as string);
  return bad.length ? forbidden('privileged', `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must not set securityContext.privileged=true`) : allowed;
}

function procMount(_meta: ObjectMeta, spec: Spec): CheckResult {
  const bad: string[] = [];
  const types = new Set<string>();
  for (const c of containersOf(spec)) {
    const t = c.securityContext?.procMount;
    if (t !== undefined && t !== null && t !== 'Default') {
      bad.push(c.name);
      types.add(String(t));
    }
  }
  return bad.length
    ? forbidden('procMount', `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`)
    : allowed;
}

function seLinuxOptions(allowedTypes: Set<string>): CheckPodFn {
  return (_meta, spec) => {
    const badTypes = new Set<string>();
    let setUser = false;
    let setRole = false;
    const valid = (o: Spec) => {
      let ok = true;
      if (!allowedTypes.has(o.type ?? '')) {
        ok = false;
        badTypes.add(o.type ?? '');
      }
      if (o.user) { ok = false; setUser = true; }
      if (o.role) { ok = false; setRole = true; }
      return ok;
    };
    const podOpts = spec.securityContext?.seLinuxOptions;
    const podBad = !!podOpts && !valid(podOpts);
    const badContainers = containersOf(spec).filter((c) => c.securityContext?.seLinuxOptions && !valid(c.securityContext.seLinuxOptions)).map((c) => c.name as string);
    const who = setters(podBad, badContainers);
    if (!who.length) return allowed;
    const data: string[] = [];
    if (badTypes.size) data.push(`${pluralize('type', 'types', badTypes.size)} ${joinQuote(sortedSet(badTypes))}`);
    if (setUser) data.push('user may not be set');
    if (setRole) data.push('role may not be set');
    return forbidden('seLinuxOptions', `${who.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`);
  };
}

const seLinuxTypes1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const seLinuxTypes1_31 = new Set([...seLinuxTypes1_0, 'container_engine_t']);

const seccompPodAnnotation = 'seccomp.security.alpha.kubernetes.io/pod';
const seccompContainerAnnotationPrefix = 'container.seccomp.security.alpha.kubernetes.io/';

/** v1.0-1.18: the seccomp annotations. */
function seccompProfileBaseline1_0(meta: ObjectMeta, spec: Spec): CheckResult {
  const validValue = (v: string) => v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/');
  const bad = new Set<string>();
  const ann = meta.annotations ?? {};
  if (ann[seccompPodAnnotation] !== undefined && !validValue(ann[seccompPodAnnotation])) bad.add(`${seccompPodAnnotation}=${goQuote(ann[seccompPodAnnotation])}`);
  for (const c of containersOf(spec)) {
    const key = seccompContainerAnnotationPrefix + c.name;
    if (ann[key] !== undefined && !validValue(ann[key])) bad.add(`${key}=${goQuote(ann[key])}`);
  }
  if (!bad.size) return allowed;
  return forbidden('seccompProfile', `forbidden ${pluralize('annotation', 'annotations', bad.size)} ${sortedSet(bad).join(', ')}`);
}

export const validSeccomp = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';

/** v1.19+: securityContext.seccompProfile, which may be unset but not Unconfined. */
function seccompProfileBaseline1_19(_meta: ObjectMeta, spec: Spec): CheckResult {
  const badValues = new Set<string>();
  const podProfile = spec.securityContext?.seccompProfile;
  const podBad = !!podProfile && !validSeccomp(podProfile.type);
  if (podBad) badValues.add(String(podProfile.type ?? ''));
  const badContainers: string[] = [];
  for (const c of containersOf(spec)) {
    const p = c.securityContext?.seccompProfile;
    if (p && !validSeccomp(p.type)) {
      badContainers.push(c.name);
      badValues.add(String(p.type ?? ''));
    }
  }
  const who = setters(podBad, badContainers);
  if (!who.length) return allowed;
  return forbidden('seccompProfile', `${who.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`);
}

const sysctls1_0 = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start']);
const sysctls1_27 = new Set([...sysctls1_0, 'net.ipv4.ip_local_reserved_ports']);
const sysctls1_29 = new Set([...sysctls1_27, 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const sysctls1_32 = new Set([...sysctls1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']);

function sysctls(safe: Set<string>): CheckPodFn {
  return (_meta, spec) => {
    const bad = (spec.securityContext?.sysctls ?? []).map((s: Spec) => String(s?.name ?? '')).filter((n: string) => !safe.has(n));
    return bad.length ? forbidden('forbidden sysctls', bad.join(', ')) : allowed;
  };
}

function windowsHostProcess(_meta: ObjectMeta, spec: Spec): CheckResult {
  const badContainers = containersOf(spec).filter((c) => c.securityContext?.windowsOptions?.hostProcess === true).map((c) => c.name as string);
  const who = setters(spec.securityContext?.windowsOptions?.hostProcess === true, badContainers);
  return who.length ? forbidden('hostProcess', `${who.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`) : allowed;
}

const v = (minimumVersion: number, checkPod: CheckPodFn): VersionedCheck => ({ minimumVersion, checkPod });

export const baselineChecks: Check[] = [
  { id: 'appArmorProfile', level: 'baseline', versions: [v(0, appArmorProfile)] },
  { id: 'capabilities_baseline', level: 'baseline', versions: [v(0, capabilitiesBaseline)] },
  { id: 'hostNamespaces', level: 'baseline', versions: [v(0, hostNamespaces)] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [v(0, hostPathVolumes)] },
  { id: 'hostPorts', level: 'baseline', versions: [v(0, hostPorts)] },
  { id: 'privileged', level: 'baseline', versions: [v(0, privileged)] },
  { id: 'procMount', level: 'baseline', versions: [v(0, procMount)] },
  { id: 'seLinuxOptions', level: 'baseline', versions: [v(0, seLinuxOptions(seLinuxTypes1_0)), v(31, seLinuxOptions(seLinuxTypes1_31))] },
  { id: 'seccompProfile_baseline', level: 'baseline', versions: [v(0, seccompProfileBaseline1_0), v(19, seccompProfileBaseline1_19)] },
  { id: 'sysctls', level: 'baseline', versions: [v(0, sysctls(sysctls1_0)), v(27, sysctls(sysctls1_27)), v(29, sysctls(sysctls1_29)), v(32, sysctls(sysctls1_32))] },
  { id: 'windowsHostProcess', level: 'baseline', versions: [v(0, windowsHostProcess)] },
];
