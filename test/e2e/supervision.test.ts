// Supervision of what `skiff up` starts (issue #11 item 7): a component that
// dies comes back by itself, with backoff, each restart logged and counted in
// `skiff status`; the cluster converges with no manual step; `skiff down`
// stops the supervisor first and leaves no process behind.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';
import { readState, type ProcessRecord } from '../../cli/cluster.js';
import { processIdentity } from '../../cli/proc.js';
import { loadKubeconfig } from '../../client/kubeconfig.js';
import { tlsDispatcher } from '../util/pki.js';

/** Pids of every process whose command line mentions the cluster's home (all of ours do, through their kubeconfig or data dir). */
function processesUnder(home: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(home)) out.push(Number(d));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

describe('skiff up supervises its components', () => {
  let c: TestCluster;
  let home: string;
  const record = (name: string): ProcessRecord => readState(home)!.processes.find((p) => p.name === name)!;

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
    home = c.home;
  }, 200_000);
  afterAll(async () => {
    if (!c) return;
    // down() removes the home; check what it leaves behind first, in the last test.
    await c.down();
  });

  it('puts every component and the supervisor on record with its start time and no restarts, and the log format on the command line', () => {
    const st = readState(home)!;
    expect(st.supervisor?.name).toBe('skiff-supervisor');
    expect(processIdentity(st.supervisor!)).toBe('same');
    expect(st.processes.map((p) => p.name)).toEqual(['etcd', 'kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'coredns', `kubelet-${c.nodes[0]}`, `kube-proxy-${c.nodes[0]}`]);
    for (const p of st.processes) {
      expect(p.restarts).toBe(0);
      expect(processIdentity(p)).toBe('same');
      if (p.name !== 'etcd') expect(fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')).toContain('--log-format=text');
    }
  });

  it('brings back a SIGKILLed API server and controller-manager, and the cluster converges', async () => {
    const api = record('kube-apiserver');
    const cm = record('kube-controller-manager');
    process.kill(api.pid, 'SIGKILL');
    process.kill(cm.pid, 'SIGKILL');

    const back = await waitFor('the API server and controller-manager restarted', () => {
      const a = record('kube-apiserver');
      const m = record('kube-controller-manager');
      return a.pid !== api.pid && m.pid !== cm.pid && processIdentity(a) === 'same' && processIdentity(m) === 'same' ? { a, m } : undefined;
    }, 60_000, 200);
    expect(back.a.restarts).toBe(1);
    // The controller-manager was killed once; losing its lease while the API server was down may add an exit of its own.
    expect(back.m.restarts).toBeGreaterThanOrEqual(1);

    // Each restart is in the component's log and the supervisor's.
    const supLog = fs.readFileSync(path.join(home, 'logs', 'skiff-supervisor.log'), 'utf8');
    expect(supLog).toContain(`kube-apiserver (pid ${api.pid}) exited with signal SIGKILL; restarting in 1s (restart 1)`);
    expect(supLog).toContain(`kube-controller-manager (pid ${cm.pid}) exited with signal SIGKILL`);
    expect(fs.readFileSync(api.log, 'utf8')).toMatch(new RegExp(`\\[skiff-supervisor\\] kube-apiserver \\(pid ${api.pid}\\) exited with signal SIGKILL`));
    expect(fs.readFileSync(cm.log, 'utf8')).toMatch(/\[skiff-supervisor\] restarted by skiff-supervisor as pid \d+ \(restart 1\)/);

    // A Deployment made after the kills gets its pods: controllers and scheduler work against the new API server.
    await waitFor('the API server answers', () => c.kubectl.ok(['get', '--raw', '/readyz']).then(() => true, () => false), 60_000, 500);
    await c.kubectl.ok(['create', 'deployment', 'after-kill', '--image=busybox:latest', '--replicas=2', '--', 'sleep', '3600']);
    const pods = await waitFor('two scheduled pods of after-kill', async () => {
      const items = (await c.kubectl.json(['get', 'pods', '-l', 'app=after-kill'])).items as any[];
      return items.length === 2 && items.every((p) => p.spec.nodeName === c.nodes[0]) ? items : undefined;
    }, 90_000, 500);
    expect(pods).toHaveLength(2);
    await c.kubectl.ok(['rollout', 'status', 'deployment/after-kill', '--timeout=120s'], { timeoutMs: 130_000 });

    const status = await c.skiff(['status']);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/COMPONENT\s+PID\s+STATE\s+RESTARTS/);
    expect(status.stdout).toMatch(new RegExp(`kube-apiserver\\s+${back.a.pid}\\s+running\\s+1\\n`));
    expect(status.stdout).toMatch(new RegExp(`kube-controller-manager\\s+\\d+\\s+running\\s+[1-9]\\d*\\n`));
    expect(status.stdout).toMatch(/etcd\s+\d+\s+running\s+0\n/);
    expect(status.stdout).toMatch(/skiff-supervisor\s+\d+\s+running\s+0\n/);
  }, 300_000);

  it('brings back a scheduler and controller-manager that exit on "leaderelection lost" after a 15 s etcd stall', async () => {
    const etcd = record('etcd');
    const before = { sched: record('kube-scheduler'), cm: record('kube-controller-manager') };
    const logFrom = { sched: fs.statSync(before.sched.log).size, cm: fs.statSync(before.cm.log).size };
    const newLog = (file: string, from: number) => fs.readFileSync(file, 'utf8').slice(from);
    process.kill(etcd.pid, 'SIGSTOP');
    try {
      // Longer than the 10 s renew deadline: both lose their lease and exit, as kube's do.
      await waitFor('both to lose their lease', () => newLog(before.sched.log, logFrom.sched).includes('leaderelection lost') && newLog(before.cm.log, logFrom.cm).includes('leaderelection lost'), 30_000, 250);
    } finally {
      process.kill(etcd.pid, 'SIGCONT');
    }
    for (const [name, was] of [['kube-scheduler', before.sched], ['kube-controller-manager', before.cm]] as const) {
      const now = await waitFor(`${name} restarted and running`, () => {
        const r = record(name);
        return r.restarts > was.restarts && processIdentity(r) === 'same' ? r : undefined;
      }, 60_000, 200);
      expect(now.pid).not.toBe(was.pid);
      expect(newLog(was.log, name === 'kube-scheduler' ? logFrom.sched : logFrom.cm)).toMatch(/\[skiff-supervisor\] kube-\S+ \(pid \d+\) exited with code 1; restarting in/);
    }
    // No manual step: a new Deployment is scheduled and rolled out by the restarted processes.
    await waitFor('the API server answers', () => c.kubectl.ok(['get', '--raw', '/readyz']).then(() => true, () => false), 60_000, 500);
    await c.kubectl.ok(['create', 'deployment', 'after-stall', '--image=busybox:latest', '--replicas=2', '--', 'sleep', '3600']);
    await c.kubectl.ok(['rollout', 'status', 'deployment/after-stall', '--timeout=120s'], { timeoutMs: 130_000 });
    expect(record('etcd').restarts).toBe(0);
  }, 300_000);

  it('rolls a Deployment through a storm of YAML alias bombs and a 15 s etcd stall, and converges with no manual step', async () => {
    await c.kubectl.ok(['create', 'deployment', 'roll', '--image=busybox:latest', '--replicas=3', '--', 'sleep', '3600']);
    await c.kubectl.ok(['rollout', 'status', 'deployment/roll', '--timeout=120s'], { timeoutMs: 130_000 });
    const apiBefore = record('kube-apiserver');
    // The billion laughs: ~450 bytes of nested aliases, 9^9 strings once expanded.
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: bomb', 'data:', ...levels.map((l) => `  ${l}`)].join('\n');
    const conn = loadKubeconfig(c.kubeconfig);
    const dispatcher = tlsDispatcher(conn);
    const sendBomb = async () => {
      const t0 = Date.now();
      const r = await fetch(`${c.server}/api/v1/namespaces/default/configmaps`, { method: 'POST', body: bomb, headers: { 'Content-Type': 'application/yaml' }, dispatcher } as RequestInit);
      return { status: r.status, ms: Date.now() - t0 };
    };

    await c.kubectl.ok(['set', 'env', 'deployment/roll', 'GENERATION=2']);
    const answers = await Promise.all(Array.from({ length: 20 }, sendBomb));
    for (const a of answers) {
      expect(a.status).toBe(400);
      expect(a.ms).toBeLessThan(5000);
    }
    const etcd = record('etcd');
    process.kill(etcd.pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 15_000));
    process.kill(etcd.pid, 'SIGCONT');

    // Whatever exited on a lost lease is back, and the rollout finishes on its own.
    await waitFor('the API server answers', () => c.kubectl.ok(['get', '--raw', '/readyz']).then(() => true, () => false), 60_000, 500);
    await c.kubectl.ok(['rollout', 'status', 'deployment/roll', '--timeout=180s'], { timeoutMs: 190_000 });
    const d = await c.kubectl.json(['get', 'deployment', 'roll']);
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    const pods = (await c.kubectl.json(['get', 'pods', '-l', 'app=roll'])).items as any[];
    expect(pods.filter((p) => !p.metadata.deletionTimestamp).every((p) => p.spec.containers[0].env?.some((e: any) => e.name === 'GENERATION' && e.value === '2'))).toBe(true);
    // The bombs cost the API server nothing: it was not restarted for them.
    expect(record('kube-apiserver').pid).toBe(apiBefore.pid);
    expect((await c.kubectl.run(['get', 'configmap', 'bomb'])).code).not.toBe(0);
  }, 400_000);

  it('skiff down stops the supervisor first and leaves no process behind', async () => {
    expect(processesUnder(home).length).toBeGreaterThanOrEqual(7);
    const st = readState(home)!;
    const down = await c.skiff(['down']);
    expect(down.code, down.stdout).toBe(0);
    const lines = down.stdout.split('\n');
    expect(lines.findIndex((l) => l.includes('stopping skiff-supervisor'))).toBe(0);
    expect(down.stdout).not.toContain('belongs to another process');
    for (const p of [st.supervisor!, ...st.processes]) expect(processIdentity(p), p.name).not.toBe('same');
    expect(processesUnder(home)).toEqual([]);
    expect(readState(home)).toBeUndefined();
  }, 120_000);
});
