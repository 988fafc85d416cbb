// The cluster's certificates, as kubeadm's certs phase makes them: one CA,
// serving certificates with the SANs clients dial, and client certificates
// whose subject is the identity (CN = user, O = groups), the way the API
// server's x509 authenticator reads them. X.509 encoding is @peculiar/x509's,
// in lib/x509.ts, loaded on first use (see there); ECDSA P-256
// keeps generation in milliseconds and is accepted by Go's and Node's TLS.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ParsedCSR } from './x509.js';

export type { ParsedCSR };

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

/** The X.509 encoder (lib/x509.ts), loaded on first use. */
const x509 = () => import('./x509.js');

/** A self-signed CA valid for ten years (kubeadm's CA lifetime). */
export async function createCA(cn: string): Promise<KeyPair> {
  return (await x509()).createCA(cn);
}

/** A leaf certificate signed by `ca`, valid for a year unless `days` says otherwise. */
export async function issue(ca: KeyPair, spec: CertSpec): Promise<KeyPair> {
  return (await x509()).issue(ca, spec);
}

/** A CSR whose key is made here (the key never leaves the caller): PEM request and PKCS#8 key. */
export async function createCSR(spec: { cn: string; o?: string[]; sans?: string[] }): Promise<{ csr: string; key: string }> {
  return (await x509()).createCSR(spec);
}

/** Whether the request is signed by the key it carries (proof of possession). */
export async function verifyCSR(pem: string): Promise<boolean> {
  return (await x509()).verifyCSR(pem);
}

/** Sign a request with the CA as kube's csrsigning controller does (lib/x509.ts signCSR). */
export async function signCSR(ca: KeyPair, csrPem: string, o: { usages: string[]; durationSeconds: number }): Promise<string> {
  return (await x509()).signCSR(ca, csrPem, o);
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
