import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { down, readState, writeState, type ClusterState } from './cluster.js';
import { alive, procStartTime } from './proc.js';

describe('down', () => {
  const children: ChildProcess[] = [];
  const homes: string[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });

  const sleeper = () => {
    // Detached, as the supervisor starts components: its own process group.
    const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
    children.push(c);
    return c;
  };

  it('stops the processes it started and leaves a reused pid alone, saying so', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-down-'));
    homes.push(home);
    const ours = sleeper();
    // Stands for a process that got the pid of a component that died: same pid, another start time.
    const stranger = sleeper();
    const rec = (name: string, pid: number, startTime: string | undefined) => ({ name, pid, startTime, args: [], log: path.join(home, `${name}.log`), restarts: 0 });
    const st: ClusterState = {
      name: 'unit', apiserver: 'https://127.0.0.1:1', kubeconfig: '', nodes: [], startedAt: new Date().toISOString(),
      processes: [rec('kube-scheduler', ours.pid!, procStartTime(ours.pid!)), rec('kube-controller-manager', stranger.pid!, String(Number(procStartTime(stranger.pid!)) - 100))],
    };
    writeState(home, st);
    const lines: string[] = [];
    expect(await down(home, (l) => lines.push(l))).toBe(true);
    expect(lines).toContain(`stopping kube-scheduler (pid ${ours.pid})`);
    expect(lines).toContain(`pid ${stranger.pid} recorded for kube-controller-manager now belongs to another process; leaving it alone`);
    await new Promise((r) => (ours.exitCode !== null || ours.signalCode !== null ? r(undefined) : ours.once('exit', r)));
    expect(ours.signalCode).toBe('SIGTERM');
    expect(alive(stranger.pid!)).toBe(true);
    expect(readState(home)).toBeUndefined();
  });
});
