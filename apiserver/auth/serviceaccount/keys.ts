// The keys behind ServiceAccount tokens (kube's pkg/serviceaccount/jwt.go and
// keyutil): the signing key of --service-account-signing-key-file and the
// public keys of --service-account-key-file, each with the JWS algorithm its
// type implies and kube's key ID (the unpadded base64url SHA-256 of the
// PKIX public key), so tokens and the JWKS document name keys as kube does.

import crypto, { type KeyObject } from 'node:crypto';

export type SigningAlg = 'RS256' | 'ES256' | 'ES384' | 'ES512';

export interface PublicKey {
  key: KeyObject;
  alg: SigningAlg;
  kid: string;
}

export interface SigningKey extends PublicKey {
  privateKey: KeyObject;
}

const curveAlgs: Record<string, SigningAlg> = { prime256v1: 'ES256', 'P-256': 'ES256', secp384r1: 'ES384', 'P-384': 'ES384', secp521r1: 'ES512', 'P-521': 'ES512' };

/** RSA keys sign RS256, ECDSA keys by their curve, as kube's signerFromRSAPrivateKey / signerFromECDSAPrivateKey. */
export function algorithmOf(key: KeyObject): SigningAlg {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') {
    const alg = curveAlgs[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (alg) return alg;
    throw new Error(`unknown private key curve, must be 256, 384, or 521: ${key.asymmetricKeyDetails?.namedCurve}`);
  }
  throw new Error(`unknown key type ${key.asymmetricKeyType}: only RSA and ECDSA keys sign ServiceAccount tokens`);
}

/** keyIDFromPublicKey: base64url(sha256(DER of the PKIX public key)), unpadded. */
export function keyID(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64url');
}

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/**
 * Every public key in PEM text (keyutil.ParsePublicKeysPEM): public keys,
 * private keys (their public half) and certificates; a file may hold many.
 */
export function parsePublicKeys(pem: string): PublicKey[] {
  const out: PublicKey[] = [];
  for (const m of pem.matchAll(pemBlock)) {
    const block = m[0];
    const type = m[1];
    let key: KeyObject;
    if (type === 'CERTIFICATE') key = new crypto.X509Certificate(block).publicKey;
    else if (type.endsWith('PRIVATE KEY')) key = crypto.createPublicKey(crypto.createPrivateKey(block));
    else if (type.endsWith('PUBLIC KEY')) key = crypto.createPublicKey(block);
    else continue;
    out.push({ key, alg: algorithmOf(key), kid: keyID(key) });
  }
  if (!out.length) throw new Error('data does not contain any valid RSA or ECDSA public keys');
  return out;
}

/** The private key of --service-account-signing-key-file (PKCS#1, SEC 1 or PKCS#8 PEM). */
export function parseSigningKey(pem: string): SigningKey {
  const m = [...pem.matchAll(pemBlock)].find((b) => b[1].endsWith('PRIVATE KEY'));
  if (!m) throw new Error('data does not contain a valid RSA or ECDSA private key');
  const privateKey = crypto.createPrivateKey(m[0]);
  const key = crypto.createPublicKey(privateKey);
  return { privateKey, key, alg: algorithmOf(key), kid: keyID(key) };
}
