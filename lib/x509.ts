// The X.509 encoding behind lib/pki.ts: certificates, CSRs and their parsing,
// with @peculiar/x509 (DER/ASN.1 by a maintained library, keys from Node's
// WebCrypto). Apart from pki.ts because the library and what it pulls in
// (reflect-metadata, tsyringe, asn1js and the @peculiar/asn1-* schemas) hold
// ~11 MiB of a process's memory once loaded: a kubelet given its serving
// certificate, the supervisor and the CLI's other paths never load it.
// pki.ts's async functions load it on first use; what must be synchronous
// (parseCSR, knownKeyUsages: the CSR admission, validation and controllers)
// is imported from here.

// tsyringe, under @peculiar/x509, needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import crypto from 'node:crypto';
import net from 'node:net';
import * as x509 from '@peculiar/x509';
import type { CertSpec, KeyPair } from './pki.js';

x509.cryptoProvider.set(crypto.webcrypto as Crypto);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 24 * 3600 * 1000;

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

/** What a PKCS#10 request asks for: the subject and the SANs (kube's x509.CertificateRequest fields the approvers read). */
export interface ParsedCSR { cn: string; o: string[]; dns: string[]; ips: string[]; emails: string[]; uris: string[]; publicKeyDer: Buffer }

/** A CSR whose key is made here (the key never leaves the caller): PEM request and PKCS#8 key. */
export async function createCSR(spec: { cn: string; o?: string[]; sans?: string[] }): Promise<{ csr: string; key: string }> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [];
  if (spec.sans?.length) {
    extensions.push(new x509.SubjectAlternativeNameExtension(spec.sans.map((s) => (net.isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s }))));
  }
  const req = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject(spec.cn, spec.o), keys, signingAlgorithm: alg, extensions });
  return { csr: req.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** Parse a "CERTIFICATE REQUEST" PEM block; throws with kube's message when it is something else. */
export function parseCSR(pem: string): ParsedCSR {
  const m = /-----BEGIN ([A-Z ]+)-----/.exec(pem);
  if (!m) throw new Error('PEM block type must be CERTIFICATE REQUEST');
  if (m[1] !== 'CERTIFICATE REQUEST') throw new Error('PEM block type must be CERTIFICATE REQUEST');
  let req: x509.Pkcs10CertificateRequest;
  try {
    req = new x509.Pkcs10CertificateRequest(pem);
  } catch (e) {
    throw new Error(`asn1: structure error: ${(e as Error).message}`);
  }
  const field = (n: string) => req.subjectName.getField(n);
  const out: ParsedCSR = { cn: field('CN')[0] ?? '', o: field('O'), dns: [], ips: [], emails: [], uris: [], publicKeyDer: Buffer.from(req.publicKey.rawData) };
  const san = sanOf(req);
  for (const n of san?.names.items ?? []) {
    if (n.type === 'dns') out.dns.push(n.value);
    else if (n.type === 'ip') out.ips.push(n.value);
    else if (n.type === 'email') out.emails.push(n.value);
    else if (n.type === 'url') out.uris.push(n.value);
  }
  return out;
}

function sanOf(req: x509.Pkcs10CertificateRequest): x509.SubjectAlternativeNameExtension | undefined {
  const e = req.getExtension('2.5.29.17');
  return e ? new x509.SubjectAlternativeNameExtension(e.rawData) : undefined;
}

/** Whether the request is signed by the key it carries (proof of possession). */
export function verifyCSR(pem: string): Promise<boolean> {
  return new x509.Pkcs10CertificateRequest(pem).verify();
}

/** kube's KeyUsage strings, as the csrsigning controller maps them onto the certificate. */
const keyUsageFlags: Record<string, number> = {
  'signing': x509.KeyUsageFlags.digitalSignature, 'digital signature': x509.KeyUsageFlags.digitalSignature,
  'content commitment': x509.KeyUsageFlags.nonRepudiation, 'key encipherment': x509.KeyUsageFlags.keyEncipherment,
  'key agreement': x509.KeyUsageFlags.keyAgreement, 'data encipherment': x509.KeyUsageFlags.dataEncipherment,
  'cert sign': x509.KeyUsageFlags.keyCertSign, 'crl sign': x509.KeyUsageFlags.cRLSign,
  'encipher only': x509.KeyUsageFlags.encipherOnly, 'decipher only': x509.KeyUsageFlags.decipherOnly,
};
const extKeyUsages: Record<string, string> = {
  'server auth': x509.ExtendedKeyUsage.serverAuth, 'client auth': x509.ExtendedKeyUsage.clientAuth,
  'code signing': x509.ExtendedKeyUsage.codeSigning, 'email protection': x509.ExtendedKeyUsage.emailProtection,
  'timestamping': x509.ExtendedKeyUsage.timeStamping, 'ocsp signing': x509.ExtendedKeyUsage.ocspSigning,
};
export const knownKeyUsages = [...Object.keys(keyUsageFlags), ...Object.keys(extKeyUsages), 'any', 'ipsec end system', 'ipsec tunnel', 'ipsec user',
  's/mime', 'microsoft sgc', 'netscape sgc'];

/**
 * Sign a request with the CA as kube's csrsigning controller does: subject
 * and SANs from the request, usages from the CSR object, not after the CA's
 * own expiry, backdated 5 minutes for clock skew.
 */
export async function signCSR(ca: KeyPair, csrPem: string, o: { usages: string[]; durationSeconds: number }): Promise<string> {
  const req = new x509.Pkcs10CertificateRequest(csrPem);
  const caCert = new x509.X509Certificate(ca.cert);
  const flags = o.usages.reduce((f, u) => f | (keyUsageFlags[u] ?? 0), 0);
  const eku = o.usages.map((u) => extKeyUsages[u]).filter((u): u is string => !!u);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
  if (flags) extensions.push(new x509.KeyUsagesExtension(flags, true));
  if (eku.length) extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caCert, false));
  const san = sanOf(req);
  if (san) extensions.push(new x509.SubjectAlternativeNameExtension(san.names.toJSON(), false));
  const now = Date.now();
  const notAfter = Math.min(now + o.durationSeconds * 1000, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: crypto.randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    subject: req.subjectName.toString(),
    issuer: caCert.subject,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(notAfter),
    publicKey: req.publicKey,
    signingKey: await importKey(ca.key),
    signingAlgorithm: alg,
    extensions,
  });
  return cert.toString('pem');
}
