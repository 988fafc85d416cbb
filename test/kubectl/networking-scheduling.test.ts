// networking.k8s.io (Ingress, IngressClass, NetworkPolicy) and
// scheduling.k8s.io (PriorityClass) with the real kubectl against the
// compiled API server: apply of a representative manifest, get with kube's
// columns, describe, explain with kube's descriptions, and kube's refusals;
// the system priority classes the server creates, and a pod's priority
// resolved at admission. Also explain of nested Pod and Deployment fields,
// which come from Kubernetes' own schemas.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubectl } from '../util/kubectl.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';

const samples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'apiserver', 'samples');
const sample = (group: string, plural: string) => fs.readFileSync(path.join(samples, group, `${plural}.yaml`), 'utf8');

let srv: ApiServerProcess;
let kubectl: Kubectl;

beforeAll(async () => {
  srv = await startApiServer();
  kubectl = new Kubectl(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

/** The header and rows of a `kubectl get` as columns split on runs of two or more spaces. */
function table(out: string): string[][] {
  return out.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
}

describe('networking.k8s.io with kubectl', () => {
  it('Ingress: apply, get (Name, Class, Hosts, Address, Ports, Age), describe, explain', async () => {
    expect(await kubectl.ok(['apply', '-f', '-'], { input: sample('networking.k8s.io', 'ingresses') })).toContain('ingress.networking.k8s.io/sample-web created');
    const rows = table(await kubectl.ok(['get', 'ingress', 'sample-web']));
    expect(rows[0]).toEqual(['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE']);
    expect(rows[1]!.slice(0, 4)).toEqual(['sample-web', 'nginx', 'shop.example.com', '80, 443']);
    const described = await kubectl.ok(['describe', 'ingress', 'sample-web']);
    expect(described).toMatch(/Name:\s+sample-web/);
    expect(described).toMatch(/shop\.example\.com/);
    expect(described).toMatch(/\/api\s+api:http/);
    expect((await kubectl.ok(['explain', 'ingress.spec.rules.http.paths.pathType'])).replace(/\s+/g, ' ')).toContain('pathType determines the interpretation of the path matching');
  });

  it('Ingress: an Exact path that is not absolute is refused with kube\'s message', async () => {
    const r = await kubectl.run(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'bad' },
      spec: { rules: [{ http: { paths: [{ path: 'relative', pathType: 'Exact', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    }) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('The Ingress "bad" is invalid: spec.rules[0].http.paths[0].path: Invalid value: "relative": must be an absolute path');
  });

  it('IngressClass: apply, get (Name, Controller, Parameters, Age), controller immutable', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: sample('networking.k8s.io', 'ingressclasses') });
    const rows = table(await kubectl.ok(['get', 'ingressclass', 'sample-nginx']));
    expect(rows[0]).toEqual(['NAME', 'CONTROLLER', 'PARAMETERS', 'AGE']);
    expect(rows[1]!.slice(0, 3)).toEqual(['sample-nginx', 'k8s.io/ingress-nginx', '<none>']);
    expect(await kubectl.ok(['describe', 'ingressclass', 'sample-nginx'])).toMatch(/Controller:\s+k8s\.io\/ingress-nginx/);
    const r = await kubectl.run(['patch', 'ingressclass', 'sample-nginx', '--type=merge', '-p', '{"spec":{"controller":"example.com/other"}}']);
    expect(r.stderr).toContain('spec.controller: Invalid value: "example.com/other": field is immutable');
  });

  it('NetworkPolicy: apply, get by short name (Name, Pod-Selector, Age), describe, explain', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: sample('networking.k8s.io', 'networkpolicies') });
    const rows = table(await kubectl.ok(['get', 'netpol', 'sample-db']));
    expect(rows[0]).toEqual(['NAME', 'POD-SELECTOR', 'AGE']);
    expect(rows[1]!.slice(0, 2)).toEqual(['sample-db', 'role=db']);
    const described = await kubectl.ok(['describe', 'networkpolicy', 'sample-db']);
    expect(described).toMatch(/PodSelector:\s+role=db/);
    expect(described).toContain('172.17.0.0/16');
    expect((await kubectl.ok(['explain', 'networkpolicy.spec.policyTypes'])).replace(/\s+/g, ' ')).toContain('policyTypes is a list of rule types that the NetworkPolicy relates to.');
    const bad = await kubectl.run(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'bad' }, spec: { podSelector: {}, ingress: [{ from: [{}] }] } }) });
    expect(bad.stderr).toContain('spec.ingress[0].from[0]: Required value: must specify a peer');
  });
});

describe('scheduling.k8s.io with kubectl', () => {
  it('the system priority classes exist; get pc shows Name, Value, Global-Default, Age, PreemptionPolicy', async () => {
    const out = await waitFor('system priority classes', async () => {
      const r = await kubectl.run(['get', 'pc']);
      return r.code === 0 && r.stdout.includes('system-node-critical') && r.stdout.includes('system-cluster-critical') ? r.stdout : undefined;
    }, 30_000, 200);
    const rows = table(out);
    expect(rows[0]).toEqual(['NAME', 'VALUE', 'GLOBAL-DEFAULT', 'AGE', 'PREEMPTIONPOLICY']);
    const byName = Object.fromEntries(rows.slice(1).map((r) => [r[0], r]));
    expect(byName['system-cluster-critical']!.slice(1, 3)).toEqual(['2000000000', 'false']);
    expect(byName['system-node-critical']!.slice(1, 3)).toEqual(['2000001000', 'false']);
    expect(byName['system-node-critical']![4]).toBe('PreemptLowerPriority');
  });

  it('PriorityClass: apply, describe, explain, value immutable, system- prefix reserved', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: sample('scheduling.k8s.io', 'priorityclasses') });
    expect(await kubectl.ok(['describe', 'priorityclass', 'sample-high-priority'])).toMatch(/Value:\s+1000000/);
    expect((await kubectl.ok(['explain', 'priorityclass.value'])).replace(/\s+/g, ' ')).toContain('value represents the integer value of this priority class');
    const r = await kubectl.run(['patch', 'pc', 'sample-high-priority', '--type=merge', '-p', '{"value":5}']);
    expect(r.stderr).toContain('value: Forbidden: may not be changed in an update.');
    const sys = await kubectl.run(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-mine' }, value: 10 }) });
    expect(sys.stderr).toContain("metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class");
  });

  it('a pod\'s priorityClassName resolves into its priority; an unknown class is refused', async () => {
    const pod = (name: string, cls: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { priorityClassName: cls, containers: [{ name: 'c', image: 'busybox:latest' }] } });
    await kubectl.ok(['create', '-f', '-'], { input: pod('critical', 'system-node-critical') });
    expect(await kubectl.ok(['get', 'pod', 'critical', '-o', 'jsonpath={.spec.priority} {.spec.preemptionPolicy}'])).toBe('2000001000 PreemptLowerPriority');
    const r = await kubectl.run(['create', '-f', '-'], { input: pod('orphan', 'nope') });
    expect(r.stderr).toContain('pods "orphan" is forbidden: no PriorityClass with name nope was found');
  });
});

describe('kubectl explain prints Kubernetes\' own descriptions', () => {
  it('a nested field of Pod and of Deployment', async () => {
    const probe = await kubectl.ok(['explain', 'pod.spec.containers.livenessProbe.httpGet.path']);
    expect(probe).toMatch(/FIELD:\s+path <string>/);
    expect(probe.replace(/\s+/g, ' ')).toContain('Path to access on the HTTP server.');
    const strategy = await kubectl.ok(['explain', 'deployment.spec.strategy.type']);
    // kubectl wraps descriptions at 80 columns.
    expect(strategy.replace(/\s+/g, ' ')).toContain('Type of deployment. Can be "Recreate" or "RollingUpdate". Default is RollingUpdate.');
    // The enum kube publishes (folded in from api/openapi/extensions.ts).
    expect(strategy).toMatch(/ENUM:\s+Recreate\s+RollingUpdate/);
  });
});
