import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStatusError } from '../../../api/errors.js';
import { R, type ResourceInfo } from '../../../api/resources.js';
import type { KubeObject } from '../../../api/types.js';
import type { AdmissionAttributes } from '../../auth/types.js';
import { isSignificantPodUpdate, PodSecurity, type PodSecurityConfiguration } from './admission.js';
import { podSecurityConfigurationFromFile } from './config.js';

const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const hostPathPod = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'apps', ...extra },
  spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'host', hostPath: { path: '/' } }] },
});
const plainPod = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'apps' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

function setup(o: { namespaces?: Record<string, KubeObject>; pods?: KubeObject[]; configuration?: PodSecurityConfiguration } = {}) {
  const namespaces = o.namespaces ?? {};
  let clock = 0;
  const lookups: string[] = [];
  const plugin = new PodSecurity({
    getNamespace: async (name) => { lookups.push(name); return namespaces[name]; },
    listPods: async (n) => (o.pods ?? []).filter((p) => p.metadata.namespace === n),
    configuration: o.configuration,
    now: () => clock,
  });
  return { plugin, namespaces, lookups, tick: (ms: number) => { clock += ms; } };
}

function attrs(o: Partial<AdmissionAttributes> & Pick<AdmissionAttributes, 'operation' | 'resource'>): AdmissionAttributes {
  return { user: { username: 'alice', groups: ['system:authenticated'] }, subresource: '', namespace: 'apps', name: o.object?.metadata?.name ?? '', dryRun: false, warnings: [], ...o };
}

async function outcome(p: PodSecurity, a: AdmissionAttributes): Promise<{ result: string; warnings: string[] }> {
  try {
    await p.validate(a);
    return { result: 'allowed', warnings: a.warnings };
  } catch (e) {
    if (!isStatusError(e)) throw e;
    return { result: `${e.code} ${e.message}`, warnings: a.warnings };
  }
}

const deployments: ResourceInfo = R.deployments;

describe('PodSecurity: pods', () => {
  it('refuses a pod that violates the enforced level with kube\'s message', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' }) } });
    expect(await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: hostPathPod('x') }))).toEqual({
      result: '403 pods "x" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "host")',
      warnings: [],
    });
  });

  it('names the version the namespace pins', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.29' }) } });
    expect((await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: hostPathPod('x') }))).result)
      .toBe('403 pods "x" is forbidden: violates PodSecurity "baseline:v1.29": hostPath volumes (volume "host")');
  });

  it('warns without refusing under warn, and does not warn about a refused pod', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/warn': 'restricted' }), strict: ns('strict', { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'restricted' }) } });
    expect(await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: plainPod('web') }))).toEqual({
      result: 'allowed',
      warnings: ['would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
        + 'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        + 'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'],
    });
    const refused = await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, namespace: 'strict', object: hostPathPod('y') }));
    expect(refused.result).toMatch(/^403 /);
    expect(refused.warnings).toEqual([]);
  });

  it('lets anything through a namespace without labels, or labelled privileged', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps'), priv: ns('priv', { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'privileged' }) } });
    expect(await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: hostPathPod('x') }))).toEqual({ result: 'allowed', warnings: [] });
    expect(await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, namespace: 'priv', object: hostPathPod('x') }))).toEqual({ result: 'allowed', warnings: [] });
  });

  it('enforces restricted for a namespace whose enforce label is invalid', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/enforce': 'bogus' }) } });
    expect((await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: plainPod('web') }))).result).toMatch(/^403 pods "web" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation/);
  });

  it('evaluates only updates that change what the checks read, and never status or binding', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' }) } });
    const old = hostPathPod('x');
    const relabelled = hostPathPod('x', { labels: { a: 'b' } });
    expect((await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.pods, object: relabelled, oldObject: old }))).result).toBe('allowed');
    expect((await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.pods, subresource: 'status', object: old, oldObject: old }))).result).toBe('allowed');
    expect((await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.pods, subresource: 'binding', object: old, oldObject: old }))).result).toBe('allowed');
    const newImage = structuredClone(old);
    newImage.spec.containers[0].image = 'busybox:2';
    expect((await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.pods, object: newImage, oldObject: old }))).result).toMatch(/^403 /);
  });

  it('passes exempt namespaces, users and runtime classes', async () => {
    const { plugin } = setup({
      namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' }), 'kube-system': ns('kube-system', { 'pod-security.kubernetes.io/enforce': 'baseline' }) },
      configuration: { exemptions: { namespaces: ['kube-system'], usernames: ['system:serviceaccount:kube-system:ds'], runtimeClasses: ['kata'] } },
    });
    expect((await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, namespace: 'kube-system', object: hostPathPod('x') }))).result).toBe('allowed');
    expect((await outcome(plugin, { ...attrs({ operation: 'CREATE', resource: R.pods, object: hostPathPod('x') }), user: { username: 'system:serviceaccount:kube-system:ds', groups: [] } })).result).toBe('allowed');
    const kata = hostPathPod('x');
    kata.spec.runtimeClassName = 'kata';
    expect((await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: kata }))).result).toBe('allowed');
    expect((await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: hostPathPod('x') }))).result).toMatch(/^403 /);
  });

  it('applies the configured defaults to namespaces without labels', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps') }, configuration: { defaults: { enforce: 'baseline', 'enforce-version': 'v1.30' } } });
    expect((await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: hostPathPod('x') }))).result)
      .toBe('403 pods "x" is forbidden: violates PodSecurity "baseline:v1.30": hostPath volumes (volume "host")');
    expect(() => setup({ configuration: { defaults: { enforce: 'strict' } } })).toThrow(/defaults.enforce: must be one of privileged, baseline, restricted/);
  });

  it('is an internal error when the pod\'s namespace cannot be read', async () => {
    const { plugin } = setup();
    expect((await outcome(plugin, attrs({ operation: 'CREATE', resource: R.pods, object: plainPod('x') }))).result).toBe('500 Internal error occurred: failed to lookup namespace "apps"');
  });

  it('reads a namespace once per second at most, and afresh after the namespace is written', async () => {
    const s = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' }) } });
    const create = () => outcome(s.plugin, attrs({ operation: 'CREATE', resource: R.pods, object: hostPathPod('x') }));
    await create();
    await create();
    expect(s.lookups).toEqual(['apps']);
    // Relabelled behind the cache's back: still enforced until the entry expires.
    s.namespaces.apps = ns('apps');
    expect((await create()).result).toMatch(/^403 /);
    s.tick(1000);
    expect((await create()).result).toBe('allowed');
    expect(s.lookups).toEqual(['apps', 'apps']);
    // A write of the namespace through the plugin drops the entry at once.
    await s.plugin.validate(attrs({ operation: 'UPDATE', resource: R.namespaces, namespace: '', name: 'apps', object: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' }), oldObject: ns('apps') }));
    s.namespaces.apps = ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' });
    expect((await create()).result).toMatch(/^403 /);
    expect(s.lookups).toEqual(['apps', 'apps', 'apps']);
  });
});

describe('PodSecurity: workloads', () => {
  const deployment = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'apps' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec } },
  });

  it('warns about a template but never refuses it, even under enforce', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'baseline' }) } });
    const d = deployment({ containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'host', hostPath: { path: '/' } }] });
    expect(await outcome(plugin, attrs({ operation: 'CREATE', resource: deployments, object: d }))).toEqual({
      result: 'allowed',
      warnings: ['would violate PodSecurity "baseline:latest": hostPath volumes (volume "host")'],
    });
  });

  it('says nothing when only enforce is set, for scale, or for kinds without a template', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' }) } });
    const d = deployment({ containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'host', hostPath: { path: '/' } }] });
    expect(await outcome(plugin, attrs({ operation: 'CREATE', resource: deployments, object: d }))).toEqual({ result: 'allowed', warnings: [] });
    const { plugin: warnPlugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/warn': 'baseline' }) } });
    expect(await outcome(warnPlugin, attrs({ operation: 'UPDATE', resource: deployments, subresource: 'scale', object: d, oldObject: d }))).toEqual({ result: 'allowed', warnings: [] });
    expect(await outcome(warnPlugin, attrs({ operation: 'CREATE', resource: R.configmaps, object: { metadata: { name: 'cm' }, spec: { template: d.spec.template } } }))).toEqual({ result: 'allowed', warnings: [] });
  });
});

describe('PodSecurity: namespaces', () => {
  it('refuses invalid labels on create with kube\'s 422', async () => {
    const { plugin } = setup();
    expect((await outcome(plugin, attrs({ operation: 'CREATE', resource: R.namespaces, namespace: '', object: ns('bad', { 'pod-security.kubernetes.io/enforce': 'bogus', 'pod-security.kubernetes.io/warn-version': '1.29' }) }))).result)
      .toBe('422 Namespace "bad" is invalid: [metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "bogus": must be one of privileged, baseline, restricted, '
        + 'metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "1.29": must be "latest" or "v1.x"]');
  });

  it('lets a namespace with invalid labels be changed as long as it adds no new invalid ones', async () => {
    const { plugin } = setup();
    const bad = ns('apps', { 'pod-security.kubernetes.io/enforce': 'bogus' });
    expect((await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.namespaces, namespace: '', object: { ...bad, metadata: { ...bad.metadata, annotations: { a: 'b' } } }, oldObject: bad }))).result).toBe('allowed');
    expect((await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.namespaces, namespace: '', object: ns('apps', { 'pod-security.kubernetes.io/enforce': 'worse' }), oldObject: bad }))).result).toMatch(/^422 /);
  });

  it('warns about existing pods when the enforce level rises, grouped as kube does', async () => {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-uid', controller: true };
    const pods = [hostPathPod('b-host'), hostPathPod('a-host'), { ...hostPathPod('rs-1', { ownerReferences: [owner] }) }, plainPod('fine'),
      { ...plainPod('priv'), spec: { containers: [{ name: 'c', securityContext: { privileged: true } }] } }];
    const { plugin } = setup({ pods });
    const r = await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.namespaces, namespace: '', object: ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' }), oldObject: ns('apps') }));
    expect(r).toEqual({
      result: 'allowed',
      warnings: [
        'existing pods in namespace "apps" violate the new PodSecurity enforce level "baseline:latest"',
        'a-host (and 2 other pods): hostPath volumes',
        'priv: privileged',
      ],
    });
  });

  it('checks nothing when the level is unchanged, relaxed or privileged', async () => {
    const { plugin } = setup({ pods: [hostPathPod('x')] });
    const base = ns('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' });
    for (const [next, prev] of [[base, base], [ns('apps'), base], [ns('apps', { 'pod-security.kubernetes.io/enforce': 'privileged' }), base]]) {
      expect(await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.namespaces, namespace: '', object: next, oldObject: prev }))).toEqual({ result: 'allowed', warnings: [] });
    }
    const restricted = ns('apps', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    expect(await outcome(plugin, attrs({ operation: 'UPDATE', resource: R.namespaces, namespace: '', object: base, oldObject: restricted }))).toEqual({ result: 'allowed', warnings: [] });
  });
});

describe('isSignificantPodUpdate', () => {
  const pod = (image: string, extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { name: 'p', ...extra }, spec: { containers: [{ name: 'c', image }] } });
  it.each([
    ['same pod', pod('a'), pod('a'), false],
    ['labels only', pod('a', { labels: { x: 'y' } }), pod('a'), false],
    ['image', pod('b'), pod('a'), true],
    ['container seccomp annotation', pod('a', { annotations: { 'container.seccomp.security.alpha.kubernetes.io/c': 'unconfined' } }), pod('a'), true],
    ['ephemeral container added', { ...pod('a'), spec: { containers: [{ name: 'c', image: 'a' }], ephemeralContainers: [{ name: 'debug', image: 'x' }] } }, pod('a'), true],
  ])('%s -> %s', (_n, next, old, want) => {
    expect(isSignificantPodUpdate(next, old)).toBe(want);
  });
});

describe('podSecurityConfigurationFromFile', () => {
  const write = (content: string, name = 'admission.yaml') => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psa-'));
    fs.writeFileSync(path.join(dir, name), content);
    return { dir, file: path.join(dir, name) };
  };

  it('reads an inline configuration and one in a file of its own', () => {
    const inline = write(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline, warn: restricted}
    exemptions: {namespaces: [kube-system]}
`);
    expect(podSecurityConfigurationFromFile(inline.file)).toEqual({ defaults: { enforce: 'baseline', warn: 'restricted' }, exemptions: { namespaces: ['kube-system'] } });
    const byPath = write('apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  path: psa.yaml\n');
    fs.writeFileSync(path.join(byPath.dir, 'psa.yaml'), 'apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults: {audit: restricted}\n');
    expect(podSecurityConfigurationFromFile(byPath.file)).toEqual({ defaults: { audit: 'restricted' }, exemptions: undefined });
    fs.rmSync(inline.dir, { recursive: true });
    fs.rmSync(byPath.dir, { recursive: true });
  });

  it('refuses what is not an AdmissionConfiguration or carries invalid defaults', () => {
    const wrong = write('kind: Pod\n');
    expect(() => podSecurityConfigurationFromFile(wrong.file)).toThrow(/expected kind AdmissionConfiguration/);
    const bad = write('kind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  configuration: {apiVersion: pod-security.admission.config.k8s.io/v1, kind: PodSecurityConfiguration, defaults: {warn-version: "1.2"}}\n');
    expect(() => podSecurityConfigurationFromFile(bad.file)).toThrow(/defaults.warn-version: must be "latest" or "v1.x"/);
    const none = write('kind: AdmissionConfiguration\nplugins: []\n');
    expect(podSecurityConfigurationFromFile(none.file)).toBeUndefined();
    for (const x of [wrong, bad, none]) fs.rmSync(x.dir, { recursive: true });
  });
});

describe('PodSecurity: retried writes', () => {
  it('warns once however often the store validates one request', async () => {
    const { plugin } = setup({ namespaces: { apps: ns('apps', { 'pod-security.kubernetes.io/warn': 'baseline' }) } });
    const warnings: string[] = [];
    for (let i = 0; i < 3; i++) await plugin.validate({ ...attrs({ operation: 'CREATE', resource: R.pods, object: hostPathPod('x') }), warnings });
    expect(warnings).toEqual(['would violate PodSecurity "baseline:latest": hostPath volumes (volume "host")']);
  });
});
