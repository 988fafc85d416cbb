// IptablesBackend's full syncs against the real iptables, each case in a
// network namespace of its own (`unshare --net`: its own empty tables, gone
// with the child process), so neither the host's rules nor another test's
// are touched: the first sync, a periodic resync (forceFullSync) that trusts
// the chains it wrote last, and one after the kernel lost its rules.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeProxyMain } from './harness.js';

const dist = path.dirname(kubeProxyMain);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-kp-resync-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs an ES module body in a fresh network namespace with IptablesBackend imported; returns what it prints as JSON. */
function inNamespace(body: string): unknown {
  const file = path.join(dir, `case-${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, `
import { execFileSync } from 'node:child_process';
import { IptablesBackend } from ${JSON.stringify(path.join(dist, 'iptables', 'backend.js'))};
const save = () => execFileSync('iptables-save', [], { encoding: 'utf8' });
const sp = (i, n) => ({ name: 'ns/svc' + i + ':http', namespace: 'ns', service: 'svc' + i, portName: 'http', protocol: 'TCP',
  clusterIP: '10.96.7.' + (i + 1), port: 80, nodePort: 0, affinitySeconds: 0,
  endpoints: Array.from({ length: n }, (_, e) => ({ ip: '10.244.' + i + '.' + (e + 1), port: 8080 })) });
${body}
`);
  let out: string;
  try {
    out = execFileSync('unshare', ['--net', process.execPath, file], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${(e as { stderr?: string }).stderr ?? ''}`);
  }
  return JSON.parse(out.trim().split('\n').pop()!);
}

const summary = `
const lines = save().split('\\n');
const chains = lines.filter((l) => /^:KUBE-(SVC|SEP)-/.test(l)).length;
const jumps = lines.filter((l) => /^-A (OUTPUT|PREROUTING|POSTROUTING|INPUT|FORWARD) .*-j KUBE-/.test(l)).length;
const rules = lines.filter((l) => l.startsWith('-A KUBE-')).length;
`;

describe('IptablesBackend full syncs (private network namespace)', () => {
  it('a periodic resync removes the chains of a deleted Service and keeps each jump once, trusting what it wrote over reading the table', () => {
    const r = inNamespace(`
const b = new IptablesBackend();
await b.sync([sp(0, 3), sp(1, 2)]);
${summary}
const first = { chains, jumps, rules };
// A service chain of our prefix that the last sync did not write: only a read of the whole table would find it.
execFileSync('iptables', ['-t', 'nat', '-N', 'KUBE-SVC-PLANTEDPLANTED01']);
b.forceFullSync();
await b.sync([sp(0, 3)]);
{
${summary}
console.log(JSON.stringify({ first, after: { chains, jumps, rules } }));
}
`) as { first: { chains: number; jumps: number; rules: number }; after: { chains: number; jumps: number; rules: number } };
    // svc0: 1 + 3 chains, svc1: 1 + 2; after: svc0's and the planted one.
    expect(r.first.chains).toBe(7);
    expect(r.after.chains).toBe(5);
    // The ten jumps from the built-in chains (jumpRules), inserted once by the first sync and not again.
    expect(r.first.jumps).toBe(10);
    expect(r.after.jumps).toBe(10);
    expect(r.after.rules).toBeLessThan(r.first.rules);
  });

  it('after its canary vanishes, a full sync reads the kernel: it puts the rules and jumps back and removes stale chains', () => {
    const r = inNamespace(`
const b = new IptablesBackend();
await b.sync([sp(0, 3)]);
// What an admin's flush might do: every jump and chain gone, and a stale chain of ours left behind.
for (const t of ['nat', 'filter']) { execFileSync('iptables', ['-t', t, '-F']); execFileSync('iptables', ['-t', t, '-X']); }
execFileSync('iptables', ['-t', 'nat', '-N', 'KUBE-SVC-PLANTEDPLANTED01']);
// The canary's timer does not hold the process open; this one does, until the canary is found missing.
const alive = setInterval(() => {}, 1000);
await new Promise((resolve) => b.monitorCanary(20, resolve));
clearInterval(alive);
await b.stop();
await b.sync([sp(0, 3)]);
${summary}
console.log(JSON.stringify({ chains, jumps }));
`) as { chains: number; jumps: number };
    expect(r).toEqual({ chains: 4, jumps: 10 });
  });
});
