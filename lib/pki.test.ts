import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { caCertHash, createCA, createCSR, identityOf, issue, signCSR, verifyCSR } from './pki.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('lib/pki', () => {
  it('loads the X.509 stack only on first use: no value import of it or of lib/x509', () => {
    // Every process that reads a certificate's subject or writes a pair imports pki.ts; the
    // kubelet given its serving certificate and the supervisor must not pay ~11 MiB for the encoder.
    const src = fs.readFileSync(path.join(here, `pki${path.extname(fileURLToPath(import.meta.url))}`), 'utf8');
    const valueImports = [...src.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)].map((m) => m[1] ?? m[2]);
    expect(valueImports.filter((m) => /x509|reflect-metadata|@peculiar/.test(m))).toEqual([]);
  });

  it('issues through the lazily loaded encoder: a leaf the CA verifies, with its subject and SANs', async () => {
    const ca = await createCA('test-ca');
    const leaf = await issue(ca, { cn: 'alice', o: ['devs', 'ops'], sans: ['example.test', '10.0.0.1'], usage: 'both' });
    const cert = new crypto.X509Certificate(leaf.cert);
    expect(cert.verify(new crypto.X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(cert.subject).toContain('CN=alice');
    expect(cert.subjectAltName).toContain('DNS:example.test');
    expect(cert.subjectAltName).toContain('IP Address:10.0.0.1');
    expect(identityOf({ subject: { CN: 'alice', O: ['devs', 'ops'] } })).toEqual({ user: 'alice', groups: ['devs', 'ops'] });
    expect(caCertHash(ca.cert)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('creates, verifies and signs a CSR through the same encoder', async () => {
    const ca = await createCA('csr-ca');
    const { csr } = await createCSR({ cn: 'system:node:n1', o: ['system:nodes'] });
    expect(await verifyCSR(csr)).toBe(true);
    const pem = await signCSR(ca, csr, { usages: ['digital signature', 'client auth'], durationSeconds: 3600 });
    const cert = new crypto.X509Certificate(pem);
    expect(cert.subject).toContain('CN=system:node:n1');
    expect(cert.checkIssued(new crypto.X509Certificate(ca.cert))).toBe(true);
  });
});
