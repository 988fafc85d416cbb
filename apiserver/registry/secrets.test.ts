// Secrets and ServiceAccounts through the real store (memory storage): the
// write-only stringData, kube's per-type validation and the promise that no
// error message carries a secret's value.

import { describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { StatusError } from '../../api/errors.js';
import { parseFieldSelector, selectableFields } from '../../api/fields.js';
import { toTable } from '../printers.js';
import { MemoryStorage } from '../storage/memory.js';
import { Store } from './store.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function stores() {
  const storage = new MemoryStorage();
  const phase = async () => 'Active' as const;
  return { secrets: new Store(R.secrets, storage, '/registry', phase), sas: new Store(R.serviceaccounts, storage, '/registry', phase) };
}

function secret(name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, ...extra };
}

async function rejection(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error('write was accepted');
}

describe('Secret', () => {
  it('defaults type to Opaque and merges stringData into data, never storing it', async () => {
    const { secrets } = stores();
    const out = await secrets.create('default', secret('s', { data: { a: b64('old'), b: b64('keep') }, stringData: { a: 'new', c: 'plain' } }));
    expect(out.type).toBe('Opaque');
    expect(out.stringData).toBeUndefined();
    expect(out.data).toEqual({ a: b64('new'), b: b64('keep'), c: b64('plain') });
    const updated = await secrets.update('default', 's', (cur) => ({ ...cur!, stringData: { b: 'changed' } }));
    expect(updated.object.data).toEqual({ a: b64('new'), b: b64('changed'), c: b64('plain') });
    expect(updated.object.stringData).toBeUndefined();
  });

  it('refuses data that is not base64 without showing the value', async () => {
    const { secrets } = stores();
    const e = await rejection(secrets.create('default', secret('s', { data: { password: 'hunter2!!' } })));
    expect(e.code).toBe(422);
    expect(e.message).toBe('Secret "s" is invalid: data[password]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 7');
    expect(JSON.stringify(e.status)).not.toContain('hunter2');
  });

  it('never echoes a value of the wrong shape either', async () => {
    const { secrets } = stores();
    const e = await rejection(secrets.create('default', secret('s', { data: { pin: 424242 }, stringData: { other: 171717 } } as never)));
    expect(e.code).toBe(422);
    const body = JSON.stringify(e.status);
    expect(body).not.toContain('424242');
    expect(body).not.toContain('171717');
    expect(e.status.details?.causes?.map((c) => c.field).sort()).toEqual(['data.pin', 'stringData.other']);
  });

  it('checks keys as config keys, with kube\'s messages', async () => {
    const { secrets } = stores();
    const e = await rejection(secrets.create('default', secret('s', { data: { 'bad key': b64('x'), '..x': b64('y') } })));
    expect(e.status.details?.causes).toEqual([
      { reason: 'FieldValueInvalid', field: 'data[bad key]', message: `Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')` },
      { reason: 'FieldValueInvalid', field: 'data[..x]', message: `Invalid value: "..x": must not start with '..'` },
    ]);
  });

  it('limits the decoded data to 1 MiB in total', async () => {
    const { secrets } = stores();
    const half = Buffer.alloc(512 * 1024 + 1).toString('base64');
    const e = await rejection(secrets.create('default', secret('s', { data: { a: half, b: half } })));
    expect(e.message).toBe('Secret "s" is invalid: data: Too long: may not be more than 1048576 bytes');
    await secrets.create('default', secret('ok', { data: { a: Buffer.alloc(1024 * 1024).toString('base64') } }));
  });

  it('requires the keys each type needs', async () => {
    const { secrets } = stores();
    const cases: [string, Record<string, string>, string[]][] = [
      ['kubernetes.io/tls', {}, ['data[tls.crt]', 'data[tls.key]']],
      ['kubernetes.io/dockerconfigjson', {}, ['data[.dockerconfigjson]']],
      ['kubernetes.io/dockercfg', {}, ['data[.dockercfg]']],
      ['kubernetes.io/basic-auth', {}, ['data[username]', 'data[password]']],
      ['kubernetes.io/ssh-auth', { 'ssh-privatekey': '' }, ['data[ssh-privatekey]']],
      ['kubernetes.io/service-account-token', {}, ['metadata.annotations[kubernetes.io/service-account.name]']],
    ];
    for (const [type, data, fields] of cases) {
      const e = await rejection(secrets.create('default', secret('s', { type, data })));
      expect(e.status.details?.causes?.map((c) => [c.field, c.message])).toEqual(fields.map((f) => [f, 'Required value']));
    }
    await secrets.create('default', secret('tls', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c'), 'tls.key': b64('k') } }));
    await secrets.create('default', secret('basic', { type: 'kubernetes.io/basic-auth', data: { password: '' } }));
    await secrets.create('default', secret('sat', { type: 'kubernetes.io/service-account-token', metadata: { name: 'sat', annotations: { 'kubernetes.io/service-account.name': 'default' } } }));
    await secrets.create('default', secret('boot', { type: 'bootstrap.kubernetes.io/token', stringData: { 'token-id': 'abcdef' } }));
  });

  it('wants .dockerconfigjson to be a JSON object and says why without content', async () => {
    const { secrets } = stores();
    const bad = await rejection(secrets.create('default', secret('s', { type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths": {"r": {"password": "s3cr3t"' } })));
    expect(bad.message).toBe('Secret "s" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input');
    const arr = await rejection(secrets.create('default', secret('s', { type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '["s3cr3t"]' } })));
    expect(arr.message).toContain('json: cannot unmarshal array into Go value of type map[string]interface {}');
    for (const e of [bad, arr]) expect(JSON.stringify(e.status)).not.toContain('s3cr3t');
    await secrets.create('default', secret('ok', { type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths":{}}' } }));
  });

  it('keeps type immutable, and an immutable Secret\'s data', async () => {
    const { secrets } = stores();
    await secrets.create('default', secret('s', { data: { a: b64('1') } }));
    const t = await rejection(secrets.update('default', 's', (cur) => ({ ...cur!, type: 'bootstrap.kubernetes.io/token' })));
    expect(t.message).toBe('Secret "s" is invalid: type: Invalid value: "bootstrap.kubernetes.io/token": field is immutable');
    await secrets.update('default', 's', (cur) => ({ ...cur!, immutable: true }));
    const d = await rejection(secrets.update('default', 's', (cur) => ({ ...cur!, stringData: { a: 'changed' } })));
    expect(d.message).toBe('Secret "s" is invalid: data: Forbidden: field is immutable when `immutable` is set');
    const i = await rejection(secrets.update('default', 's', (cur) => ({ ...cur!, immutable: false })));
    expect(i.message).toBe('Secret "s" is invalid: immutable: Forbidden: field is immutable when `immutable` is set');
    // Metadata still changes.
    const ok = await secrets.update('default', 's', (cur) => ({ ...cur!, metadata: { ...cur!.metadata, labels: { a: 'b' } } }));
    expect(ok.object.metadata.labels).toEqual({ a: 'b' });
  });

  it('prints NAME TYPE DATA AGE and selects on type', async () => {
    const { secrets } = stores();
    const s = await secrets.create('default', secret('s', { type: 'kubernetes.io/basic-auth', stringData: { username: 'u', password: 'p' } }));
    const table = toTable(R.secrets, [s], {}, { now: new Date(Date.parse(s.metadata.creationTimestamp!) + 5000) });
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Type', 'Data', 'Age']);
    expect(table.rows[0].cells).toEqual(['s', 'kubernetes.io/basic-auth', 2, '5s']);
    expect(parseFieldSelector('type=kubernetes.io/basic-auth').matches(selectableFields(R.secrets, s))).toBe(true);
    expect(parseFieldSelector('type=Opaque').matches(selectableFields(R.secrets, s))).toBe(false);
  });
});

describe('ServiceAccount', () => {
  it('keeps only the names of its secrets and prints NAME SECRETS AGE', async () => {
    const { sas } = stores();
    const sa = await sas.create('default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' }, secrets: [{ name: 'a', namespace: 'other', uid: 'x' }], automountServiceAccountToken: false });
    expect(sa.secrets).toEqual([{ name: 'a' }]);
    expect(sa.automountServiceAccountToken).toBe(false);
    const table = toTable(R.serviceaccounts, [sa], {});
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Secrets', 'Age']);
    expect(table.rows[0].cells.slice(0, 2)).toEqual(['robot', 1]);
  });
});
