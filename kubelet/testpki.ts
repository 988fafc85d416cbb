// Certificates for the kubelet's unit tests, made once per test process with
// lib/pki: a cluster CA, the kubelet's serving certificate (CN
// system:node:<name>, SANs 127.0.0.1 and the name, as `skiff up` issues it)
// and client certificates for any identity.

import { createCA, issue, type KeyPair } from '../lib/pki.js';

let ca: Promise<KeyPair> | undefined;

export function testCA(): Promise<KeyPair> {
  ca ??= createCA('skiff-test-ca');
  return ca;
}

export async function servingPair(node: string): Promise<KeyPair> {
  return issue(await testCA(), { cn: `system:node:${node}`, o: ['system:nodes'], sans: ['127.0.0.1', node], usage: 'server' });
}

export async function clientPair(user: string, groups: string[] = [], usage: 'client' | 'server' = 'client'): Promise<KeyPair> {
  return issue(await testCA(), { cn: user, o: groups, usage });
}
