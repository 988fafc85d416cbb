// ReplicationController, PodTemplate, LimitRange and ResourceQuota with the
// real kubectl: apply, get (kube's columns), describe, explain (kube's
// descriptions) and a refusal with kube's message for each.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubectl } from '../util/kubectl.js';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';

let srv: ApiServerProcess;
let kubectl: Kubectl;

beforeAll(async () => {
  srv = await startApiServer();
  kubectl = new Kubectl(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox:latest' }] } };

describe('core kinds with kubectl', () => {
  it('ReplicationController: apply, get, describe, explain, and a selector that does not match refused', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'web' }, spec: { replicas: 2, template } }) });
    expect(await kubectl.ok(['get', 'rc'])).toMatch(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nweb\s+2\s+0\s+0\s+\S+\n$/);
    expect(await kubectl.ok(['describe', 'rc', 'web'])).toMatch(/Selector:\s+app=web[\s\S]*Replicas:\s+0 current \/ 2 desired/);
    expect(await kubectl.ok(['explain', 'rc.spec.selector'])).toContain('Selector is a label query over pods that should match the Replicas count.');
    const bad = await kubectl.run(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'bad' }, spec: { selector: { app: 'other' }, template } }) });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('ReplicationController "bad" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`');
  });

  it('PodTemplate: apply, get columns, and a template without containers refused', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'pt' }, template }) });
    expect(await kubectl.ok(['get', 'podtemplates'])).toMatch(/^NAME\s+CONTAINERS\s+IMAGES\s+POD LABELS\npt\s+web\s+busybox:latest\s+app=web\n$/);
    const bad = await kubectl.run(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'empty' }, template: { spec: { containers: [] } } }) });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('PodTemplate "empty" is invalid: template.spec.containers: Required value');
  });

  it('LimitRange and ResourceQuota: describe, explain, and kube\'s refusals', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'lr' }, spec: { limits: [{ type: 'Container', max: { cpu: '1' }, defaultRequest: { cpu: '100m' } }] } }) });
    expect(await kubectl.ok(['describe', 'limits', 'lr'])).toMatch(/Container\s+cpu\s+-\s+1\s+100m\s+1\s+-/);
    const lr = await kubectl.run(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'bad' }, spec: { limits: [{ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } }] } }) });
    // The defaults (default from max, defaultRequest from min) are checked too, as kube's validation sees the defaulted object.
    expect(lr.stderr).toContain('The LimitRange "bad" is invalid: \n* spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1\n');
    expect(lr.stderr).toContain('* spec.limits[0].defaultRequest[cpu]: Invalid value: "1": min value 2 is greater than default request value 1');
    await kubectl.ok(['create', 'quota', 'q', '--hard=pods=4,requests.memory=1Gi']);
    expect(await kubectl.ok(['get', 'quota'])).toMatch(/^NAME\s+AGE\s+REQUEST\s+LIMIT\nq\s+\S+\s+pods: 0\/0, requests.memory: 0\/0\s*\n$/);
    expect(await kubectl.ok(['explain', 'resourcequota.spec.hard'])).toContain('hard is the set of desired hard limits for each named resource.');
    const rq = await kubectl.run(['create', 'quota', 'frac', '--hard=pods=1500m']);
    expect(rq.stderr).toContain('ResourceQuota "frac" is invalid: spec.hard[pods]: Invalid value: "1500m": must be an integer');
  });
});
