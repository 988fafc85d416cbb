import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { R } from '../api/resources.js';
import type { ConfigMap, Event, KubeObject, Pod, Secret } from '../api/types.js';
import { EventRecorder } from '../client/events.js';
import { FakeClient } from '../client/fake.js';
import { SharedInformerFactory } from '../client/informer.js';
import type { ResourceRef } from '../client/interfaces.js';
import { waitFor } from '../test/util/ports.js';
import { Kubelet } from './kubelet.js';
import { mountsFor } from './podconfig.js';
import { FakeRuntime } from './runtime/fake.js';
import type { ContainerConfig } from './runtime/interface.js';
import { TokenManager } from './tokens.js';

const NODE = 'n1';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const SA_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

function pod(name: string, spec: Partial<Pod['spec']> & Record<string, unknown> = {}, container: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'x', tier: 'web' } },
    spec: { nodeName: NODE, serviceAccountName: 'builder', containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], ...container }], ...spec } as Pod['spec'],
  };
}

const secret = (name: string, data: Record<string, string>): Secret => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, type: 'Opaque', data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });
const configMap = (name: string, data: Record<string, string>): ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data });

/** The volume the ServiceAccount admission plugin injects (kube's kube-api-access-xxxxx). */
const apiAccess = {
  name: 'kube-api-access-abcde',
  projected: {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  },
};

describe('Secrets, downward API and projected volumes, and env from Secrets', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => { for (const c of cleanups.splice(0)) c(); });

  function setup(pods: Pod[], objects: KubeObject[] = [], syncFrequencyMs?: number) {
    const seed: [ResourceRef, KubeObject][] = [...pods.map((p) => [R.pods, p] as [ResourceRef, KubeObject]), ...objects.map((o) => [o.kind === 'Secret' ? R.secrets : R.configmaps, o] as [ResourceRef, KubeObject])];
    const client = new FakeClient(...seed);
    const clock = { now: Date.parse('2025-01-01T00:00:00Z') };
    let issued = 0;
    client.prependReactor('create', 'serviceaccounts', (a) => {
      if (a.subresource !== 'token') return { handled: false };
      const body = a.object as { spec: { expirationSeconds: number } };
      return { handled: true, ret: { ...body, status: { token: `token-${++issued}`, expirationTimestamp: new Date(clock.now + body.spec.expirationSeconds * 1000).toISOString() } } };
    });
    const runtime = new FakeRuntime();
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-vol-'));
    const tokens = new TokenManager({ client, now: () => clock.now, random: () => 0 });
    const recorder = new EventRecorder(client, { component: 'kubelet', host: NODE });
    const kubelet = new Kubelet({ client, runtime, nodeName: NODE, nodeIP: '127.0.0.1', rootDir, relistMs: 50, tokens, recorder, syncFrequencyMs });
    kubelet.start(new SharedInformerFactory(client));
    cleanups.push(() => kubelet.stop(), () => fs.rmSync(rootDir, { recursive: true, force: true }));
    const get = (name: string) => client.resource<Pod>(R.pods, 'default').get(name);
    const ready = (name: string) => waitFor(`${name} Ready`, async () => (await get(name)).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 5000);
    const config = (name: string) => runtime.ops('createContainer').map((c) => c.args[0] as ContainerConfig).find((c) => c.labels['io.kubernetes.pod.name'] === name)!;
    const mount = (name: string, containerPath: string) => config(name).mounts.find((m) => m.containerPath === containerPath)!;
    const events = async () => (await client.resource<Event>(R.events, 'default').list()).items;
    /** The pod's volume directory (the fake API server gives pods uids of its own). */
    const volumeDir = async (name: string, plugin: string, volume: string) => path.join(rootDir, 'pods', (await get(name)).metadata.uid!, 'volumes', `kubernetes.io~${plugin}`, volume);
    return { volumeDir, client, runtime, kubelet, get, ready, config, mount, events, clock, rootDir, issued: () => issued };
  }

  it('mounts a Secret volume read-only with its keys, items, modes and defaultMode', async () => {
    const p = pod('sv', {
      volumes: [
        { name: 'all', secret: { secretName: 'creds', defaultMode: 0o400 } },
        { name: 'some', secret: { secretName: 'creds', items: [{ key: 'password', path: 'nested/pw', mode: 0o440 }] } },
      ],
    }, { volumeMounts: [{ name: 'all', mountPath: '/all' }, { name: 'some', mountPath: '/some' }] });
    const t = setup([p], [secret('creds', { username: 'admin', password: 's3cr3t' })]);
    await t.ready('sv');
    const all = t.mount('sv', '/all');
    expect(all.readOnly).toBe(true);
    expect(all.hostPath).toBe(await t.volumeDir('sv', 'secret', 'all'));
    expect(fs.readFileSync(path.join(all.hostPath, 'password'), 'utf8')).toBe('s3cr3t');
    expect(fs.readFileSync(path.join(all.hostPath, 'username'), 'utf8')).toBe('admin');
    expect(fs.statSync(path.join(all.hostPath, 'password')).mode & 0o777).toBe(0o400);
    expect(fs.readlinkSync(path.join(all.hostPath, 'password'))).toBe('..data/password');
    const some = t.mount('sv', '/some').hostPath;
    expect(fs.readdirSync(some).filter((f) => !f.startsWith('..'))).toEqual(['nested']);
    expect(fs.readFileSync(path.join(some, 'nested/pw'), 'utf8')).toBe('s3cr3t');
    expect(fs.statSync(path.join(some, 'nested/pw')).mode & 0o777).toBe(0o440);
    // The pods' directory is root's alone: the host's other users do not walk to the files.
    expect(fs.statSync(path.join(t.rootDir, 'pods')).mode & 0o777).toBe(0o750);
  });

  it('sets env from secretKeyRef and envFrom.secretRef, skipping what is optional and missing', async () => {
    const p = pod('se', {}, {
      env: [
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'NONE', valueFrom: { secretKeyRef: { name: 'absent', key: 'k', optional: true } } },
        { name: 'NOKEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope', optional: true } } },
      ],
      envFrom: [{ secretRef: { name: 'creds' }, prefix: 'DB_' }, { secretRef: { name: 'absent', optional: true } }],
    });
    const t = setup([p], [secret('creds', { username: 'admin', password: 's3cr3t', 'bad key!': 'x' })]);
    await t.ready('se');
    expect([...t.config('se').env].sort()).toEqual(['DB_password=s3cr3t', 'DB_username=admin', 'PW=s3cr3t']);
  });

  it('leaves a pod whose Secret volume is missing in ContainerCreating with kube\'s FailedMount, and starts it once the Secret exists', async () => {
    const p = pod('ms', { volumes: [{ name: 'creds', secret: { secretName: 'later' } }, { name: 'opt', secret: { secretName: 'never', optional: true } }] }, { volumeMounts: [{ name: 'creds', mountPath: '/c' }] });
    const t = setup([p]);
    const cur = await waitFor('waiting', async () => {
      const x = await t.get('ms');
      return x.status?.containerStatuses?.[0]?.state?.waiting ? x : undefined;
    }, 5000);
    expect(cur.status!.containerStatuses![0].state!.waiting!.reason).toBe('ContainerCreating');
    expect(t.runtime.ops('createContainer')).toHaveLength(0);
    const ev = await waitFor('FailedMount', async () => (await t.events()).find((e) => e.reason === 'FailedMount'), 5000);
    expect(ev.message).toBe('MountVolume.SetUp failed for volume "creds" : secret "later" not found');
    expect(ev.type).toBe('Warning');
    await t.client.resource<Secret>(R.secrets, 'default').create(secret('later', { k: 'v' }));
    await waitFor('Ready', async () => (await t.get('ms')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True', 8000);
    // The optional, missing Secret is an empty volume.
    const opt = await t.volumeDir('ms', 'secret', 'opt');
    expect(fs.readdirSync(opt).filter((f) => !f.startsWith('..'))).toEqual([]);
  });

  it('reports CreateContainerConfigError with kube\'s messages for a missing Secret or key in env, and never the Secret\'s values', async () => {
    const noSecret = pod('e1', {}, { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'absent', key: 'k' } } }] });
    const noKey = pod('e2', {}, { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'missing' } } }] });
    const noFrom = pod('e3', {}, { envFrom: [{ secretRef: { name: 'absent' } }] });
    const t = setup([noSecret, noKey, noFrom], [secret('creds', { password: 'hunter2' })]);
    const waiting = (name: string) => waitFor(`${name} waiting`, async () => (await t.get(name)).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError' ? (await t.get(name)).status!.containerStatuses![0].state!.waiting! : undefined, 5000);
    expect((await waiting('e1')).message).toBe('secret "absent" not found');
    expect((await waiting('e2')).message).toBe('couldn\'t find key missing in Secret default/creds');
    expect((await waiting('e3')).message).toBe('secret "absent" not found');
    const evs = await waitFor('Failed events', async () => {
      const e = (await t.events()).filter((x) => x.reason === 'Failed');
      return e.length >= 3 ? e : undefined;
    }, 5000);
    expect(evs.map((e) => e.message).sort()).toEqual(['Error: couldn\'t find key missing in Secret default/creds', 'Error: secret "absent" not found', 'Error: secret "absent" not found']);
    expect(JSON.stringify(await t.events())).not.toContain('hunter2');
  });

  it('fails the mount of a Secret volume item whose key is missing, unless optional', async () => {
    const p = pod('mk', { volumes: [{ name: 'v', secret: { secretName: 'creds', items: [{ key: 'absent', path: 'a' }] } }] });
    const t = setup([p], [secret('creds', { k: 'v' })]);
    const ev = await waitFor('FailedMount', async () => (await t.events()).find((e) => e.reason === 'FailedMount'), 5000);
    expect(ev.message).toBe('MountVolume.SetUp failed for volume "v" : references non-existent secret key: absent');
  });

  it('mounts the ServiceAccount admission plugin\'s projected volume: a bound token, the cluster CA and the namespace', async () => {
    const p = pod('sa', { volumes: [apiAccess] }, { volumeMounts: [{ name: apiAccess.name, mountPath: SA_MOUNT, readOnly: true }] });
    const t = setup([p], [configMap('kube-root-ca.crt', { 'ca.crt': '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n' })]);
    await t.ready('sa');
    const m = t.mount('sa', SA_MOUNT);
    expect(m.readOnly).toBe(true);
    expect(m.hostPath).toBe(await t.volumeDir('sa', 'projected', apiAccess.name));
    expect(fs.readdirSync(m.hostPath).filter((f) => !f.startsWith('..')).sort()).toEqual(['ca.crt', 'namespace', 'token']);
    expect(fs.readFileSync(path.join(m.hostPath, 'token'), 'utf8')).toBe('token-1');
    expect(fs.readFileSync(path.join(m.hostPath, 'namespace'), 'utf8')).toBe('default');
    expect(fs.readFileSync(path.join(m.hostPath, 'ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
    for (const f of ['token', 'ca.crt', 'namespace']) expect(fs.statSync(path.join(m.hostPath, f)).mode & 0o777).toBe(0o644);
    const req = t.client.actions.find((a) => a.resource === 'serviceaccounts' && a.subresource === 'token')!;
    expect(req).toMatchObject({ verb: 'create', namespace: 'default', name: 'builder' });
    expect((req.object as { spec: unknown }).spec).toEqual({ expirationSeconds: 3607, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'sa', uid: (await t.get('sa')).metadata.uid } });
  });

  it('rewrites the token in place once 80% of its lifetime has passed, and only then', async () => {
    const p = pod('rf', { volumes: [apiAccess] }, { volumeMounts: [{ name: apiAccess.name, mountPath: SA_MOUNT }] });
    const t = setup([p], [configMap('kube-root-ca.crt', { 'ca.crt': 'CA' })], 100);
    await t.ready('rf');
    const dir = t.mount('rf', SA_MOUNT).hostPath;
    const token = () => fs.readFileSync(path.join(dir, 'token'), 'utf8');
    expect(token()).toBe('token-1');
    const data1 = fs.readlinkSync(path.join(dir, '..data'));
    // Well within its lifetime: several syncs later, the same token and the same directory.
    t.clock.now += 2000_000;
    await new Promise((r) => setTimeout(r, 400));
    expect(token()).toBe('token-1');
    expect(t.issued()).toBe(1);
    expect(fs.readlinkSync(path.join(dir, '..data'))).toBe(data1);
    // Past 80% of 3607 s: the next sync writes a new token through a new ..data.
    t.clock.now += 900_000;
    await waitFor('refreshed token', () => token() === 'token-2', 5000);
    expect(fs.readlinkSync(path.join(dir, '..data'))).not.toBe(data1);
    expect(fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8')).toBe('CA');
    // The container was not restarted for it.
    expect(t.runtime.ops('createContainer')).toHaveLength(1);
  });

  it('fails the projected mount with kube\'s aggregate message when sources are missing', async () => {
    const p = pod('pm', { volumes: [{ name: 'v', projected: { sources: [{ configMap: { name: 'absent-cm' } }, { secret: { name: 'absent-s' } }, { secret: { name: 'opt', optional: true } }] } }] });
    const t = setup([p]);
    const ev = await waitFor('FailedMount', async () => (await t.events()).find((e) => e.reason === 'FailedMount'), 5000);
    expect(ev.message).toBe('MountVolume.SetUp failed for volume "v" : [configmap "absent-cm" not found, secret "absent-s" not found]');
    expect(t.issued()).toBe(0);
  });

  it('projects downward API fields: whole label maps as kube formats them, and single labels', async () => {
    const p = pod('dw', {
      volumes: [{ name: 'info', downwardAPI: { items: [
        { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
        { path: 'tier', fieldRef: { fieldPath: "metadata.labels['tier']" } },
        { path: 'name', fieldRef: { fieldPath: 'metadata.name' }, mode: 0o600 },
        { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } },
      ] } }],
    }, { volumeMounts: [{ name: 'info', mountPath: '/etc/podinfo' }], resources: { limits: { memory: '64Mi' } } });
    const t = setup([p]);
    await t.ready('dw');
    const dir = t.mount('dw', '/etc/podinfo').hostPath;
    expect(dir).toContain('kubernetes.io~downward-api');
    expect(fs.readFileSync(path.join(dir, 'labels'), 'utf8')).toBe('app="x"\ntier="web"');
    expect(fs.readFileSync(path.join(dir, 'tier'), 'utf8')).toBe('web');
    expect(fs.readFileSync(path.join(dir, 'name'), 'utf8')).toBe('dw');
    expect(fs.statSync(path.join(dir, 'name')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, 'mem'), 'utf8')).toBe('64');
  });

  it('refuses a subPath that a container turned into a symlink out of its volume', () => {
    const vol = fs.mkdtempSync(path.join(os.tmpdir(), 'subpath-vol-'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'subpath-outside-'));
    cleanups.push(() => fs.rmSync(vol, { recursive: true, force: true }), () => fs.rmSync(outside, { recursive: true, force: true }));
    // As a container of the pod could have made them inside its emptyDir.
    fs.symlinkSync(outside, path.join(vol, 'escape'));
    fs.symlinkSync(path.join(outside, 'nowhere'), path.join(vol, 'dangling'));
    fs.mkdirSync(path.join(vol, 'fine'));
    const p = pod('sp', { volumes: [{ name: 'scratch', emptyDir: {} }] });
    const mountOf = (subPath: string) => mountsFor(p, { name: 'c', volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath }] }, new Map([['scratch', vol]]));
    for (const bad of ['escape', 'escape/inner', 'dangling', 'dangling/deeper']) {
      expect(() => mountOf(bad), bad).toThrow('failed to prepare subPath for volumeMount "scratch" of container "c"');
    }
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(mountOf('fine')[0].hostPath).toBe(fs.realpathSync(path.join(vol, 'fine')));
    expect(mountOf('new/dir')[0].hostPath).toBe(fs.realpathSync(path.join(vol, 'new/dir')));
  });
});
