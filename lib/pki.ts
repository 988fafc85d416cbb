// The cluster's certificates, as kubeadm's certs phase makes them: one CA,
// serving certificates with the SANs clients dial, and client certificates
// whose subject is the identity (CN = user, O = groups), the way the API
// server's x509 authenticator reads them. X.509 encoding is @peculiar/x509's
// (DER/ASN.1 by a maintained library, keys from Node's WebCrypto); ECDSA P-256
// keeps generation in milliseconds and is accepted by Go's and Node's TLS.

// tsyringe, under @peculiar/x509, needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(crypto.webcrypto as Crypto);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 24 * 3600 * 1000;

/** A certificate and its private key, both PEM. */
export interface KeyPair { cert: string; key: string }

export interface CertSpec {
  /** Subject CN: the user name of a client certificate. */
  cn: string;
  /** Subject O: the groups of a client certificate. */
  o?: string[];
  /** Subject alternative names of a serving certificate: DNS names and IP addresses mixed. */
  sans?: string[];
  usage: 'server' | 'client' | 'both';
  days?: number;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return crypto.webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function subject(cn: string, o: string[] = []): string {
  // RFC 4514 escaping of the characters a DN gives meaning to.
  const esc = (s: string) => s.replace(/([,+"\\<>;=])/g, '\\$1');
  return [...o.map((g) => `O=${esc(g)}`), `CN=${esc(cn)}`].join(', ');
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return crypto.webcrypto.subtle.importKey('pkcs8', der, alg, true, ['sign']) as Promise<CryptoKey>;
}

/** A self-signed CA valid for ten years (kubeadm's CA lifetime). */
export async function createCA(cn: string): Promise<KeyPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    name: subject(cn),
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3650 * day),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** A leaf certificate signed by `ca`, valid for a year unless `days` says otherwise. */
export async function issue(ca: KeyPair, spec: CertSpec): Promise<KeyPair> {
  const keys = await newKeys();
  const caCert = new x509.X509Certificate(ca.cert);
  const usages: string[] = [];
  if (spec.usage !== 'client') usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (spec.usage !== 'server') usages.push(x509.ExtendedKeyUsage.clientAuth);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
  ];
  if (spec.sans?.length) {
    extensions.push(new x509.SubjectAlternativeNameExtension(
      spec.sans.map((s) => (net.isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s })),
    ));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: crypto.randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    subject: subject(spec.cn, spec.o),
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + (spec.days ?? 365) * day),
    publicKey: keys.publicKey,
    signingKey: await importKey(ca.key),
    signingAlgorithm: alg,
    extensions,
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** The ServiceAccount token signing key pair (kubeadm's sa.key/sa.pub), PEM. */
export function createSigningKey(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** kubeadm's --discovery-token-ca-cert-hash: sha256 of the CA's SubjectPublicKeyInfo. */
export function caCertHash(caPem: string): string {
  const spki = new crypto.X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${crypto.createHash('sha256').update(spki).digest('hex')}`;
}

/** Write a pair as <dir>/<name>.crt and <dir>/<name>.key, the key readable by its owner alone. */
export function writePair(dir: string, name: string, pair: KeyPair): { certFile: string; keyFile: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  fs.writeFileSync(certFile, pair.cert, { mode: 0o644 });
  fs.writeFileSync(keyFile, pair.key, { mode: 0o600 });
  fs.chmodSync(keyFile, 0o600);
  return { certFile, keyFile };
}

export function readPair(dir: string, name: string): KeyPair | undefined {
  try {
    return { cert: fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8'), key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8') };
  } catch {
    return undefined;
  }
}

/** The identity a verified client certificate names: CN is the user, each O a group (kube's x509 CommonNameUserConversion). */
export function identityOf(cert: { subject?: Record<string, string | string[]> }): { user: string; groups: string[] } | undefined {
  const s = cert.subject;
  if (!s?.CN) return undefined;
  const cn = Array.isArray(s.CN) ? s.CN[0] : s.CN;
  const o = s.O === undefined ? [] : Array.isArray(s.O) ? s.O : [s.O];
  return { user: cn, groups: o };
}
