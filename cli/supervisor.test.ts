import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nextDelay, Supervisor, type SupervisorPlan } from './supervisor.js';
import { readState } from './cluster.js';
import { processIdentity } from './proc.js';

describe('nextDelay', () => {
  const b = { initialMs: 1000, maxMs: 30_000 };
  it('starts at the initial delay and doubles up to the maximum', () => {
    let prev: { delayMs: number; at: number } | undefined;
    const seen: number[] = [];
    for (let i = 0; i < 7; i++) {
      const d = nextDelay(prev, 1000 * i, b);
      seen.push(d);
      prev = { delayMs: d, at: 1000 * i };
    }
    expect(seen).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('starts over once the last restart is more than twice the maximum ago', () => {
    expect(nextDelay({ delayMs: 30_000, at: 0 }, 60_000, b)).toBe(30_000);
    expect(nextDelay({ delayMs: 30_000, at: 0 }, 60_001, b)).toBe(1000);
  });
});

describe('Supervisor', () => {
  const homes: string[] = [];
  const stops: (() => void)[] = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s();
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });

  const until = async (what: string, f: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!f()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('restarts an exiting component with backoff, logs each restart in its log, and records pids and restarts', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-sup-'));
    homes.push(home);
    const log = path.join(home, 'logs', 'crashy.log');
    const plan: SupervisorPlan = {
      cluster: { name: 'unit', apiserver: 'https://127.0.0.1:1', kubeconfig: '', nodes: [] },
      logFormat: 'text',
      components: [
        { name: 'crashy', cmd: process.execPath, args: ['-e', 'console.error("up"); setTimeout(() => process.exit(3), 50)'], log },
        { name: 'steady', cmd: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], log: path.join(home, 'logs', 'steady.log') },
      ],
    };
    const sup = new Supervisor(home, plan, { initialMs: 20, maxMs: 1000 });
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      sup.stop();
      for (const p of readState(home)?.processes ?? []) if (processIdentity(p) === 'same') process.kill(p.pid, 'SIGKILL');
    };
    stops.push(stop);
    await sup.run();
    const first = readState(home)!.processes.find((p) => p.name === 'crashy')!;
    expect(first.restarts).toBe(0);
    expect(first.startTime).toMatch(/^\d+$/);
    await until('three restarts', () => (readState(home)!.processes.find((p) => p.name === 'crashy')?.restarts ?? 0) >= 3);
    const st = readState(home)!;
    const crashy = st.processes.find((p) => p.name === 'crashy')!;
    expect(crashy.pid).not.toBe(first.pid);
    expect(st.processes.find((p) => p.name === 'steady')!.restarts).toBe(0);
    expect(st.supervisor).toMatchObject({ name: 'skiff-supervisor', pid: process.pid });
    const lines = fs.readFileSync(log, 'utf8');
    expect(lines).toMatch(new RegExp(`warn \\[skiff-supervisor\\] crashy \\(pid ${first.pid}\\) exited with code 3; restarting in 0.02s \\(restart 1\\)`));
    expect(lines).toMatch(/restarting in 0\.04s \(restart 2\)/);
    expect(lines).toMatch(/restarted by skiff-supervisor as pid \d+ \(restart 1\)/);

    // Once stopped, nothing is restarted.
    stop();
    const after = readState(home)!.processes.find((p) => p.name === 'crashy')!;
    await new Promise((r) => setTimeout(r, 300));
    expect(readState(home)!.processes.find((p) => p.name === 'crashy')!.restarts).toBe(after.restarts);
  });
});
