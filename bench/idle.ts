// Idle footprint: the resident memory of every process `skiff up` leaves
// running, once the cluster has settled, and of one extra node's processes.
// Starts a real cluster (`skiff up --nodes 2`, the CLI's own code path) under
// a temporary SKIFF_HOME on free ports, waits for both nodes Ready, lets it
// settle, samples each process's memory for a while and prints the last
// sample: RSS split into anonymous memory (V8 heap, buffers, malloc) and
// file-backed memory (the node binary's code and shared libraries, mostly
// shared between processes), plus, for our Node.js processes, the V8 heap
// as the process itself reports it. The limit it is measured against is the
// target of issue #16: control plane plus one node, etcd included, at most
// 350 MiB; each extra node's Skiff processes (engine excluded) at most
// 120 MiB. `skiff down` removes everything at the end, also on failure.
//   node dist/bench/idle.js [--settle=60s] [--samples=6] [--node-mode=shared|netns]
// shared (the default) is `skiff up`'s one-node cluster plus a second kubelet and kube-proxy on the same
// engine; netns gives each node its own engine, joined with its own supervisor and network agent.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { freePort } from '../test/util/ports.js';

const flags = parseFlags({ settle: '60s', samples: 6, nodeMode: 'shared' }, process.argv.slice(2), 'idle memory of a one-node cluster and of one extra node');
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(repo, 'dist', 'cli', 'main.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-idle-'));
const name = `idle${crypto.randomBytes(2).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

interface Sample { pid: number; what: string; rss: number; anon: number; file: number }

/** Every process whose command line names our home: the components carry it in their flags (kubeconfig, data dirs). */
function ourProcesses(): { pid: number; cmd: string[] }[] {
  const out: { pid: number; cmd: string[] }[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (cmd.some((a) => a.includes(home))) out.push({ pid: Number(d), cmd });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** smaps_rollup's totals in bytes: Rss, and its anonymous and file-backed parts. */
function memory(pid: number): { rss: number; anon: number; file: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    const rss = kb('Rss');
    const anon = kb('Anonymous');
    return { rss, anon, file: rss - anon };
  } catch {
    return undefined;
  }
}

/** A readable name for a component from its command line. */
function describe(cmd: string[]): string {
  const exe = path.basename(cmd[0] ?? '?');
  if (exe === 'node' || exe === path.basename(process.execPath)) {
    const script = cmd.find((a) => a.endsWith('main.js')) ?? '';
    const component = path.basename(path.dirname(script));
    if (component === 'cli') {
      // A joined node's own supervisor runs with that node's home ($SKIFF_HOME/nodes/<node>).
      const node = /\/nodes\/([^/]+)$/.exec(cmd.find((a) => a.startsWith('--home='))?.slice('--home='.length) ?? '')?.[1];
      if (cmd.includes('supervise')) return node ? `supervisor (${node})` : 'supervisor';
      return `skiff ${cmd[cmd.indexOf(script) + 1] ?? ''}`.trim();
    }
    const node = cmd.find((a) => a.startsWith('--hostname-override='))?.split('=')[1];
    return node ? `${component} (${node})` : component;
  }
  return exe;
}

function sample(): Sample[] {
  return ourProcesses().flatMap(({ pid, cmd }) => {
    const m = memory(pid);
    return m ? [{ pid, what: describe(cmd), ...m }] : [];
  });
}

const fmt = (b: number) => (b / MiB).toFixed(1).padStart(7);

async function main(): Promise<void> {
  const apiserverPort = await freePort();
  const etcdPort = await freePort();
  const args = ['up', `--home=${home}`, `--name=${name}`, '--nodes=2', `--apiserver-port=${apiserverPort}`, `--etcd-port=${etcdPort}`];
  args.push(`--node-mode=${flags.nodeMode}`);
  const started = Date.now();
  execFileSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  const upSeconds = (Date.now() - started) / 1000;
  const settle = parseDuration(flags.settle);
  process.stdout.write(`cluster up (2 nodes Ready) in ${upSeconds.toFixed(1)} s; settling ${settle / 1000} s\n`);
  await sleep(settle);

  let last: Sample[] = [];
  for (let i = 0; i < flags.samples; i++) {
    last = sample();
    if (i < flags.samples - 1) await sleep(5000);
  }
  const extraNode = `${name}-node-2`;
  const engines = (s: Sample) => /^(dockerd|containerd|containerd-shim)/.test(s.what);
  const isExtra = (s: Sample) => s.what.includes(`(${extraNode})`);
  const rows = [...last].sort((a, b) => b.rss - a.rss);
  process.stdout.write(`\n${'process'.padEnd(44)}    RSS   anon   file (MiB)\n`);
  for (const s of rows) process.stdout.write(`${s.what.padEnd(44)}${fmt(s.rss)}${fmt(s.anon)}${fmt(s.file)}\n`);
  const sum = (xs: Sample[]) => xs.reduce((t, s) => t + s.rss, 0);
  const controlPlaneAndOneNode = sum(rows.filter((s) => !isExtra(s) && !engines(s)));
  const extra = sum(rows.filter((s) => isExtra(s) && !engines(s)));
  process.stdout.write(`\ncontrol plane + one node (etcd and supervisor included, engine excluded): ${fmt(controlPlaneAndOneNode)} MiB; target 350 MiB: ratio ${(controlPlaneAndOneNode / MiB / 350).toFixed(2)}\n`);
  process.stdout.write(`one extra node's Skiff processes: ${fmt(extra)} MiB; target 120 MiB: ratio ${(extra / MiB / 120).toFixed(2)}\n`);
  process.stdout.write('(RSS counts shared file pages once per process: the node binary\'s code is shared between all our Node.js processes)\n');
}

try {
  await main();
} finally {
  try {
    execFileSync(process.execPath, [cli, 'down', `--home=${home}`], { stdio: 'ignore', timeout: 120_000 });
  } catch (e) {
    process.stderr.write(`skiff down failed: ${(e as Error).message}\n`);
  }
  fs.rmSync(home, { recursive: true, force: true });
}
