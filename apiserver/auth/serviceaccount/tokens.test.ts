import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { StatusError } from '../../../api/errors.js';
import type { KubeObject } from '../../../api/types.js';
import { createSigningKey } from '../../../lib/pki.js';
import { ServiceAccountTokenAuthenticator, InvalidTokenError } from './authenticator.js';
import { TokenIssuer } from './issuer.js';
import { keyID, parsePublicKeys, parseSigningKey } from './keys.js';
import type { ObjectLookup } from './lookup.js';
import { jwks, openIDMetadata } from './oidc.js';

const issuerURL = 'https://kubernetes.default.svc.cluster.local';
const ec = createSigningKey();

function rsaKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const obj = (name: string, uid: string, namespace?: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({ metadata: { name, uid, namespace, ...extra } });

/** A cluster of objects the authenticator reads, changeable by the test. */
class Objects implements ObjectLookup {
  sas = new Map<string, KubeObject>([['default/robot', obj('robot', 'sa-uid', 'default')]]);
  pods = new Map<string, KubeObject>([['default/web', obj('web', 'pod-uid', 'default')]]);
  secrets = new Map<string, KubeObject>([['default/cred', obj('cred', 'secret-uid', 'default')]]);
  nodes = new Map<string, KubeObject>([['node-1', obj('node-1', 'node-uid')]]);
  async serviceAccount(ns: string, name: string) { return this.sas.get(`${ns}/${name}`); }
  async pod(ns: string, name: string) { return this.pods.get(`${ns}/${name}`); }
  async secret(ns: string, name: string) { return this.secrets.get(`${ns}/${name}`); }
  async node(name: string) { return this.nodes.get(name); }
}

function setup(o: { now?: () => number; keys?: { privateKey: string; publicKey: string } } = {}) {
  const keys = o.keys ?? ec;
  const objects = new Objects();
  const issuer = new TokenIssuer({ signingKeyPem: keys.privateKey, issuer: issuerURL, now: o.now });
  const auth = new ServiceAccountTokenAuthenticator({ publicKeysPem: [keys.publicKey], issuers: [issuerURL], lookup: objects });
  const sa = objects.sas.get('default/robot')!;
  return { objects, issuer, auth, sa };
}

/** The reason a token is refused: a 401 StatusError saying only "Unauthorized", the reason kept as its cause. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StatusError);
    expect((e as StatusError).code).toBe(401);
    expect((e as StatusError).status.message).toBe('Unauthorized');
    expect((e as Error).cause).toBeInstanceOf(InvalidTokenError);
    return ((e as Error).cause as Error).message;
  }
  throw new Error('token was accepted');
}

describe('ServiceAccount tokens', () => {
  it('carry kube\'s claims and header, and authenticate as the ServiceAccount', async () => {
    const { issuer, auth, sa } = setup();
    const { token, expiresAt, claims } = await issuer.issue({ serviceAccount: sa, audiences: [issuerURL], expirationSeconds: 3600 });
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: 'ES256', kid: keyID(crypto.createPublicKey(ec.publicKey)) });
    const payload = decodeJwt(token);
    expect(payload).toEqual(claims);
    expect(payload).toMatchObject({
      iss: issuerURL, sub: 'system:serviceaccount:default:robot', aud: [issuerURL],
      'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'robot', uid: 'sa-uid' } },
    });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(expiresAt.getTime()).toBe(payload.exp! * 1000);
    expect(await auth.authenticateToken(token)).toEqual({
      username: 'system:serviceaccount:default:robot', uid: 'sa-uid',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:default'],
      extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${payload.jti}`] },
    });
  });

  it('signs with RS256 when the key is RSA', async () => {
    const keys = rsaKey();
    const { issuer, auth, sa } = setup({ keys });
    const { token } = await issuer.issue({ serviceAccount: sa, audiences: [issuerURL], expirationSeconds: 600 });
    expect(decodeProtectedHeader(token).alg).toBe('RS256');
    expect((await auth.authenticateToken(token))?.username).toBe('system:serviceaccount:default:robot');
  });

  it('leaves tokens of other issuers and non-JWTs to other authenticators', async () => {
    const { auth, sa } = setup();
    const other = new TokenIssuer({ signingKeyPem: ec.privateKey, issuer: 'https://elsewhere' });
    const { token } = await other.issue({ serviceAccount: sa, audiences: [issuerURL], expirationSeconds: 600 });
    expect(await auth.authenticateToken(token)).toBeUndefined();
    expect(await auth.authenticateToken('abcdef.0123456789abcdef')).toBeUndefined();
    expect(await auth.authenticateToken('garbage')).toBeUndefined();
  });

  it('refuses a token signed by a key it does not trust', async () => {
    const { auth, sa } = setup();
    const forger = new TokenIssuer({ signingKeyPem: createSigningKey().privateKey, issuer: issuerURL });
    const { token } = await forger.issue({ serviceAccount: sa, audiences: [issuerURL], expirationSeconds: 600 });
    expect(await refusal(auth.authenticateToken(token))).toMatch(/cryptographic/);
    // A tampered payload under a genuine signature is no better.
    const { token: real } = await setup().issuer.issue({ serviceAccount: sa, audiences: [issuerURL], expirationSeconds: 600 });
    const [h, p, s] = real.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims['kubernetes.io'].serviceaccount.name = 'admin';
    await refusal(auth.authenticateToken([h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.')));
  });

  it('refuses a token for another audience, unless that audience is the one asked for', async () => {
    const { issuer, auth, sa } = setup();
    const { token } = await issuer.issue({ serviceAccount: sa, audiences: ['vault'], expirationSeconds: 600 });
    expect(await refusal(auth.authenticateToken(token))).toBe(`token audiences ["vault"] is invalid for the target audiences ["${issuerURL}"]`);
    expect((await auth.authenticateToken(token, ['vault']))?.username).toBe('system:serviceaccount:default:robot');
  });

  it('refuses an expired token, and one not valid yet, beyond a minute of leeway', async () => {
    const hour = 3600_000;
    const past = setup({ now: () => Date.now() - 2 * hour });
    const { token: expired } = await past.issuer.issue({ serviceAccount: past.sa, audiences: [issuerURL], expirationSeconds: 3600 });
    expect(await refusal(past.auth.authenticateToken(expired))).toBe('service account token has expired');
    const justNow = setup({ now: () => Date.now() - 3630_000 });
    const { token: withinLeeway } = await justNow.issuer.issue({ serviceAccount: justNow.sa, audiences: [issuerURL], expirationSeconds: 3600 });
    expect(await justNow.auth.authenticateToken(withinLeeway)).toBeDefined();
    const future = setup({ now: () => Date.now() + hour });
    const { token: early } = await future.issuer.issue({ serviceAccount: future.sa, audiences: [issuerURL], expirationSeconds: 3600 });
    expect(await refusal(future.auth.authenticateToken(early))).toBe('service account token is not valid yet');
  });

  it('refuses a token whose ServiceAccount was deleted or recreated', async () => {
    const { issuer, auth, sa, objects } = setup();
    const { token } = await issuer.issue({ serviceAccount: sa, audiences: [issuerURL], expirationSeconds: 600 });
    objects.sas.set('default/robot', obj('robot', 'new-uid', 'default'));
    expect(await refusal(auth.authenticateToken(token))).toBe('service account UID (new-uid) does not match claim (sa-uid)');
    objects.sas.delete('default/robot');
    expect(await refusal(auth.authenticateToken(token))).toBe('serviceaccounts "robot" not found');
    // Being deleted for longer than the leeway counts as gone.
    objects.sas.set('default/robot', obj('robot', 'sa-uid', 'default', { deletionTimestamp: new Date(Date.now() - 120_000).toISOString() }));
    expect(await refusal(auth.authenticateToken(token))).toBe('service account default/robot has been deleted');
  });

  it('binds a token to a pod and its node: the user carries both, and the token dies with the pod', async () => {
    const { issuer, auth, sa, objects } = setup();
    const pod = objects.pods.get('default/web')!;
    const node = objects.nodes.get('node-1')!;
    const { token, claims } = await issuer.issue({ serviceAccount: sa, pod, node, audiences: [issuerURL], expirationSeconds: 3607 });
    expect(claims['kubernetes.io']).toEqual({ namespace: 'default', serviceaccount: { name: 'robot', uid: 'sa-uid' }, pod: { name: 'web', uid: 'pod-uid' }, node: { name: 'node-1', uid: 'node-uid' } });
    const user = await auth.authenticateToken(token);
    expect(user?.extra).toEqual({
      'authentication.kubernetes.io/pod-name': ['web'],
      'authentication.kubernetes.io/pod-uid': ['pod-uid'],
      'authentication.kubernetes.io/node-name': ['node-1'],
      'authentication.kubernetes.io/node-uid': ['node-uid'],
      'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`],
    });
    // The node of a pod-bound token is information, not a binding.
    objects.nodes.clear();
    expect(await auth.authenticateToken(token)).toBeDefined();
    objects.pods.set('default/web', obj('web', 'other-pod', 'default'));
    expect(await refusal(auth.authenticateToken(token))).toBe('pod UID (other-pod) does not match service account pod ref claim (pod-uid)');
    objects.pods.clear();
    expect(await refusal(auth.authenticateToken(token))).toBe('service account token has been invalidated');
  });

  it('binds tokens to a Secret or a Node', async () => {
    const { issuer, auth, sa, objects } = setup();
    const { token: toSecret } = await issuer.issue({ serviceAccount: sa, secret: objects.secrets.get('default/cred'), audiences: [issuerURL], expirationSeconds: 600 });
    const { token: toNode } = await issuer.issue({ serviceAccount: sa, node: objects.nodes.get('node-1'), audiences: [issuerURL], expirationSeconds: 600 });
    expect(await auth.authenticateToken(toSecret)).toBeDefined();
    expect((await auth.authenticateToken(toNode))?.extra?.['authentication.kubernetes.io/node-name']).toEqual(['node-1']);
    objects.secrets.clear();
    objects.nodes.clear();
    expect(await refusal(auth.authenticateToken(toSecret))).toBe('service account token has been invalidated');
    expect(await refusal(auth.authenticateToken(toNode))).toBe('service account token has been invalidated');
    await expect(issuer.issue({ serviceAccount: sa, secret: obj('s', 'u'), pod: obj('p', 'u'), audiences: [], expirationSeconds: 600 })).rejects.toThrow(/only be bound to one object type/);
  });

  it('trusts every key of every key file, and finds a key whatever its file holds', async () => {
    const rsa = rsaKey();
    const cert = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p384 = cert.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    const keys = parsePublicKeys(`${ec.publicKey}\n${rsa.privateKey}\n${p384}`);
    expect(keys.map((k) => k.alg)).toEqual(['ES256', 'RS256', 'ES384']);
    expect(parseSigningKey(p384).kid).toBe(keys[2].kid);
    expect(() => parsePublicKeys('nothing')).toThrow(/does not contain any valid RSA or ECDSA public keys/);
    const objects = new Objects();
    const auth = new ServiceAccountTokenAuthenticator({ publicKeysPem: [ec.publicKey, `${rsa.publicKey}${p384}`], issuers: ['https://old', issuerURL], lookup: objects });
    for (const [pem, iss] of [[ec.privateKey, issuerURL], [rsa.privateKey, 'https://old'], [p384, issuerURL]]) {
      const { token } = await new TokenIssuer({ signingKeyPem: pem, issuer: iss }).issue({ serviceAccount: objects.sas.get('default/robot')!, audiences: ['https://old'], expirationSeconds: 600 });
      expect((await auth.authenticateToken(token))?.username).toBe('system:serviceaccount:default:robot');
    }
  });

  it('validates its options as kube-apiserver does', () => {
    expect(() => new TokenIssuer({ signingKeyPem: ec.privateKey, issuer: '' })).toThrow(/required/);
    expect(() => new TokenIssuer({ signingKeyPem: ec.privateKey, issuer: issuerURL, maxExpirationSeconds: 60 })).toThrow('the service-account-max-token-expiration must be between 1 hour and 2^32 seconds');
    expect(new TokenIssuer({ signingKeyPem: ec.privateKey, issuer: issuerURL }).audiences).toEqual([issuerURL]);
    expect(new TokenIssuer({ signingKeyPem: ec.privateKey, issuer: issuerURL, audiences: ['a', 'b'] }).audiences).toEqual(['a', 'b']);
    expect(() => new TokenIssuer({ signingKeyPem: ec.publicKey, issuer: issuerURL })).toThrow(/private key/);
  });
});

describe('OIDC discovery', () => {
  it('describes the issuer and publishes the keys with kube\'s key IDs', async () => {
    const rsa = rsaKey();
    const md = openIDMetadata({ issuer: issuerURL, externalAddress: '10.0.0.1:6443', publicKeysPem: [ec.publicKey, rsa.publicKey] });
    expect(md).toEqual({
      issuer: issuerURL, jwks_uri: 'https://10.0.0.1:6443/openid/v1/jwks',
      response_types_supported: ['id_token'], subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    });
    expect(openIDMetadata({ issuer: issuerURL, jwksUri: 'https://example.test/keys', publicKeysPem: [ec.publicKey] }).jwks_uri).toBe('https://example.test/keys');
    const set = await jwks(parsePublicKeys(ec.publicKey + rsa.publicKey));
    expect(set.keys[0]).toMatchObject({ use: 'sig', kty: 'EC', crv: 'P-256', alg: 'ES256', kid: keyID(crypto.createPublicKey(ec.publicKey)) });
    expect(set.keys[1]).toMatchObject({ use: 'sig', kty: 'RSA', alg: 'RS256', e: 'AQAB' });
    expect(JSON.stringify(set)).not.toMatch(/"d"/);
  });

  it('refuses what kube refuses to serve', () => {
    expect(() => openIDMetadata({ issuer: 'http://insecure', externalAddress: 'a:1', publicKeysPem: [ec.publicKey] })).toThrow('issuer URL must use https scheme, got: http://insecure');
    expect(() => openIDMetadata({ issuer: `${issuerURL}?q=1`, externalAddress: 'a:1', publicKeysPem: [ec.publicKey] })).toThrow(/may not include a query/);
    expect(() => openIDMetadata({ issuer: issuerURL, publicKeysPem: [ec.publicKey] })).toThrow(/must be set/);
  });
});
