// The cluster's certificates and kubeconfigs under $SKIFF_HOME/pki, as
// kubeadm's certs and kubeconfig phases lay them out: one CA, the API
// server's serving and kubelet-client pairs, the ServiceAccount key, and a
// client certificate per component identity (never system:masters but for
// the admin). Kept across `skiff up`s: a second up reuses them, so the user's
// kubeconfig stays valid; what is missing is made.

import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeKubeconfig } from '../client/kubeconfig.js';
import { createCA, createSigningKey, issue, readPair, writePair, type CertSpec, type KeyPair } from '../lib/pki.js';

export interface ClusterPKI {
  dir: string;
  ca: KeyPair;
  caFile: string;
  apiserver: { certFile: string; keyFile: string };
  kubeletClient: { certFile: string; keyFile: string };
  saKeyFile: string;
  saPubFile: string;
}

/** kube-apiserver's serving SANs (kubeadm's apiserver cert). */
export function apiServerSANs(advertise: string[], serviceIP: string): string[] {
  return [...new Set(['127.0.0.1', 'localhost', os.hostname(), ...advertise, serviceIP,
    'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'])];
}

async function ensurePair(dir: string, name: string, ca: KeyPair, spec: CertSpec): Promise<{ certFile: string; keyFile: string }> {
  const have = readPair(dir, name);
  if (have && sansCover(have.cert, spec.sans ?? [])) return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
  return writePair(dir, name, await issue(ca, spec));
}

/** A serving certificate made for another address (a new advertise address) is made again. */
function sansCover(certPem: string, sans: string[]): boolean {
  const alt = (new X509Certificate(certPem).subjectAltName ?? '').split(', ');
  return sans.every((s) => alt.includes(`DNS:${s}`) || alt.includes(`IP Address:${s}`));
}

export async function ensureClusterPKI(home: string, o: { advertise: string[]; serviceIP: string }): Promise<ClusterPKI> {
  const dir = path.join(home, 'pki');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let ca = readPair(dir, 'ca');
  if (!ca) {
    ca = await createCA('skiff-ca');
    writePair(dir, 'ca', ca);
  }
  const apiserver = await ensurePair(dir, 'apiserver', ca, { cn: 'kube-apiserver', usage: 'server', sans: apiServerSANs(o.advertise, o.serviceIP) });
  const kubeletClient = await ensurePair(dir, 'apiserver-kubelet-client', ca, { cn: 'kube-apiserver-kubelet-client', usage: 'client' });
  const saKeyFile = path.join(dir, 'sa.key');
  const saPubFile = path.join(dir, 'sa.pub');
  if (!fs.existsSync(saKeyFile) || !fs.existsSync(saPubFile)) {
    const sa = createSigningKey();
    fs.writeFileSync(saKeyFile, sa.privateKey, { mode: 0o600 });
    fs.writeFileSync(saPubFile, sa.publicKey);
  }
  return { dir, ca, caFile: path.join(dir, 'ca.crt'), apiserver, kubeletClient, saKeyFile, saPubFile };
}

/**
 * A kubeconfig for one identity, with its client certificate and the CA
 * embedded (kubeadm's admin.conf, scheduler.conf, ...). Made once; a file
 * that exists is kept.
 */
export async function ensureKubeconfig(pki: ClusterPKI, file: string, o: { server: string; name: string; user: string; groups?: string[] }): Promise<string> {
  if (fs.existsSync(file)) {
    writeServer(file, o.server);
    return file;
  }
  const c = await issue(pki.ca, { cn: o.user, o: o.groups, usage: 'client' });
  writeKubeconfig(file, { server: o.server, name: o.name, ca: pki.ca.cert, cert: c.cert, key: c.key });
  return file;
}

/** Point a kept kubeconfig at this run's server (the port may differ). */
function writeServer(file: string, server: string): void {
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace(/server: \S+/, `server: ${server}`), { mode: 0o600 });
}

/** A kubelet's serving pair: CN system:node:<name>, SANs its address and name (kubelet serving certificates signed by the cluster CA). */
export function ensureKubeletServing(pki: ClusterPKI, node: string, ips: string[]): Promise<{ certFile: string; keyFile: string }> {
  return ensurePair(pki.dir, `kubelet-${node}`, pki.ca, { cn: `system:node:${node}`, o: ['system:nodes'], usage: 'server', sans: [node, ...ips] });
}
