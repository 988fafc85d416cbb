// The TokenRequest handler over real stores (memory storage), served by
// express on loopback the way the server dispatches subresource "token".

import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { isStatusError, errors } from '../../../api/errors.js';
import { R, type ResourceInfo } from '../../../api/resources.js';
import type { KubeObject } from '../../../api/types.js';
import { createSigningKey } from '../../../lib/pki.js';
import { AdmissionChain } from '../../admission/chain.js';
import { parseRequest } from '../../handlers/request.js';
import type { RestContext } from '../../handlers/rest.js';
import { Store } from '../../registry/store.js';
import { MemoryStorage } from '../../storage/memory.js';
import { setUser } from '../context.js';
import type { AdmissionAttributes } from '../types.js';
import { ServiceAccountTokenAuthenticator } from './authenticator.js';
import { TokenIssuer } from './issuer.js';
import { StoreLookup } from './lookup.js';
import { tokenRequestHandler } from './tokenrequest.js';

const issuerURL = 'https://kubernetes.default.svc.cluster.local';
const keys = createSigningKey();
const storage = new MemoryStorage();
const stores = new Map<string, Store>();
for (const r of [R.serviceaccounts, R.pods, R.secrets, R.nodes]) stores.set(r.plural, new Store(r, storage, '/registry', async () => 'Active'));
const seen: AdmissionAttributes[] = [];
const ctx: RestContext = {
  storage,
  store: (r: ResourceInfo) => stores.get(r.plural)!,
  admission: new AdmissionChain([{ name: 'Recorder', admit: (a) => { seen.push(a); }, validate: (a) => {
    if (a.object?.spec?.audiences?.includes('refused-by-admission')) throw errors.forbidden('no');
  } }]),
};
const issuer = new TokenIssuer({ signingKeyPem: keys.privateKey, issuer: issuerURL, maxExpirationSeconds: 7200 });
const auth = new ServiceAccountTokenAuthenticator({ publicKeysPem: [keys.publicKey], issuers: [issuerURL], lookup: new StoreLookup({ storeOf: (p) => stores.get(p)! }) });
const handle = tokenRequestHandler({ issuer });

let server: http.Server;
let base: string;
let sa: KubeObject;
let pod: KubeObject;

beforeAll(async () => {
  const app = express();
  app.use((req: Request, res: Response, next: NextFunction) => {
    setUser(req, { username: 'admin', groups: ['system:masters'] });
    const info = parseRequest(req);
    if (!info || info.subresource !== 'token') return next();
    handle(ctx, req, res, info).catch(next);
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const s = isStatusError(err) ? err : errors.internal(String(err));
    res.status(s.code).json(s.status);
  });
  await new Promise<void>((resolve) => { server = app.listen(0, '127.0.0.1', () => resolve()); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sa = await stores.get('serviceaccounts')!.create('default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } });
  await stores.get('nodes')!.create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
  pod = await stores.get('pods')!.create('default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { serviceAccountName: 'robot', nodeName: 'node-1', containers: [{ name: 'c', image: 'busybox' }] } });
  await stores.get('pods')!.create('default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'other' }, spec: { serviceAccountName: 'default', containers: [{ name: 'c', image: 'busybox' }] } });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function request(body: unknown, name = 'robot', ns = 'default') {
  const res = await fetch(`${base}/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, warning: res.headers.get('warning'), body: await res.json() };
}

const tr = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({ kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata, spec });

describe('TokenRequest', () => {
  it('answers a token for the API audiences, valid an hour, that authenticates as the ServiceAccount', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { status, body } = await request(tr());
    expect(status).toBe(201);
    expect(body).toMatchObject({
      kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: 'robot', namespace: 'default' },
      spec: { audiences: [issuerURL], expirationSeconds: 3600, boundObjectRef: null },
    });
    const claims = decodeJwt(body.status.token);
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(Date.parse(body.status.expirationTimestamp) / 1000).toBe(claims.exp);
    expect((await auth.authenticateToken(body.status.token))?.username).toBe('system:serviceaccount:default:robot');
    const a = seen.at(-1)!;
    expect([a.operation, a.resource.plural, a.subresource, a.namespace, a.name]).toEqual(['CREATE', 'serviceaccounts', 'token', 'default', 'robot']);
  });

  it('binds to a pod of that ServiceAccount, naming its node', async () => {
    const { status, body } = await request(tr({ audiences: ['vault'], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: pod.metadata.uid } }));
    expect(status).toBe(201);
    const k8s = decodeJwt(body.status.token)['kubernetes.io'] as Record<string, { name: string; uid: string }>;
    expect(k8s.pod).toEqual({ name: 'web', uid: pod.metadata.uid });
    expect(k8s.node.name).toBe('node-1');
    expect(decodeJwt(body.status.token).aud).toEqual(['vault']);
    expect(await auth.authenticateToken(body.status.token, ['vault'])).toBeDefined();
  });

  it('refuses bindings kube refuses', async () => {
    const other = await request(tr({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'other' } }));
    expect([other.status, other.body.message]).toEqual([400, 'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.']);
    const stale = await request(tr({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: 'old-uid' } }));
    expect([stale.status, stale.body.message]).toEqual([409, 'Operation cannot be fulfilled on Pod "web": the UID in the bound object reference (old-uid) does not match the UID in record. The object might have been deleted and then recreated']);
    const kind = await request(tr({ boundObjectRef: { kind: 'Deployment', apiVersion: 'apps/v1', name: 'web' } }));
    expect([kind.status, kind.body.message]).toEqual([400, 'cannot bind token for serviceaccount "robot" to object of type apps/v1, Kind=Deployment.']);
    const missing = await request(tr({ boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 'nope' } }));
    expect([missing.status, missing.body.message]).toEqual([404, 'secrets "nope" not found']);
  });

  it('validates expirationSeconds and caps it at the server\'s maximum with a warning', async () => {
    const short = await request(tr({ expirationSeconds: 10 }));
    expect([short.status, short.body.message]).toEqual([422, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 10: may not specify a duration less than 10 minutes']);
    const long = await request(tr({ expirationSeconds: 86400 }));
    expect(long.status).toBe(201);
    expect(long.body.spec.expirationSeconds).toBe(7200);
    expect(long.warning).toBe('299 - "requested expiration of 86400 seconds shortened to 7200 seconds"');
    const claims = decodeJwt(long.body.status.token);
    expect(claims.exp! - claims.iat!).toBe(7200);
  });

  it('answers 404 for a missing ServiceAccount, 422 for a name that is not the URL\'s, and lets admission refuse', async () => {
    const missing = await request(tr(), 'ghost');
    expect([missing.status, missing.body.message]).toEqual([404, 'serviceaccounts "ghost" not found']);
    const renamed = await request(tr({}, { name: 'someone-else' }));
    expect([renamed.status, renamed.body.message]).toEqual([422, 'TokenRequest.authentication.k8s.io "robot" is invalid: metadata.name: Invalid value: "someone-else": must match the service account name if specified']);
    const refused = await request(tr({ audiences: ['refused-by-admission'] }));
    expect(refused.status).toBe(403);
  });
});

describe('StoreLookup', () => {
  it('serves ServiceAccounts from its watch and still finds one the watch has not shown yet', async () => {
    const lookup = new StoreLookup({ storeOf: (p) => stores.get(p)!, storage });
    lookup.start();
    try {
      expect((await lookup.serviceAccount('default', 'robot'))?.metadata.uid).toBe(sa.metadata.uid);
      const fresh = await stores.get('serviceaccounts')!.create('default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'fresh' } });
      expect((await lookup.serviceAccount('default', 'fresh'))?.metadata.uid).toBe(fresh.metadata.uid);
      await stores.get('serviceaccounts')!.delete('default', 'fresh');
      await expect.poll(() => lookup.serviceAccount('default', 'fresh')).toBeUndefined();
      expect(await lookup.pod('default', 'nope')).toBeUndefined();
      expect((await lookup.node('node-1'))?.metadata.name).toBe('node-1');
    } finally {
      lookup.stop();
    }
  });
});
