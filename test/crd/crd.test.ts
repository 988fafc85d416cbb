// CustomResourceDefinitions with the real kubectl: published CRDs of some size
// (cert-manager's Certificate, prometheus-operator's ServiceMonitor) and
// Kubernetes' own CronTab example are applied, served without a restart, and
// their objects behave as on kube-apiserver: printer columns, explain,
// schema validation, pruning and defaulting, the status and scale
// subresources, two versions of one object, and cleanup on deletion.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubectl } from '../util/kubectl.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (f: string) => path.join(fixtures, f);

let srv: ApiServerProcess;
let kubectl: Kubectl;

beforeAll(async () => {
  srv = await startApiServer();
  kubectl = new Kubectl(srv.url);
  for (const f of ['certificates.cert-manager.io.yaml', 'servicemonitors.monitoring.coreos.com.yaml', 'crontabs.stable.example.com.yaml']) {
    await kubectl.ok(['apply', '-f', fixture(f)]);
  }
  await kubectl.ok(['wait', '--for=condition=Established', '--timeout=30s', 'crd/certificates.cert-manager.io', 'crd/servicemonitors.monitoring.coreos.com', 'crd/crontabs.stable.example.com']);
}, 120_000);
afterAll(async () => {
  await srv?.stop();
});

const certificate = (name: string, extra = '') => `apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: ${name}
spec:
  secretName: ${name}-tls
  dnsNames: [${name}.example.com]
  issuerRef:
    name: letsencrypt
    kind: ClusterIssuer
${extra}`;

describe('CustomResourceDefinitions', () => {
  it('reports the CRDs established with their accepted names, and lists them as kube does', async () => {
    const crd = await kubectl.json(['get', 'crd', 'certificates.cert-manager.io']);
    const conds = Object.fromEntries(crd.status.conditions.map((c: any) => [c.type, c]));
    expect(conds.NamesAccepted).toMatchObject({ status: 'True', reason: 'NoConflicts' });
    expect(conds.Established).toMatchObject({ status: 'True', reason: 'InitialNamesAccepted' });
    expect(crd.status.acceptedNames).toMatchObject({ kind: 'Certificate', plural: 'certificates', shortNames: ['cert', 'certs'] });
    expect(crd.status.storedVersions).toEqual(['v1']);
    expect(crd.metadata.generation).toBe(1);
    const out = await kubectl.ok(['get', 'crds']);
    expect(out).toMatch(/^NAME\s+CREATED AT\n/);
    expect(out).toMatch(/crontabs\.stable\.example\.com\s+\d{4}-\d\d-\d\dT/);
  });

  it('does not serve a CRD whose names another CRD of its group has, and explains CRDs themselves', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crons.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crons, singular: cron, kind: CronTab}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
` });
    await expect.poll(async () => (await kubectl.json(['get', 'crd', 'crons.stable.example.com'])).status?.conditions ?? [], { timeout: 10_000 })
      .toEqual(expect.arrayContaining([
        expect.objectContaining({ type: 'NamesAccepted', status: 'False', reason: 'KindConflict', message: '"CronTab" is already in use' }),
        expect.objectContaining({ type: 'Established', status: 'False', reason: 'NotAccepted' }),
      ]));
    expect((await kubectl.run(['get', '--raw', '/apis/stable.example.com/v1/crons'])).code).not.toBe(0);
    await kubectl.ok(['delete', 'crd', 'crons.stable.example.com']);
    const explained = await kubectl.ok(['explain', 'crd.spec.versions.schema']);
    expect(explained).toContain('KIND:       CustomResourceDefinition');
    expect(explained).toMatch(/FIELD: schema <CustomResourceValidation>[\s\S]*openAPIV3Schema\t<JSONSchemaProps>/);
  });

  it('refuses a CRD that is not structural, with kube\'s field paths', async () => {
    const bad = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { plural: widgets, kind: Widget }
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            properties:
              size: { type: integer }
`;
    const r = await kubectl.run(['apply', '-f', '-'], { input: bad });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields');
    // kubectl's field validation lists the CRDs before it calls a kind unknown.
    const unknown = await kubectl.run(['apply', '-f', '-'], { input: 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n' });
    expect(unknown.stderr).toContain('no matches for kind "Widget" in version "example.com/v1"');
    const two = bad.replace('storage: true', 'storage: false');
    const r2 = await kubectl.run(['apply', '-f', '-'], { input: two });
    expect(r2.stderr).toContain('must have exactly one version marked as storage version');
  });

  it('serves custom objects with the CRD\'s printer columns, short names and categories', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: certificate('web') });
    await kubectl.ok(['patch', 'certificate', 'web', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True', message: 'Certificate is up to date and has not expired' }] } })]);
    const out = await kubectl.ok(['get', 'certificates']);
    expect(out).toMatch(/^NAME\s+READY\s+SECRET\s+AGE\n/);
    expect(out).toMatch(/\nweb\s+True\s+web-tls\s+\d+s\n/);
    const wide = await kubectl.ok(['get', 'cert', '-o', 'wide']);
    expect(wide).toMatch(/^NAME\s+READY\s+SECRET\s+ISSUER\s+STATUS\s+AGE\n/);
    expect(wide).toMatch(/web\s+True\s+web-tls\s+letsencrypt\s+Certificate is up to date and has not expired\s+\d+s/);
    const cat = await kubectl.ok(['get', 'cert-manager', '-o', 'name']);
    expect(cat).toBe('certificate.cert-manager.io/web\n');
  });

  it('explains custom kinds from the CRD\'s schema', async () => {
    const out = await kubectl.ok(['explain', 'certificate.spec.privateKey']);
    expect(out).toContain('GROUP:      cert-manager.io');
    expect(out).toContain('Private key options. These include the key algorithm and size, the used');
    expect(out).toMatch(/rotationPolicy\s+<string>/);
    const sm = await kubectl.ok(['explain', 'servicemonitor.spec.endpoints.relabelings.action']);
    expect(sm).toContain('Action to perform based on the regex matching.');
  });

  it('refuses an invalid object with the schema path and kube\'s message', async () => {
    const r = await kubectl.run(['apply', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {cronSpec: "* * * * */5", replicas: "string"}\n' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"');
    const e = await kubectl.run(['apply', '-f', '-'], { input: certificate('odd', '  privateKey: {algorithm: DSA}\n') });
    expect(e.stderr).toContain('spec.privateKey.algorithm: Unsupported value: "DSA": supported values: "RSA", "ECDSA", "Ed25519"');
    const missing = await kubectl.run(['apply', '-f', '-'], { input: 'apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: nosecret}\nspec: {issuerRef: {name: x}}\n' });
    expect(missing.stderr).toContain('spec.secretName: Required value');
  });

  it('runs the schema\'s CEL rules (x-kubernetes-validations), transition rules against the stored object', async () => {
    const bad = await kubectl.run(['apply', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: cel}\nspec: {cronSpec: "* * * * */5", selector: "tier=web"}\n' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('spec: Invalid value: "object": selector tier=web must select by app');
    await kubectl.ok(['apply', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: cel}\nspec: {cronSpec: "* * * * */5", selector: "app=web", image: one}\n' });
    const changed = await kubectl.run(['patch', 'crontab', 'cel', '--type=merge', '-p', '{"spec":{"image":"two"}}']);
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain('spec.image: Invalid value: "string": image is immutable');
    await kubectl.ok(['patch', 'crontab', 'cel', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    const broken = await kubectl.run(['apply', '-f', '-'], { input: `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-validations: [{rule: "self.spec.size >"}]
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
` });
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain('spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0].rule: Invalid value: "self.spec.size >": compilation failed');
  });

  it('prunes unknown fields and fills in defaults from the schema', async () => {
    const r = await kubectl.run(['apply', '--validate=false', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: pruned}\nspec: {cronSpec: "* * * * */5", image: app, color: red}\n' });
    expect(r.code, r.stderr).toBe(0);
    const ct = await kubectl.json(['get', 'crontab', 'pruned']);
    expect(ct.spec).toEqual({ cronSpec: '* * * * */5', image: 'app', replicas: 1 });
    const strict = await kubectl.run(['apply', '--validate=strict', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: strict}\nspec: {cronSpec: "* * * * */5", color: red}\n' });
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('unknown field "spec.color"');
    const sm = `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  endpoints:
  - port: metrics
    interval: 30s
    targetPort: 8080
    relabelings:
    - sourceLabels: [__meta_kubernetes_pod_name]
      targetLabel: pod
`;
    await kubectl.ok(['apply', '-f', '-'], { input: sm });
    const got = await kubectl.json(['get', 'smon', 'web']);
    expect(got.spec.endpoints[0].relabelings[0].action).toBe('replace');
    expect(got.spec.endpoints[0].targetPort).toBe(8080);
  });

  it('keeps status out of the main resource and spec out of /status', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: status}\nspec: {cronSpec: "* * * * */5", replicas: 2}\nstatus: {replicas: 9}\n' });
    let ct = await kubectl.json(['get', 'crontab', 'status']);
    expect(ct.status).toBeUndefined();
    expect(ct.metadata.generation).toBe(1);
    await kubectl.ok(['patch', 'crontab', 'status', '--subresource=status', '--type=merge', '-p', '{"status":{"replicas":2},"spec":{"replicas":5}}']);
    ct = await kubectl.json(['get', 'crontab', 'status']);
    expect(ct.status).toEqual({ replicas: 2 });
    expect(ct.spec.replicas).toBe(2);
    ct.status.replicas = 7;
    ct.spec.replicas = 3;
    await kubectl.ok(['replace', '-f', '-'], { input: JSON.stringify(ct) });
    ct = await kubectl.json(['get', 'crontab', 'status']);
    expect(ct.status).toEqual({ replicas: 2 });
    expect(ct.spec.replicas).toBe(3);
    expect(ct.metadata.generation).toBe(2);
  });

  it('scales through the scale subresource at the CRD\'s paths', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: scaled}\nspec: {cronSpec: "* * * * */5", replicas: 2}\n' });
    await kubectl.ok(['patch', 'crontab', 'scaled', '--subresource=status', '--type=merge', '-p', '{"status":{"replicas":2,"labelSelector":"app=scaled"}}']);
    await kubectl.ok(['scale', 'crontab', 'scaled', '--replicas=4']);
    const ct = await kubectl.json(['get', 'crontab', 'scaled']);
    expect(ct.spec.replicas).toBe(4);
    const scale = await kubectl.json(['get', '--raw', '/apis/stable.example.com/v1/namespaces/default/crontabs/scaled/scale']).catch(async () => JSON.parse(await kubectl.ok(['get', '--raw', '/apis/stable.example.com/v1/namespaces/default/crontabs/scaled/scale'])));
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 4 }, status: { replicas: 2, selector: 'app=scaled' } });
    const over = await kubectl.run(['scale', 'crontab', 'scaled', '--replicas=11']);
    expect(over.code).not.toBe(0);
    expect(over.stderr).toContain('spec.replicas in body should be less than or equal to 10');
  });

  it('serves one object at both versions', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: 'apiVersion: stable.example.com/v1beta1\nkind: CronTab\nmetadata: {name: old}\nspec: {cronSpec: "* * * * */5", replicas: 3}\n' });
    const v1 = await kubectl.json(['get', 'crontabs.v1.stable.example.com', 'old']);
    expect(v1.apiVersion).toBe('stable.example.com/v1');
    expect(v1.spec.replicas).toBe(3);
    const beta = await kubectl.json(['get', 'crontabs.v1beta1.stable.example.com', 'old']);
    expect(beta.apiVersion).toBe('stable.example.com/v1beta1');
    expect(beta.metadata.resourceVersion).toBe(v1.metadata.resourceVersion);
    const names = (await kubectl.json(['get', 'crontabs.v1beta1.stable.example.com'])).items.map((o: any) => o.metadata.name);
    expect(names).toContain('old');
    expect(names).toContain('pruned');
  });

  it('selects custom objects by label and field, and pages through them', async () => {
    for (const n of ['a', 'b', 'c']) await kubectl.ok(['apply', '-f', '-'], { input: `apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: sel-${n}, labels: {tier: ${n === 'a' ? 'front' : 'back'}}}\nspec: {cronSpec: "* * * * */5"}\n` });
    expect(await kubectl.ok(['get', 'ct', '-l', 'tier=back', '-o', 'name'])).toBe('crontab.stable.example.com/sel-b\ncrontab.stable.example.com/sel-c\n');
    expect(await kubectl.ok(['get', 'ct', '--field-selector', 'metadata.name=sel-a', '-o', 'name'])).toBe('crontab.stable.example.com/sel-a\n');
    const paged = await kubectl.ok(['get', 'ct', '--chunk-size=2', '-o', 'name']);
    expect(paged.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(6);
  });

  it('applies server-side with list-map keys from the schema', async () => {
    await kubectl.ok(['apply', '--server-side', '--field-manager=a', '-f', '-'], { input: certificate('ssa') });
    // status.conditions is a map list keyed by type: two managers each own their own entry.
    const cond = (type: string) => `apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: ssa}\nstatus: {conditions: [{type: ${type}, status: "False"}]}\n`;
    await kubectl.ok(['apply', '--server-side', '--field-manager=ready-writer', '--subresource=status', '-f', '-'], { input: cond('Ready') });
    await kubectl.ok(['apply', '--server-side', '--field-manager=issuing-writer', '--subresource=status', '-f', '-'], { input: cond('Issuing') });
    const got = await kubectl.json(['get', 'certificate', 'ssa', '--show-managed-fields']);
    expect(got.status.conditions.map((c: any) => c.type).sort()).toEqual(['Issuing', 'Ready']);
    const owned = got.metadata.managedFields.find((m: any) => m.manager === 'ready-writer');
    expect(owned).toMatchObject({ operation: 'Apply', subresource: 'status' });
    expect(JSON.stringify(owned.fieldsV1)).toContain('k:{\\"type\\":\\"Ready\\"}');
    expect(got.metadata.managedFields.some((m: any) => m.manager === 'a' && m.operation === 'Apply')).toBe(true);
    const conflict = await kubectl.run(['apply', '--server-side', '--field-manager=b', '-f', '-'], { input: certificate('ssa').replace('ssa-tls', 'other-tls') });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/conflict/i);
  });

  it('watches custom objects', async () => {
    const w = kubectl.background(['get', 'crontabs', '--watch-only', '--output-watch-events']);
    try {
      // The watch is open once kubectl has listed; a change made before would be missed, so create until one is seen.
      await expect.poll(async () => {
        await kubectl.run(['apply', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: watched}\nspec: {cronSpec: "* * * * */5"}\n' });
        await kubectl.run(['label', 'crontab', 'watched', `seen=${Date.now()}`, '--overwrite']);
        return w.output();
      }, { timeout: 20_000, interval: 1000 }).toMatch(/(ADDED|MODIFIED)\s+watched\s+\* \* \* \* \*\/5\s+1\s/);
      await kubectl.ok(['delete', 'crontab', 'watched']);
      await expect.poll(() => w.output(), { timeout: 20_000 }).toMatch(/DELETED\s+watched\s/);
    } finally {
      w.stop();
    }
  });

  it('authorizes custom resources with RBAC like any resource', async () => {
    await kubectl.ok(['create', 'namespace', 'team']);
    const dev = new Kubectl(srv.url, await srv.kubeconfigFor('dev'));
    const denied = await dev.run(['-n', 'team', 'get', 'crontabs']);
    expect(denied.stderr).toContain('User "dev" cannot list resource "crontabs" in API group "stable.example.com" in the namespace "team"');
    await kubectl.ok(['-n', 'team', 'create', 'role', 'crontabs', '--verb=get,list,create', '--resource=crontabs.stable.example.com']);
    await kubectl.ok(['-n', 'team', 'create', 'rolebinding', 'dev-crontabs', '--role=crontabs', '--user=dev']);
    await expect.poll(async () => (await dev.run(['-n', 'team', 'get', 'crontabs'])).code, { timeout: 10_000 }).toBe(0);
    await dev.ok(['-n', 'team', 'apply', '--server-side', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: devs}\nspec: {cronSpec: "* * * * */5"}\n' }).catch(async () => {
      // apply may read first (get is granted); a create is what is asked of RBAC here.
      await dev.ok(['-n', 'team', 'create', '-f', '-'], { input: 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: devs}\nspec: {cronSpec: "* * * * */5"}\n' });
    });
    const del = await dev.run(['-n', 'team', 'delete', 'crontab', 'devs']);
    expect(del.stderr).toContain('cannot delete resource "crontabs" in API group "stable.example.com"');
  });

  it('deletes every object of a deleted CRD, then the CRD and its API', async () => {
    await kubectl.ok(['delete', 'crd', 'crontabs.stable.example.com', '--timeout=60s']);
    const gone = await kubectl.run(['get', 'crd', 'crontabs.stable.example.com']);
    expect(gone.stderr).toContain('not found');
    // Discovery no longer lists the group, and its paths are gone (kubectl's warm cache would still try them).
    expect(await kubectl.ok(['api-resources', '--api-group=stable.example.com', '--no-headers'])).toBe('');
    const api = await kubectl.run(['get', '--raw', '/apis/stable.example.com/v1/crontabs']);
    expect(api.code).not.toBe(0);
    expect(api.stderr).toContain('the server could not find the requested resource');
    // Made again, it starts empty: the objects were deleted, not hidden.
    await kubectl.ok(['apply', '-f', fixture('crontabs.stable.example.com.yaml')]);
    await kubectl.ok(['wait', '--for=condition=Established', '--timeout=30s', 'crd/crontabs.stable.example.com']);
    expect((await kubectl.json(['get', 'crontabs', '-A'])).items).toEqual([]);
  });
});
