import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { aggregatedVersion, discoveryRouter } from './discovery.js';
import { openapiRouter } from './openapi.js';

let server: http.Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(discoveryRouter({ extraGroups: [{ group: 'metrics.k8s.io', version: 'v1beta1', resources: [{ name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] }] }] }));
  app.use(openapiRouter());
  await new Promise<void>((resolve) => { server = app.listen(0, '127.0.0.1', () => resolve()); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const get = async (path: string, accept = 'application/json') => {
  const res = await fetch(base + path, { headers: { accept } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: res.status === 200 ? await res.json() : await res.text() };
};

describe('discovery', () => {
  it('legacy documents', async () => {
    expect((await get('/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = (await get('/api/v1')).body;
    expect(v1.groupVersion).toBe('v1');
    const pods = v1.resources.find((r: any) => r.name === 'pods');
    expect(pods).toMatchObject({ singularName: 'pod', namespaced: true, kind: 'Pod', shortNames: ['po'], categories: ['all'] });
    expect(pods.storageVersionHash).toMatch(/^[A-Za-z0-9+/]{11}=$/);
    expect(v1.resources.find((r: any) => r.name === 'pods/binding')).toMatchObject({ kind: 'Binding', verbs: ['create'] });
    expect(v1.resources.find((r: any) => r.name === 'pods/log')).toMatchObject({ kind: 'Pod', verbs: ['get'] });
    const apps = (await get('/apis/apps/v1')).body;
    expect(apps.resources.find((r: any) => r.name === 'deployments/scale')).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    const groups = (await get('/apis')).body;
    expect(groups.kind).toBe('APIGroupList');
    expect(groups.groups.map((g: any) => g.name)).toEqual(['apps', 'events.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'apiextensions.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'metrics.k8s.io']);
    // Create-only kinds: only create is advertised, and nothing stored means no storage version.
    const ssar = (await get('/apis/authorization.k8s.io/v1')).body.resources.find((r: any) => r.name === 'selfsubjectaccessreviews');
    expect(ssar).toEqual({ name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] });
    expect((await get('/apis/coordination.k8s.io')).body).toMatchObject({ kind: 'APIGroup', preferredVersion: { groupVersion: 'coordination.k8s.io/v1', version: 'v1' } });
    expect((await get('/apis/metrics.k8s.io/v1beta1')).body.resources[0].kind).toBe('PodMetrics');
  });

  it('aggregated discovery, v2 and v2beta1', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const core = await get('/api', accept);
    expect(core.type).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    expect(core.body.kind).toBe('APIGroupDiscoveryList');
    const podRes = core.body.items[0].versions[0].resources.find((r: any) => r.resource === 'pods');
    expect(podRes).toMatchObject({ scope: 'Namespaced', singularResource: 'pod', responseKind: { group: '', version: 'v1', kind: 'Pod' } });
    expect(podRes.subresources.find((s: any) => s.subresource === 'status').verbs).toEqual(['get', 'patch', 'update']);
    const apis = await get('/apis', 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
    expect(apis.body.apiVersion).toBe('apidiscovery.k8s.io/v2beta1');
    expect(apis.body.items.map((i: any) => i.metadata.name)).toEqual(['apps', 'events.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'apiextensions.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'metrics.k8s.io']);
    expect(aggregatedVersion('application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')).toBeUndefined();
  });
});

describe('openapi v3', () => {
  it('index points at hashed per-group-version documents', async () => {
    const index = (await get('/openapi/v3')).body;
    expect(Object.keys(index.paths).sort()).toEqual(['api/v1', 'apis/apiextensions.k8s.io/v1', 'apis/apps/v1', 'apis/authentication.k8s.io/v1', 'apis/authorization.k8s.io/v1', 'apis/autoscaling/v1', 'apis/autoscaling/v2', 'apis/batch/v1', 'apis/certificates.k8s.io/v1', 'apis/coordination.k8s.io/v1', 'apis/discovery.k8s.io/v1', 'apis/events.k8s.io/v1', 'apis/networking.k8s.io/v1', 'apis/policy/v1', 'apis/rbac.authorization.k8s.io/v1', 'apis/scheduling.k8s.io/v1', 'apis/storage.k8s.io/v1']);
    // A create-only kind has a POST and nothing else, and no List kind.
    const authz = (await get(index.paths['apis/authorization.k8s.io/v1'].serverRelativeURL)).body;
    expect(Object.keys(authz.paths['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'])).toEqual(['post', 'parameters']);
    expect(authz.components.schemas['io.k8s.api.authorization.v1.SelfSubjectAccessReviewList']).toBeUndefined();
    expect((await get(index.paths['apis/rbac.authorization.k8s.io/v1'].serverRelativeURL)).body.components.schemas['io.k8s.api.rbac.v1.ClusterRole']).toBeDefined();
    const url: string = index.paths['apis/apps/v1'].serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    const doc = (await get(url)).body;
    const dep = doc.components.schemas['io.k8s.api.apps.v1.Deployment'];
    expect(dep['x-kubernetes-group-version-kind']).toEqual([{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
    expect(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']).toBeDefined();
    expect(doc.components.schemas['io.k8s.api.core.v1.PodSpec'].properties.containers['x-kubernetes-patch-merge-key']).toBe('name');
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', kind: 'Deployment', version: 'v1' });
    expect(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query')).toBe(true);
    // Every $ref resolves inside the document.
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const r of refs) expect(doc.components.schemas[r.slice(29, -1)], r).toBeDefined();
    expect((await get('/openapi/v3/apis/nope/v1')).status).toBe(404);
  });
});
