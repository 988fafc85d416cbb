// Cluster DNS end to end: `skiff up` starts the DNS and the kube-dns Service,
// the kubelet writes each pod's resolv.conf, and from a busybox pod the
// Service's short, namespaced and full names resolve and serve, while an
// unknown name fails at once (no upstream: nothing leaves the machine).

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skiffUp, type TestCluster } from '../util/cluster.js';
import { waitFor } from '../util/ports.js';

// A range of its own, so another cluster on this kernel (default 10.96.0.0/12) never shares a ClusterIP with this one.
const serviceRange = '10.112.0.0/16';
const dnsIP = '10.112.0.10';
const ns = 'dnse2e';

const manifest = `
apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${ns} }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - name: httpd
        image: busybox:latest
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${ns} }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 80 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:latest
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`;

let c: TestCluster;

beforeAll(async () => {
  c = await skiffUp({ args: [`--service-cluster-ip-range=${serviceRange}`] });
}, 240_000);

afterAll(async () => {
  await c?.down();
  // skiff up made the range local (as it does the default one); this test's own range goes with it.
  try { execFileSync('ip', ['route', 'del', 'local', serviceRange, 'dev', 'lo', 'table', 'local'], { stdio: 'ignore' }); } catch { /* not there */ }
}, 120_000);

describe('cluster DNS from a pod', () => {
  it('has the kube-dns Service at the 10th address of the range and a running DNS', async () => {
    const svc = JSON.parse((await c.kubectl.run(['-n', 'kube-system', 'get', 'svc', 'kube-dns', '-o', 'json'])).stdout);
    expect(svc.spec.clusterIP).toBe(dnsIP);
    expect(svc.spec.ports.map((p: { name: string; port: number; protocol: string }) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
  });

  it('resolves web, web.<ns> and the full name from a busybox pod, serves by name, and fails an unknown name fast', async () => {
    const apply = await c.kubectl.run(['apply', '-f', '-'], { input: manifest });
    expect(apply.code, apply.stderr).toBe(0);
    const wait = await c.kubectl.run(['-n', ns, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=120s']);
    expect(wait.code, wait.stderr).toBe(0);
    const clusterIP = (await c.kubectl.run(['-n', ns, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout.trim();

    const resolv = await c.kubectl.run(['-n', ns, 'exec', 'client', '--', 'cat', '/etc/resolv.conf']);
    expect(resolv.stdout).toMatch(new RegExp(`^search ${ns}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local( [^\\n]+)?\\nnameserver ${dnsIP.replace(/\./g, '\\.')}\\noptions ndots:5\\n$`));

    // busybox's nslookup applies the search list only to names without a dot (web.<ns> is asked as is, as it would be of
    // CoreDNS, and refused here); the libc resolver follows ndots:5, so web.<ns> is checked by fetching it below.
    for (const name of ['web', `web.${ns}.svc.cluster.local`]) {
      const r = await waitFor(`nslookup ${name}`, async () => {
        const x = await c.kubectl.run(['-n', ns, 'exec', 'client', '--', 'nslookup', name]);
        // busybox's nslookup also asks the other search domains and exits 1 for their NXDOMAINs, as it does against CoreDNS.
        return x.stdout.includes(clusterIP) ? x : undefined;
      }, 30_000, 500);
      expect(r.stdout).toContain(`Name:\tweb.${ns}.svc.cluster.local\nAddress: ${clusterIP}`);
    }

    // By each name through the ClusterIP, resolved by the libc resolver (nc: Debian's busybox-static wget segfaults, see test/e2e/services.test.ts).
    for (const name of ['web', `web.${ns}`, `web.${ns}.svc.cluster.local`]) {
      const body = await waitFor(`GET http://${name}/`, async () => {
        const x = await c.kubectl.run(['-n', ns, 'exec', 'client', '--', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${name} 80`]);
        return x.stdout.includes('hello-from-web') ? x.stdout : undefined;
      }, 30_000, 500);
      expect(body).toContain('hello-from-web');
    }

    const t0 = Date.now();
    const unknown = await c.kubectl.run(['-n', ns, 'exec', 'client', '--', 'nslookup', 'no-such-name.example']);
    expect(unknown.code).not.toBe(0);
    // Fast: answered (REFUSED / NXDOMAIN), not a resolver timeout; kubectl exec itself takes part of it.
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 300_000);
});
