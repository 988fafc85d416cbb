// Rollbacks, change-cause, pod start-up phases, force deletion and a failed
// exec, with the real kubectl against a Skiff cluster running real containers:
// each as Kubernetes shows it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

const deployYaml = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: roll
spec:
  replicas: 2
  selector:
    matchLabels: {app: roll}
  template:
    metadata:
      labels: {app: roll}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sleep", "3600"]
        env:
        - name: V
          value: "1"
`;

interface RS { metadata: { name: string; uid: string; annotations?: Record<string, string> }; spec: { replicas: number; template: { spec: { containers: { env?: { name: string; value: string }[] }[] } } } }

describe('kubectl rollout, pod phases, force delete and exec against a Skiff cluster', () => {
  let c: TestCluster;
  const k = (args: string[], opts?: Parameters<TestCluster['kubectl']['ok']>[1]) => c.kubectl.ok(args, opts);
  const replicaSets = async () => (await c.kubectl.json<{ items: RS[] }>(['get', 'rs', '-l', 'app=roll'])).items;
  const envV = (rs: RS) => rs.spec.template.spec.containers[0].env?.find((e) => e.name === 'V')?.value;
  const history = async () => [...(await k(['rollout', 'history', 'deploy/roll'])).matchAll(/^(\d+)\s+(.*?)\s*$/gm)].map((m) => `${m[1]} ${m[2]}`);

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
  });
  afterAll(async () => {
    await c?.down();
  });

  it('undo reuses the old ReplicaSet (no new one, no new hash) and history shows 2, 3; undo --to-revision=2 the other one', async () => {
    await k(['apply', '-f', '-'], { input: deployYaml });
    await k(['rollout', 'status', 'deploy/roll', '--timeout=120s'], { timeoutMs: 130_000 });
    await k(['set', 'env', 'deploy/roll', 'V=2']);
    await k(['rollout', 'status', 'deploy/roll', '--timeout=120s'], { timeoutMs: 130_000 });
    const before = await replicaSets();
    expect(before).toHaveLength(2);
    const v1 = before.find((rs) => envV(rs) === '1')!;
    const v2 = before.find((rs) => envV(rs) === '2')!;
    expect(await history()).toEqual(['1 <none>', '2 <none>']);

    expect(await k(['rollout', 'undo', 'deploy/roll'])).toBe('deployment.apps/roll rolled back\n');
    await k(['rollout', 'status', 'deploy/roll', '--timeout=120s'], { timeoutMs: 130_000 });
    const after = await replicaSets();
    expect(after.map((rs) => rs.metadata.uid).sort()).toEqual([v1.metadata.uid, v2.metadata.uid].sort());
    const v1now = after.find((rs) => rs.metadata.uid === v1.metadata.uid)!;
    expect(v1now.spec.replicas).toBe(2);
    expect(after.find((rs) => rs.metadata.uid === v2.metadata.uid)!.spec.replicas).toBe(0);
    expect(v1now.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('3');
    expect(v1now.metadata.annotations!['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(await history()).toEqual(['2 <none>', '3 <none>']);
    // Stored as Go's decoding leaves it: no creationTimestamp: null in the template kubectl sent back.
    const d = await c.kubectl.json(['get', 'deploy', 'roll']);
    expect(d.spec.template.metadata).not.toHaveProperty('creationTimestamp');
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    // The same template again: kubectl itself sees there is nothing to roll back to.
    const same = await c.kubectl.run(['rollout', 'undo', 'deploy/roll', '--to-revision=3']);
    expect(same.stdout + same.stderr).toContain('skipped rollback (current template already matches revision 3)');

    expect(await k(['rollout', 'undo', 'deploy/roll', '--to-revision=2'])).toBe('deployment.apps/roll rolled back\n');
    await k(['rollout', 'status', 'deploy/roll', '--timeout=120s'], { timeoutMs: 130_000 });
    const last = await replicaSets();
    expect(last).toHaveLength(2);
    expect(last.find((rs) => rs.metadata.uid === v2.metadata.uid)!.spec.replicas).toBe(2);
    expect(await history()).toEqual(['3 <none>', '4 <none>']);
  }, 600_000);

  it('copies a later kubernetes.io/change-cause to the current ReplicaSet, as rollout history shows it', async () => {
    await k(['annotate', 'deploy/roll', 'kubernetes.io/change-cause=set V back to 2']);
    await waitFor('change-cause on the ReplicaSet', async () => (await history()).includes('4 set V back to 2'), 30_000);
    expect(await history()).toEqual(['3 <none>', '4 set V back to 2']);
  }, 60_000);

  it('shows ContainerCreating and PodInitializing while a pod starts, as kubectl get pods does', async () => {
    const podYaml = (name: string, init: boolean) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
${init ? `  initContainers:
  - name: init
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3"]
` : ''}  containers:
  - name: main
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`;
    // Watch the STATUS column kubectl prints from the first event to Running.
    const watch = c.kubectl.background(['get', 'pods', '-w']);
    try {
      await waitFor('watch started', () => watch.output().includes('roll-'), 20_000);
      await k(['apply', '-f', '-'], { input: podYaml('phases', false) + '---\n' + podYaml('phases-init', true) });
      await k(['wait', '--for=condition=Ready', 'pod/phases', 'pod/phases-init', '--timeout=120s'], { timeoutMs: 130_000 });
      const statusOf = (pod: string) => watch.output().split('\n').filter((l) => l.split(/\s+/)[0] === pod).map((l) => l.split(/\s+/)[2]);
      await waitFor('Running seen', () => statusOf('phases').includes('Running') && statusOf('phases-init').includes('Running'), 10_000);
      expect(statusOf('phases')).toContain('ContainerCreating');
      expect(statusOf('phases-init')).toContain('Init:0/1');
      expect(statusOf('phases-init')).toContain('PodInitializing');
    } finally {
      watch.stop();
    }
  }, 240_000);

  it('kills a force-deleted pod\'s containers promptly', async () => {
    await k(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: forced\nspec:\n  containers:\n  - name: main\n    image: busybox:latest\n    imagePullPolicy: IfNotPresent\n    command: ["sleep", "3600"]\n' });
    await k(['wait', '--for=condition=Ready', 'pod/forced', '--timeout=120s'], { timeoutMs: 130_000 });
    const name = 'forced';
    const r = await c.kubectl.run(['delete', 'pod', name, '--force', '--grace-period=0']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Immediate deletion does not wait for confirmation that the running resource has been terminated');
    // docker ps by the pod name label: its sleep ignores SIGTERM, so only the kill ends it (30 s before the fix).
    const { execFileSync } = await import('node:child_process');
    const running = () => execFileSync('docker', ['ps', '-q', '--filter', `label=io.kubernetes.pod.name=${name}`]).toString().trim();
    // A hang bound well under the pod's 30 s grace period, not a timing measurement.
    await waitFor('containers gone', () => running() === '', 15_000);
  }, 60_000);

  it('exec of a missing binary fails as kube+containerd does: the runtime\'s error, exit code 1', async () => {
    const r = await c.kubectl.run(['exec', 'deploy/roll', '--', 'nosuchbinary']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "[0-9a-f]+": OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchbinary": executable file not found in \$PATH: unknown\n$/);
    expect(r.stdout).toBe('');
    // A command that runs and exits 126 is still an exit code.
    const sh = await c.kubectl.run(['exec', 'deploy/roll', '--', 'sh', '-c', 'exit 126']);
    expect(sh.code).toBe(126);
    expect(sh.stderr).toBe('command terminated with exit code 126\n');
  }, 60_000);
});
