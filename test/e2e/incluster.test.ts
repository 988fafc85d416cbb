// A workload reaching the API server as Kubernetes' own clients do from a
// pod: the official JavaScript client's in-cluster config (KUBERNETES_SERVICE_HOST
// and the ServiceAccount volume's token, ca.crt and namespace), through the
// `kubernetes` Service's ClusterIP, with TLS verified, as the pod's
// ServiceAccount and nothing more. The cluster is `skiff up`'s, secured as
// it is by default. The pod runs this machine's node binary and the
// repository's node_modules from hostPath volumes (no registry is reachable
// to pull a node image from).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKubeconfig } from '../../client/kubeconfig.js';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { Kubectl } from '../util/kubectl.js';
import { waitFor } from '../util/ports.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const nodeBinary = execFileSync('readlink', ['-f', process.execPath], { encoding: 'utf8' }).trim();

const script = `
import * as k8s from '@kubernetes/client-node';
import fs from 'node:fs';
const kc = new k8s.KubeConfig();
kc.loadFromCluster();
const ns = fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8');
const api = kc.makeApiClient(k8s.CoreV1Api);
const out = { server: kc.getCurrentCluster().server, skipTLS: !!kc.getCurrentCluster().skipTLSVerify, namespace: ns };
try {
  out.configmaps = (await api.listNamespacedConfigMap({ namespace: ns })).items.map((c) => c.metadata.name).sort();
} catch (e) { out.configmapsError = e.code ?? String(e); }
try {
  await api.listNamespacedSecret({ namespace: ns });
  out.secrets = 'allowed';
} catch (e) { out.secretsCode = e.code; out.secretsMessage = JSON.parse(e.body ?? '{}').message; }
const review = await kc.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
out.user = review.status.userInfo.username;
console.log('RESULT ' + JSON.stringify(out));
`;

describe('a pod using the official in-cluster client', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await skiffUp({ nodes: 1 });
  });
  afterAll(async () => {
    await c?.down();
  });

  it('reaches the API server through the kubernetes Service as its ServiceAccount, verified, and gets only what RBAC grants', async () => {
    const ns = 'incluster';
    await c.kubectl.ok(['create', 'namespace', ns]);
    await c.kubectl.ok(['-n', ns, 'create', 'serviceaccount', 'reader']);
    await c.kubectl.ok(['-n', ns, 'create', 'role', 'cm-reader', '--verb=get,list,watch', '--resource=configmaps']);
    await c.kubectl.ok(['-n', ns, 'create', 'rolebinding', 'reader-cm', '--role=cm-reader', `--serviceaccount=${ns}:reader`]);
    await c.kubectl.ok(['-n', ns, 'create', 'configmap', 'settings', '--from-literal=a=1']);
    await c.kubectl.ok(['-n', ns, 'create', 'secret', 'generic', 'password', '--from-literal=p=hunter2']);
    await c.kubectl.ok(['-n', ns, 'create', 'configmap', 'check', `--from-literal=check.mjs=${script}`]);
    const hostDir = (name: string, p: string, type: string) => ({ name, hostPath: { path: p, type } });
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: ns },
      spec: {
        serviceAccountName: 'reader', restartPolicy: 'Never',
        containers: [{
          name: 'client', image: 'busybox:latest', imagePullPolicy: 'Never', command: ['/usr/bin/node', '/app/script/check.mjs'],
          volumeMounts: [
            { name: 'node', mountPath: '/usr/bin/node', readOnly: true },
            { name: 'libs', mountPath: '/lib/x86_64-linux-gnu', readOnly: true },
            { name: 'lib64', mountPath: '/lib64', readOnly: true },
            { name: 'modules', mountPath: '/app/node_modules', readOnly: true },
            { name: 'script', mountPath: '/app/script', readOnly: true },
          ],
        }],
        volumes: [
          hostDir('node', nodeBinary, 'File'), hostDir('libs', '/lib/x86_64-linux-gnu', 'Directory'), hostDir('lib64', '/lib64', 'Directory'),
          hostDir('modules', path.join(repo, 'node_modules'), 'Directory'),
          { name: 'script', configMap: { name: 'check' } },
        ],
      },
    };
    await c.kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    // The ServiceAccount admission plugin mounted the token volume.
    const created = await c.kubectl.json(['-n', ns, 'get', 'pod', 'client']);
    expect(created.spec.volumes.some((v: any) => /^kube-api-access-/.test(v.name) && v.projected)).toBe(true);
    const phase = await waitFor('the client pod to finish', async () => {
      const p = await c.kubectl.json(['-n', ns, 'get', 'pod', 'client']);
      return ['Succeeded', 'Failed'].includes(p.status?.phase) ? p.status.phase : undefined;
    }, 90_000, 500);
    const logs = await c.kubectl.ok(['-n', ns, 'logs', 'client']);
    expect(phase, logs).toBe('Succeeded');
    const result = JSON.parse(/RESULT (.*)/.exec(logs)![1]);
    expect(result).toMatchObject({
      server: 'https://10.96.0.1:443',
      skipTLS: false,
      namespace: ns,
      configmaps: ['check', 'kube-root-ca.crt', 'settings'],
      secretsCode: 403,
      user: `system:serviceaccount:${ns}:reader`,
    });
    expect(result.secretsMessage).toBe(`secrets is forbidden: User "system:serviceaccount:${ns}:reader" cannot list resource "secrets" in API group "" in the namespace "${ns}"`);
  });

  it('issues bootstrap tokens with skiff token: one authenticates as system:bootstrap:<id> until deleted, list never shows its secret', async () => {
    const created = await c.skiff(['token', 'create', '--description=join test']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const [id, secret] = token.split('.');
    // A kubeconfig holding the token alone: with the admin's certificate beside it, the certificate would authenticate first (as in kube).
    const file = path.join(c.home, 'token.conf');
    writeKubeconfig(file, { server: c.server, name: 'joiner', ca: fs.readFileSync(path.join(c.home, 'pki', 'ca.crt'), 'utf8'), token });
    const joiner = new Kubectl(c.server, file);
    const whoami = await joiner.run(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(whoami.stdout).toBe(`system:bootstrap:${id}`);
    const list = await c.skiff(['token', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\.\\*{16}\\s+2[34]h\\s+\\S+\\s+authentication,signing\\s+join test\\s+system:bootstrappers:kubeadm:default-node-token$`, 'm'));
    expect(list.stdout).not.toContain(secret);
    expect((await c.skiff(['token', 'delete', token])).stdout).toContain(`bootstrap token "${id}" deleted`);
    const after = await joiner.run(['auth', 'whoami']);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('Unauthorized');
  });
});
