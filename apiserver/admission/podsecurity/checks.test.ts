// Each Pod Security check against kube's own test fixtures
// (staging/src/k8s.io/pod-security-admission/policy/check_*_test.go).

import { describe, expect, it } from 'vitest';
import type { ObjectMeta } from '../../../api/types.js';
import { baselineChecks } from './baseline.js';
import type { Spec } from './helpers.js';
import { goQuote } from './helpers.js';
import { aggregate, evaluatePod, forbiddenDetail, forbiddenReason, maxVersion } from './policy.js';
import { restrictedChecks } from './restricted.js';

function run(id: string, spec: Spec, meta: ObjectMeta = {}, minor = maxVersion) {
  const check = [...baselineChecks, ...restrictedChecks].find((c) => c.id === id);
  if (!check) throw new Error(`no check ${id}`);
  const v = check.versions.filter((x) => x.minimumVersion <= minor).pop();
  if (!v) throw new Error(`check ${id} has no version at 1.${minor}`);
  return v.checkPod(meta, spec);
}

const c = (name: string, securityContext?: Spec, extra: Spec = {}) => ({ name, ...(securityContext === undefined ? {} : { securityContext }), ...extra });

type Case = { id: string; name: string; spec: Spec; meta?: ObjectMeta; minor?: number; reason?: string; detail?: string };

const forbiddenCases: Case[] = [
  { id: 'appArmorProfile', name: 'unconfined pod', spec: { securityContext: { appArmorProfile: { type: 'Unconfined' } } },
    reason: 'forbidden AppArmor profile', detail: 'pod must not set AppArmor profile type to "Unconfined"' },
  { id: 'appArmorProfile', name: 'unconfined container', spec: { securityContext: { appArmorProfile: { type: 'RuntimeDefault' } }, containers: [c('foo', { appArmorProfile: { type: 'Unconfined' } })] },
    reason: 'forbidden AppArmor profile', detail: 'container "foo" must not set AppArmor profile type to "Unconfined"' },
  { id: 'appArmorProfile', name: 'unconfined init container', spec: { securityContext: { appArmorProfile: { type: 'RuntimeDefault' } }, containers: [c('foo')], initContainers: [c('bar', { appArmorProfile: { type: 'Unconfined' } })] },
    reason: 'forbidden AppArmor profile', detail: 'container "bar" must not set AppArmor profile type to "Unconfined"' },
  { id: 'appArmorProfile', name: 'annotations', spec: {}, meta: { annotations: {
    'container.apparmor.security.beta.kubernetes.io/': 'bogus', 'container.apparmor.security.beta.kubernetes.io/a': '',
    'container.apparmor.security.beta.kubernetes.io/b': 'runtime/default', 'container.apparmor.security.beta.kubernetes.io/c': 'localhost/',
    'container.apparmor.security.beta.kubernetes.io/d': 'localhost/foo', 'container.apparmor.security.beta.kubernetes.io/e': 'unconfined',
    'container.apparmor.security.beta.kubernetes.io/f': 'unknown' } },
  reason: 'forbidden AppArmor profiles',
  detail: 'annotations must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/="bogus"", "container.apparmor.security.beta.kubernetes.io/e="unconfined"", "container.apparmor.security.beta.kubernetes.io/f="unknown""' },
  { id: 'capabilities_baseline', name: 'multiple containers', spec: { containers: [c('a', { capabilities: { add: ['FOO', 'BAR'] } }), c('b', { capabilities: { add: ['BAR', 'BAZ'] } }), c('c', { capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'] } })] },
    reason: 'non-default capabilities', detail: 'containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add' },
  { id: 'hostNamespaces', name: 'multiple host namespaces', spec: { hostNetwork: true, hostIPC: true, hostPID: true },
    reason: 'host namespaces', detail: 'hostNetwork=true, hostPID=true, hostIPC=true' },
  { id: 'hostPathVolumes', name: 'host path volumes', spec: { volumes: [{ name: 'a', emptyDir: {} }, { name: 'b', hostPath: { path: '/' } }, { name: 'c', hostPath: { path: '/x' } }] },
    reason: 'hostPath volumes', detail: 'volumes "b", "c"' },
  { id: 'hostPorts', name: 'one container, one host port', spec: { containers: [c('a', undefined, { ports: [{ hostPort: 0 }] }), c('b', undefined, { ports: [{ hostPort: 0 }, { hostPort: 20 }] })] },
    reason: 'hostPort', detail: 'container "b" uses hostPort 20' },
  { id: 'hostPorts', name: 'multiple containers, multiple host ports', spec: { containers: [c('a', undefined, { ports: [{ hostPort: 0 }] }), c('b', undefined, { ports: [{ hostPort: 0 }, { hostPort: 10 }, { hostPort: 20 }] }), c('c', undefined, { ports: [{ hostPort: 0 }, { hostPort: 10 }, { hostPort: 30 }] })] },
    reason: 'hostPort', detail: 'containers "b", "c" use hostPorts 10, 20, 30' },
  { id: 'privileged', name: 'multiple containers', spec: { containers: [c('a'), c('b', {}), c('c', { privileged: false }), c('d', { privileged: true }), c('e', { privileged: true })] },
    reason: 'privileged', detail: 'containers "d", "e" must not set securityContext.privileged=true' },
  { id: 'procMount', name: 'procMount', spec: { containers: [c('a'), c('b', {}), c('c', { procMount: 'Default' }), c('d', { procMount: 'Unmasked' }), c('e', { procMount: 'other' })] },
    reason: 'procMount', detail: 'containers "d", "e" must not set securityContext.procMount to "Unmasked", "other"' },
  { id: 'seLinuxOptions', name: 'invalid pod and containers', spec: {
    securityContext: { seLinuxOptions: { type: 'foo', user: 'bar', role: 'baz' } },
    containers: [c('a', { seLinuxOptions: { type: 'container_t' } }), c('b', { seLinuxOptions: { type: 'container_init_t' } }), c('c', { seLinuxOptions: { type: 'container_kvm_t' } }),
      c('d', { seLinuxOptions: { type: 'container_engine_t' } }), c('e', { seLinuxOptions: { type: 'bar' } }), c('f', { seLinuxOptions: { user: 'bar' } }), c('g', { seLinuxOptions: { role: 'baz' } })] },
  reason: 'seLinuxOptions', detail: 'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; user may not be set; role may not be set' },
  { id: 'seLinuxOptions', name: 'invalid pod', spec: { securityContext: { seLinuxOptions: { type: 'foo', user: 'bar', role: 'baz' } }, containers: [c('a', { seLinuxOptions: { type: 'container_t' } })] },
    reason: 'seLinuxOptions', detail: 'pod set forbidden securityContext.seLinuxOptions: type "foo"; user may not be set; role may not be set' },
  { id: 'seLinuxOptions', name: 'bad user', spec: { securityContext: { seLinuxOptions: { user: 'bad' } } },
    reason: 'seLinuxOptions', detail: 'pod set forbidden securityContext.seLinuxOptions: user may not be set' },
  { id: 'seLinuxOptions', name: 'container_engine_t before 1.31', minor: 30, spec: { containers: [c('d', { seLinuxOptions: { type: 'container_engine_t' } })] },
    reason: 'seLinuxOptions', detail: 'container "d" set forbidden securityContext.seLinuxOptions: type "container_engine_t"' },
  { id: 'seccompProfile_baseline', name: 'pod and container annotations (1.0)', minor: 18, spec: { containers: [c('a'), c('b'), c('c')] },
    meta: { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined', 'container.seccomp.security.alpha.kubernetes.io/a': 'unconfined', 'container.seccomp.security.alpha.kubernetes.io/b': 'unknown' } },
    reason: 'seccompProfile', detail: 'forbidden annotations container.seccomp.security.alpha.kubernetes.io/a="unconfined", container.seccomp.security.alpha.kubernetes.io/b="unknown", seccomp.security.alpha.kubernetes.io/pod="unconfined"' },
  { id: 'seccompProfile_baseline', name: 'pod and containers seccomp invalid', spec: {
    securityContext: { seccompProfile: { type: 'Unconfined' } },
    containers: [c('a'), c('b', {}), c('c', { seccompProfile: { type: 'Unconfined' } }), c('d', { seccompProfile: { type: 'Unconfined' } }), c('e', { seccompProfile: { type: 'RuntimeDefault' } })] },
  reason: 'seccompProfile', detail: 'pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"' },
  { id: 'sysctls', name: 'forbidden sysctls', spec: { securityContext: { sysctls: [{ name: 'a' }, { name: 'b' }] } }, reason: 'forbidden sysctls', detail: 'a, b' },
  { id: 'sysctls', name: 'reserved ports before 1.27', minor: 26, spec: { securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_reserved_ports', value: '1024-4999' }] } },
    reason: 'forbidden sysctls', detail: 'net.ipv4.ip_local_reserved_ports' },
  { id: 'sysctls', name: 'tcp_rmem before 1.32', minor: 31, spec: { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '4096 87380 16777216' }] } },
    reason: 'forbidden sysctls', detail: 'net.ipv4.tcp_rmem' },
  { id: 'windowsHostProcess', name: 'host process', spec: {
    securityContext: { windowsOptions: { hostProcess: true } },
    containers: [c('a'), c('b', {}), c('c', { windowsOptions: {} }), c('d', { windowsOptions: { hostProcess: false } }), c('e', { windowsOptions: { hostProcess: true } }), c('f', { windowsOptions: { hostProcess: true } })] },
  reason: 'hostProcess', detail: 'pod and containers "e", "f" must not set securityContext.windowsOptions.hostProcess=true' },
  // Restricted.
  { id: 'allowPrivilegeEscalation', name: 'multiple containers', spec: { containers: [c('a'), c('b', { allowPrivilegeEscalation: null }), c('c', { allowPrivilegeEscalation: true }), c('d', { allowPrivilegeEscalation: false })] },
    reason: 'allowPrivilegeEscalation != false', detail: 'containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false' },
  { id: 'capabilities_restricted', name: 'multiple containers', spec: { containers: [
    c('a', { capabilities: { add: ['FOO', 'BAR'] } }), c('b', { capabilities: { add: ['BAR', 'BAZ'] } }), c('c', { capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'], drop: ['ALL', 'FOO'] } })] },
  reason: 'unrestricted capabilities', detail: 'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add' },
  { id: 'restrictedVolumes', name: 'every source', spec: { volumes: [
    ...['emptyDir', 'secret', 'persistentVolumeClaim', 'downwardAPI', 'configMap', 'projected', 'csi', 'ephemeral', 'image'].map((k, i) => ({ name: `a${i + 1}`, [k]: {} })),
    ...['hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'fc', 'azureFile',
      'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos'].map((k, i) => ({ name: `b${i + 1}`, [k]: {} })),
    { name: 'c1' }] },
  reason: 'restricted volume types',
  detail: 'volumes "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11", "b12", "b13", "b14", "b15", "b16", "b17", "b18", "b19", "b20", "b21", "c1" use restricted volume types '
    + '"awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", '
    + '"hostPath", "iscsi", "nfs", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "unknown", "vsphereVolume"' },
  { id: 'restrictedVolumes', name: 'one host path', spec: { volumes: [{ name: 'host', hostPath: { path: '/' } }] },
    reason: 'restricted volume types', detail: 'volume "host" uses restricted volume type "hostPath"' },
  { id: 'runAsNonRoot', name: 'no explicit runAsNonRoot', spec: { containers: [c('a')] },
    reason: 'runAsNonRoot != true', detail: 'pod or container "a" must set securityContext.runAsNonRoot=true' },
  { id: 'runAsNonRoot', name: 'pod runAsNonRoot=false', spec: { securityContext: { runAsNonRoot: false }, containers: [c('a')] },
    reason: 'runAsNonRoot != true', detail: 'pod must not set securityContext.runAsNonRoot=false' },
  { id: 'runAsNonRoot', name: 'containers runAsNonRoot=false', spec: { securityContext: { runAsNonRoot: true }, containers: [c('a'), c('b', {}), c('c', { runAsNonRoot: false }), c('d', { runAsNonRoot: false }), c('e', { runAsNonRoot: true })] },
    reason: 'runAsNonRoot != true', detail: 'containers "c", "d" must not set securityContext.runAsNonRoot=false' },
  { id: 'runAsNonRoot', name: 'pod nil, container fallthrough', spec: { containers: [c('a'), c('b', {}), c('d', { runAsNonRoot: true }), c('e', { runAsNonRoot: true })] },
    reason: 'runAsNonRoot != true', detail: 'pod or containers "a", "b" must set securityContext.runAsNonRoot=true' },
  { id: 'runAsUser', name: 'pod runAsUser=0', spec: { securityContext: { runAsUser: 0 }, containers: [c('a')] }, reason: 'runAsUser=0', detail: 'pod must not set runAsUser=0' },
  { id: 'runAsUser', name: 'containers runAsUser=0', spec: { securityContext: { runAsUser: 1000 }, containers: [c('a'), c('b', {}), c('c', { runAsUser: 0 }), c('d', { runAsUser: 0 }), c('e', { runAsUser: 1 })] },
    reason: 'runAsUser=0', detail: 'containers "c", "d" must not set runAsUser=0' },
  { id: 'seccompProfile_restricted', name: 'no explicit seccomp', spec: { containers: [c('a')] },
    reason: 'seccompProfile', detail: 'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"' },
  { id: 'seccompProfile_restricted', name: 'no explicit seccomp, linux pod', spec: { os: { name: 'linux' }, containers: [c('a')] },
    reason: 'seccompProfile', detail: 'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"' },
  { id: 'seccompProfile_restricted', name: 'pod seccomp invalid', spec: { securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [c('a')] },
    reason: 'seccompProfile', detail: 'pod must not set securityContext.seccompProfile.type to "Unconfined"' },
  { id: 'seccompProfile_restricted', name: 'pod nil, container fallthrough', spec: { containers: [c('a'), c('b', {}), c('d', { seccompProfile: { type: 'RuntimeDefault' } }), c('e', { seccompProfile: { type: 'RuntimeDefault' } })] },
    reason: 'seccompProfile', detail: 'pod or containers "a", "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"' },
  { id: 'seccompProfile_restricted', name: 'windows pods are not exempt before 1.25', minor: 24, spec: { os: { name: 'windows' }, containers: [c('a')] },
    reason: 'seccompProfile', detail: 'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"' },
];

const allowedCases: Case[] = [
  { id: 'appArmorProfile', name: 'runtime default and localhost', spec: { securityContext: { appArmorProfile: { type: 'RuntimeDefault' } }, containers: [c('foo', { appArmorProfile: { type: 'Localhost', localhostProfile: 'x' } })] },
    meta: { annotations: { 'container.apparmor.security.beta.kubernetes.io/test': 'localhost/sec-profile01', env: 'dev' } } },
  { id: 'capabilities_baseline', name: 'default capabilities', spec: { containers: [c('a', { capabilities: { add: ['CHOWN', 'NET_BIND_SERVICE', 'SYS_CHROOT'] } })] } },
  { id: 'hostPorts', name: 'port 0', spec: { containers: [c('a', undefined, { ports: [{ containerPort: 80, hostPort: 0 }] })] } },
  { id: 'seLinuxOptions', name: 'allowed types', spec: { securityContext: { seLinuxOptions: {} }, containers: [c('a', { seLinuxOptions: { type: 'container_engine_t' } })] } },
  { id: 'seccompProfile_baseline', name: 'unset or runtime default', spec: { containers: [c('a'), c('b', { seccompProfile: { type: 'Localhost', localhostProfile: 'p' } })] } },
  { id: 'sysctls', name: 'safe set of 1.32', spec: { securityContext: { sysctls: ['net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'kernel.shm_rmid_forced'].map((name) => ({ name, value: '1' })) } } },
  { id: 'allowPrivilegeEscalation', name: 'windows pod from 1.25', spec: { os: { name: 'windows' }, containers: [c('a')] } },
  { id: 'capabilities_restricted', name: 'drop ALL, add NET_BIND_SERVICE', spec: { containers: [c('a', { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } })] } },
  { id: 'capabilities_restricted', name: 'windows pod from 1.25', spec: { os: { name: 'windows' }, containers: [c('a')] } },
  { id: 'runAsUser', name: 'non-zero and unset', spec: { securityContext: { runAsUser: 1000 }, containers: [c('a'), c('b', { runAsUser: 1 })] } },
  { id: 'runAsNonRoot', name: 'pod-level true', spec: { securityContext: { runAsNonRoot: true }, containers: [c('a'), c('b', { runAsNonRoot: true })] } },
  { id: 'seccompProfile_restricted', name: 'windows pod', spec: { os: { name: 'windows' }, containers: [c('a')] } },
  { id: 'seccompProfile_restricted', name: 'pod-level runtime default', spec: { securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('a')] } },
];

describe('Pod Security checks', () => {
  it.each(forbiddenCases.map((x) => [`${x.id}: ${x.name}`, x] as const))('%s', (_n, x) => {
    const r = run(x.id, x.spec, x.meta, x.minor);
    expect(r).toEqual({ allowed: false, forbiddenReason: x.reason, forbiddenDetail: x.detail });
  });

  it.each(allowedCases.map((x) => [`${x.id}: ${x.name}`, x] as const))('%s is allowed', (_n, x) => {
    expect(run(x.id, x.spec, x.meta, x.minor)).toEqual({ allowed: true });
  });
});

describe('evaluatePod', () => {
  const messy: Spec = {
    hostNetwork: true,
    volumes: [{ name: 'host', hostPath: { path: '/' } }],
    containers: [c('app', { privileged: true, capabilities: { add: ['NET_ADMIN'] } }, { ports: [{ containerPort: 80, hostPort: 8080 }] })],
  };

  it('reports baseline checks in kube\'s order (by check id)', () => {
    const r = aggregate(evaluatePod({ level: 'baseline', version: 'latest' }, {}, messy));
    expect(forbiddenDetail(r)).toBe('non-default capabilities (container "app" must not include "NET_ADMIN" in securityContext.capabilities.add), host namespaces (hostNetwork=true), '
      + 'hostPath volumes (volume "host"), hostPort (container "app" uses hostPort 8080), privileged (container "app" must not set securityContext.privileged=true)');
    expect(forbiddenReason(r)).toBe('non-default capabilities, host namespaces, hostPath volumes, hostPort, privileged');
  });

  it('reports restricted as the baseline checks it keeps, then its own, overriding hostPath, capabilities and seccomp', () => {
    const r = aggregate(evaluatePod({ level: 'restricted', version: 'latest' }, {}, messy));
    expect(forbiddenDetail(r)).toBe('host namespaces (hostNetwork=true), hostPort (container "app" uses hostPort 8080), privileged (container "app" must not set securityContext.privileged=true), '
      + 'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), '
      + 'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]; container "app" must not include "NET_ADMIN" in securityContext.capabilities.add), '
      + 'restricted volume types (volume "host" uses restricted volume type "hostPath"), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), '
      + 'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")');
  });

  it('keeps the baseline checks a restricted check replaces only from its version on', () => {
    const r = aggregate(evaluatePod({ level: 'restricted', version: 21 }, {}, messy));
    expect(r.reasons).toContain('non-default capabilities');
    expect(r.reasons).not.toContain('unrestricted capabilities');
    expect(r.reasons).not.toContain('runAsUser=0');
  });

  it('allows everything at privileged and a compliant pod at restricted', () => {
    expect(evaluatePod({ level: 'privileged', version: 'latest' }, {}, messy)).toEqual([]);
    const good: Spec = {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [c('app', { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } })],
      volumes: [{ name: 'v', emptyDir: {} }],
    };
    expect(aggregate(evaluatePod({ level: 'restricted', version: 'latest' }, {}, good)).allowed).toBe(true);
  });

  it('evaluates versions newer than the newest check as the newest', () => {
    expect(maxVersion).toBe(32);
    const spec = { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem' }] } };
    expect(aggregate(evaluatePod({ level: 'baseline', version: 40 }, {}, spec)).allowed).toBe(true);
    expect(aggregate(evaluatePod({ level: 'baseline', version: 31 }, {}, spec)).allowed).toBe(false);
  });
});

describe('goQuote', () => {
  it.each([['plain', '"plain"'], ['a"b\\c', '"a\\"b\\\\c"'], ['tab\there\n', '"tab\\there\\n"'], ['\x01', '"\\x01"'], ['ünï', '"ünï"']])('%j -> %s', (s, want) => {
    expect(goQuote(s)).toBe(want);
  });
});
