import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { procStartTime, processIdentity } from './proc.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-proc-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fake /proc/<pid> with a stat line (comm may hold spaces and parentheses) and a cmdline. */
function fakeProc(pid: number, o: { comm?: string; state?: string; start: string; cmdline?: string[] }): void {
  const dir = path.join(root, String(pid));
  fs.mkdirSync(dir, { recursive: true });
  // Fields 3..21 then starttime (22) and a few more.
  const middle = Array.from({ length: 19 }, (_, i) => (i === 0 ? o.state ?? 'S' : String(i)));
  fs.writeFileSync(path.join(dir, 'stat'), `${pid} (${o.comm ?? 'node'}) ${middle.join(' ')} ${o.start} 123 456\n`);
  fs.writeFileSync(path.join(dir, 'cmdline'), (o.cmdline ?? ['node']).join('\0') + '\0');
}

describe('processIdentity', () => {
  it('reads the start time after a comm with spaces and parentheses', () => {
    fakeProc(101, { comm: 'we ird) name', start: '987654' });
    expect(procStartTime(101, root)).toBe('987654');
  });

  it('is the same process when the start time matches, and a reused pid when it does not', () => {
    fakeProc(102, { start: '5000' });
    expect(processIdentity({ pid: 102, startTime: '5000' }, root)).toBe('same');
    expect(processIdentity({ pid: 102, startTime: '4999' }, root)).toBe('reused');
  });

  it('is gone when no process or only a zombie has the pid', () => {
    expect(processIdentity({ pid: 999999, startTime: '1' }, root)).toBe('gone');
    fakeProc(103, { state: 'Z', start: '7' });
    expect(processIdentity({ pid: 103, startTime: '7' }, root)).toBe('gone');
  });

  it('compares the command line when the record has no start time', () => {
    fakeProc(104, { start: '1', cmdline: ['/usr/bin/node', '/x/dist/scheduler/main.js', '--port=1'] });
    expect(processIdentity({ pid: 104, args: ['/usr/bin/node', '/x/dist/scheduler/main.js', '--port=1'] }, root)).toBe('same');
    expect(processIdentity({ pid: 104, args: ['etcd', '--name', 'x'] }, root)).toBe('reused');
  });

  it('tells a live process from the one recorded before its pid was reused (real /proc)', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    let start: string | undefined;
    try {
      start = procStartTime(child.pid!);
      expect(start).toMatch(/^\d+$/);
      expect(processIdentity({ pid: child.pid!, startTime: start })).toBe('same');
      expect(processIdentity({ pid: child.pid!, startTime: String(Number(start) - 1) })).toBe('reused');
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // Killed and reaped: its own record no longer names a live process of its own.
    expect(processIdentity({ pid: child.pid!, startTime: start })).not.toBe('same');
  });
});
