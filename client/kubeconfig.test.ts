import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionFromFlags, loadKubeconfig, writeKubeconfig } from './kubeconfig.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kc-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('kubeconfig', () => {
  it('round-trips what skiff up writes', () => {
    const f = path.join(tmp(), 'sub', 'kubeconfig');
    writeKubeconfig(f, { server: 'http://127.0.0.1:6443', name: 'skiff' });
    expect(loadKubeconfig(f)).toEqual({ server: 'http://127.0.0.1:6443' });
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(connectionFromFlags({ kubeconfig: f, master: 'http://127.0.0.1:1' }).server).toBe('http://127.0.0.1:1');
    expect(connectionFromFlags({ master: 'http://127.0.0.1:2' })).toEqual({ server: 'http://127.0.0.1:2' });
    expect(() => connectionFromFlags({})).toThrow(/--kubeconfig/);
  });

  it('resolves the current context with CA, token and client cert data', () => {
    const d = tmp();
    const f = path.join(d, 'config');
    fs.writeFileSync(path.join(d, 'tok'), 'file-token\n');
    const e = (s: string) => Buffer.from(s).toString('base64');
    fs.writeFileSync(f, `
apiVersion: v1
kind: Config
current-context: b
clusters:
- name: c1
  cluster: { server: "https://127.0.0.1:6443", certificate-authority-data: ${e('CA PEM')} }
- name: c2
  cluster: { server: "https://127.0.0.2:6443", insecure-skip-tls-verify: true }
users:
- name: u1
  user: { client-certificate-data: ${e('CERT')}, client-key-data: ${e('KEY')} }
- name: u2
  user: { token-file: tok }
contexts:
- name: a
  context: { cluster: c1, user: u1 }
- name: b
  context: { cluster: c2, user: u2 }
`);
    expect(loadKubeconfig(f)).toEqual({ server: 'https://127.0.0.2:6443', insecureSkipTLSVerify: true, token: 'file-token' });
    expect(loadKubeconfig(f, 'a')).toEqual({ server: 'https://127.0.0.1:6443', ca: 'CA PEM', cert: 'CERT', key: 'KEY' });
    expect(() => loadKubeconfig(f, 'zz')).toThrow(/context "zz" not found/);
  });
});
