// hostPort on a real node: the compiled scheduler and kubelet (Docker) against
// a real API server. A pod with a hostPort answers on the node's address at
// that port, as kube's portmap CNI plugin makes it; a second pod asking for the
// same port stays Pending with the NodePorts filter's message. Containers,
// processes and temp dirs are removed in afterAll, also on failure.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { R } from '../../api/resources.js';
import type { Pod } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { issue, writePair } from '../../lib/pki.js';
import { startScheduler, type SchedulerProcess } from '../scheduler/process.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { testPKI } from '../util/pki.js';
import { freePort, waitFor } from '../util/ports.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const kubeletJs = path.join(repo, 'dist', 'kubelet', 'main.js');
const node = `hp-${crypto.randomBytes(3).toString('hex')}`;

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

describe('hostPort on a kubelet with Docker', () => {
  let api: ApiServerProcess | undefined;
  let client: RestClient;
  let dir: string | undefined;
  let kubelet: ChildProcess | undefined;
  let kubeletLog = '';
  let sched: SchedulerProcess | undefined;
  let hostPort = 0;

  const pod = (name: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'httpd', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent',
        command: ['sh', '-c', 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www'],
        ports: [{ containerPort: 8080, hostPort, protocol: 'TCP' }],
      }],
    },
  });

  beforeAll(async () => {
    const pki = await testPKI();
    api = await startApiServer({ args: ['--authorization-mode=Node,RBAC'] });
    client = new RestClient(api.admin);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-hostport-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.copyFileSync(await api.kubeconfigFor(`system:node:${node}`, ['system:nodes']), kubeconfig);
    const serving = writePair(dir, 'kubelet', await issue(pki.ca, { cn: `system:node:${node}`, o: ['system:nodes'], sans: [node, '127.0.0.1'], usage: 'server' }));
    // A free port rather than a fixed one: other suites on this machine publish ports too.
    hostPort = await freePort();
    kubelet = spawn(process.execPath, [
      kubeletJs, `--kubeconfig=${kubeconfig}`, `--hostname-override=${node}`, '--node-ip=127.0.0.1', `--port=${await freePort()}`, `--healthz-port=${await freePort()}`,
      `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`, `--client-ca-file=${pki.caFile}`,
      `--root-dir=${path.join(dir, 'root')}`, '--cpu=2', '--memory=2Gi',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    kubelet.stderr!.on('data', (d) => { kubeletLog = (kubeletLog + d).slice(-20_000); });
    await waitFor('node Ready', async () => (await client.resource(R.nodes).get(node).catch(() => undefined) as any)?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'), 30_000, 200);
    sched = await startScheduler(api.url, ['--leader-elect=false']);
  }, 90_000);

  afterAll(async () => {
    kubelet?.kill('SIGKILL');
    await sched?.stop();
    try {
      const ids = docker(['ps', '-aq', '--filter', `label=skiff.node=${node}`]).split('\n').filter(Boolean);
      if (ids.length) docker(['rm', '-f', ...ids]);
    } catch { /* nothing left */ }
    await api?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('opens the hostPort on the node, and keeps a second pod with the same hostPort Pending as kube words it', async () => {
    await client.resource<Pod>(R.pods, 'default').create(pod('hp-1'));
    await waitFor('hp-1 Running', async () => (await client.resource<Pod>(R.pods, 'default').get('hp-1')).status?.phase === 'Running', 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\nkubelet log:\n${kubeletLog.slice(-3000)}`);
    });
    const body = await waitFor(`answer on 127.0.0.1:${hostPort}`, async () => {
      const r = await fetch(`http://127.0.0.1:${hostPort}/`).catch(() => undefined);
      return r?.ok && (await r.text());
    }, 20_000, 200);
    expect(body.trim()).toBe('hello from hp-1');

    await client.resource<Pod>(R.pods, 'default').create(pod('hp-2'));
    const cond = await waitFor('hp-2 PodScheduled=False', async () => {
      const p = await client.resource<Pod>(R.pods, 'default').get('hp-2');
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    }, 20_000);
    expect(cond.message).toBe("0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.");
    expect((await client.resource<Pod>(R.pods, 'default').get('hp-2')).spec.nodeName).toBeUndefined();

    // Deleting the first frees the port on the node and in the scheduler: the second runs and answers there.
    await client.resource<Pod>(R.pods, 'default').delete('hp-1');
    const second = await waitFor('hp-2 answers', async () => {
      const r = await fetch(`http://127.0.0.1:${hostPort}/`).catch(() => undefined);
      const text = r?.ok ? await r.text() : '';
      return text.includes('hp-2') && text;
    }, 60_000, 300);
    expect(second.trim()).toBe('hello from hp-2');
  }, 180_000);
});
