// Runs iptables-restore and friends. Several kube-proxies share one kernel
// here, so writes are whole transactions (iptables-restore --noflush --wait)
// and the check-then-insert of jump rules runs under one host-wide flock, so
// two proxies starting together do not insert the same jump twice.

import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { errors } from '../../api/errors.js';
import { jumpRules, type JumpRule, type TableName } from './rules.js';

const run = promisify(execFile);

/** Host-wide: every kube-proxy (and --cleanup) on the machine takes the same lock. */
export const lockFile = '/run/skiff-kube-proxy.lock';

export async function iptablesRestore(text: string, timeoutMs = 60_000): Promise<void> {
  if (!text) return;
  const r = startRestore(timeoutMs);
  await r.end(text);
}

export interface RestoreWriter {
  /** Writes chunks as they are produced, keeping to the pipe's pace and letting other I/O run between chunks. */
  write(chunks: Iterable<string>): Promise<void>;
  /** The last text; resolves once iptables-restore has committed and exited. */
  end(text: string): Promise<void>;
  /** Kills it before it has read a COMMIT, so that nothing of what was written takes effect. */
  abort(): Promise<void>;
}

/**
 * iptables-restore --noflush --wait, started before its input is ready: it
 * parses what it is given while the rest is still being built (the parse is
 * about a fifth of a 1,000-Service restore), and commits each table at its
 * COMMIT line, which comes last.
 */
export function startRestore(timeoutMs = 60_000): RestoreWriter {
  const p = spawn('iptables-restore', ['--noflush', '--wait'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  p.stderr.on('data', (d) => { stderr += d; });
  p.stdin.on('error', () => { /* reported through close */ });
  let exited = false;
  const closed = new Promise<void>((resolve, reject) => {
    p.on('error', (e) => { exited = true; clearTimeout(timer); reject(e); });
    p.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(errors.internal(`iptables-restore failed (${signal ?? code}): ${stderr.trim().slice(0, 2000)}`));
    });
  });
  closed.catch(() => { /* awaited by end() or abort() */ });
  const settled = closed.then(() => {}, () => {});
  return {
    async write(chunks) {
      for (const chunk of chunks) {
        if (exited) break; // end() reports why
        if (!p.stdin.write(chunk)) await Promise.race([new Promise((r) => p.stdin.once('drain', r)), settled]);
        // Lets the pipes of processes running meanwhile (iptables-save) be read while the text is built.
        else await new Promise((r) => setImmediate(r));
      }
    },
    async end(text) {
      if (!exited) p.stdin.end(text);
      await closed;
    },
    async abort() {
      if (!exited) p.kill('SIGKILL');
      await settled;
    },
  };
}

export async function iptablesSave(table: TableName): Promise<string> {
  const { stdout } = await run('iptables-save', ['-t', table], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

/**
 * The rules of the built-in chains that jumps go into, as iptables-save
 * would print them (a *table line, then -A lines): `iptables -S <chain>`
 * reads one chain, where iptables-save reads every chain of the table.
 */
export async function builtinChainRules(jumps: readonly JumpRule[]): Promise<string> {
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const chains = [...new Set(jumps.filter((j) => j.table === table).map((j) => j.chain))];
    const listed = await Promise.all(chains.map((chain) => run('iptables', ['-w', '-t', table, '-S', chain], { timeout: 30_000 }).then((r) => r.stdout)));
    out.push(`*${table}`, ...listed, 'COMMIT');
  }
  return out.join('\n') + '\n';
}

export async function chainExists(table: TableName, chain: string): Promise<boolean> {
  try {
    await run('iptables', ['-w', '-t', table, '-S', chain], { timeout: 30_000 });
    return true;
  } catch (e) {
    // Only "no such chain" counts as gone; a busy or failing iptables is not evidence.
    return !/No chain|does not exist|incompatible/i.test(String((e as { stderr?: string }).stderr ?? ''));
  }
}

/** Chain names declared in one table of iptables-save output. */
export function chainsIn(save: string): string[] {
  const out: string[] = [];
  for (const line of save.split('\n')) if (line.startsWith(':')) out.push(line.slice(1).split(' ')[0]);
  return out;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function ruleCommand(op: '-C' | '-I', j: JumpRule): string {
  return ['iptables', '-w', '-t', j.table, op, j.chain, ...(op === '-I' ? ['1'] : []), ...j.args].map(shellQuote).join(' ');
}

/**
 * Make every jump from the built-in chains into ours exist exactly once, first
 * in its chain. Kube does this rule by rule with -C/-I; the lock makes it one
 * step for the host.
 */
export async function ensureJumpRules(rules: JumpRule[] = jumpRules): Promise<void> {
  // Inserting at 1 in reverse keeps the listed order at the top of each chain.
  const script = ['set -e', ...[...rules].reverse().map((j) => `${ruleCommand('-C', j)} 2>/dev/null || ${ruleCommand('-I', j)}`)].join('\n');
  try {
    await run('flock', ['-w', '30', lockFile, 'sh', '-c', script], { timeout: 60_000 });
  } catch (e) {
    throw errors.internal(`ensuring iptables jump rules: ${String((e as { stderr?: string }).stderr ?? e).trim().slice(0, 1000)}`);
  }
}

export interface HostLock {
  /** Resolves once the lock is held. */
  held: Promise<void>;
  release(): Promise<void>;
}

/** Starts taking the host lock, so that the caller can work meanwhile on what needs no lock. */
export function hostLock(): HostLock {
  // flock needs a command to hold the lock for; a shell that waits on its stdin holds it until we close stdin.
  const holder = spawn('flock', ['-w', '30', lockFile, 'sh', '-c', 'echo locked; read _'], { stdio: ['pipe', 'pipe', 'pipe'] });
  holder.stdin.on('error', () => { /* flock gave up; held reports it */ });
  const closed = new Promise((r) => { holder.once('close', r); holder.once('error', r); });
  const held = new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('error', reject);
    holder.once('exit', (code) => reject(errors.internal(`flock ${lockFile} exited with ${code}`)));
  });
  held.catch(() => { /* the caller awaits it */ });
  return {
    held,
    async release() {
      holder.stdin.end('\n');
      await closed;
    },
  };
}

export async function withHostLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = hostLock();
  try {
    await lock.held;
    return await fn();
  } finally {
    await lock.release();
  }
}

export async function setSysctl(key: string, value: string): Promise<boolean> {
  try {
    await run('sysctl', ['-q', '-w', `${key}=${value}`]);
    return true;
  } catch {
    return false;
  }
}
