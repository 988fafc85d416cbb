import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { foldExtensions, generate, parseDeclaration, splitClassName, type Schema } from './generate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const committed = JSON.parse(fs.readFileSync(path.join(here, 'kube-v1.32.json'), 'utf8')) as { kubernetes: string; definitions: Record<string, Schema> };
const defs = committed.definitions;

describe('Kubernetes v1.32 definitions rebuilt from the official client', () => {
  it('the committed document is what the installed package generates', () => {
    const fresh = generate(path.join(repo, 'node_modules', 'k8s-openapi-v1.32'));
    expect(fresh.version).toBe('v1.32.0');
    expect(Object.keys(fresh.definitions).sort()).toEqual(Object.keys(defs).sort());
    expect(fresh.definitions).toEqual(defs);
  });

  it('every reference resolves', () => {
    const refs = new Set<string>();
    const walk = (s: unknown) => {
      if (!s || typeof s !== 'object') return;
      for (const [k, v] of Object.entries(s)) {
        if (k === '$ref' && typeof v === 'string') refs.add(v.replace('#/components/schemas/', ''));
        else walk(v);
      }
    };
    walk(defs);
    expect([...refs].filter((r) => !defs[r])).toEqual([]);
  });

  it('names definitions by their Go package, as kube-apiserver does', () => {
    for (const name of [
      'io.k8s.api.core.v1.Pod', 'io.k8s.api.apps.v1.Deployment', 'io.k8s.api.core.v1.PodTemplateSpec',
      'io.k8s.api.events.v1.Event', 'io.k8s.api.core.v1.Event', 'io.k8s.api.rbac.v1.Subject',
      'io.k8s.api.authentication.v1.TokenRequest', 'io.k8s.api.storage.v1.TokenRequest', 'io.k8s.api.autoscaling.v1.Scale',
      'io.k8s.api.policy.v1.Eviction', 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
      'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps', 'io.k8s.api.batch.v1.CronJob',
    ]) expect(defs[name], name).toBeDefined();
  });

  it('keeps kube\'s types, formats, required fields, descriptions and kinds', () => {
    const port = defs['io.k8s.api.core.v1.ContainerPort']!;
    expect(port.properties.containerPort).toMatchObject({ type: 'integer', format: 'int32' });
    expect(port.required).toEqual(['containerPort']);
    expect(defs['io.k8s.api.core.v1.PodSpec']!.properties.containers.description).toMatch(/^List of containers belonging to the pod/);
    expect(defs['io.k8s.api.core.v1.PodSpec']!.properties.activeDeadlineSeconds).toMatchObject({ type: 'integer', format: 'int64' });
    expect(defs['io.k8s.api.core.v1.ServicePort']!.properties.targetPort.allOf[0].$ref).toBe('#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    expect(defs['io.k8s.api.apps.v1.Deployment']!['x-kubernetes-group-version-kind']).toEqual([{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
    expect(defs['io.k8s.api.autoscaling.v1.Scale']!['x-kubernetes-group-version-kind']).toEqual([{ group: 'autoscaling', kind: 'Scale', version: 'v1' }]);
    expect(defs['io.k8s.api.core.v1.PodSpec']!['x-kubernetes-group-version-kind']).toBeUndefined();
  });
});

describe('what the client drops, folded in from extensions.ts', () => {
  it('carries kube\'s list types, map keys and patch strategies', () => {
    expect(defs['io.k8s.api.core.v1.Container']!.properties.ports).toMatchObject({
      'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
      'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'containerPort',
    });
    expect(defs['io.k8s.api.core.v1.PodSpec']!.properties.volumes['x-kubernetes-patch-strategy']).toBe('merge,retainKeys');
    expect(defs['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']!.properties.finalizers).toMatchObject({ 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' });
    expect(defs['io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector']!['x-kubernetes-map-type']).toBe('atomic');
    expect(defs['io.k8s.api.core.v1.PodSpec']!.properties.restartPolicy.enum).toEqual(['Always', 'Never', 'OnFailure']);
  });

  it('types resource quantities as Quantity, not the client\'s plain string', () => {
    const q = '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity';
    expect(defs['io.k8s.api.core.v1.ResourceRequirements']!.properties.limits.additionalProperties).toEqual({ $ref: q });
    expect(defs['io.k8s.api.core.v1.EmptyDirVolumeSource']!.properties.sizeLimit).toEqual({ allOf: [{ $ref: q }], description: expect.any(String) });
    expect(defs['io.k8s.apimachinery.pkg.api.resource.Quantity']!.oneOf).toEqual([{ type: 'string' }, { type: 'number' }]);
  });

  it('describes fields whose type is another definition, from kubernetes-models\' declarations', () => {
    expect(defs['io.k8s.api.apps.v1.DeploymentSpec']!.properties.strategy.description).toBe('The deployment strategy to use to replace existing pods with new ones.');
    expect(defs['io.k8s.api.core.v1.HTTPGetAction']!.properties.port.description).toMatch(/^Name or number of the port to access on the container/);
  });

  it('a table entry naming what kube does not have is refused', () => {
    expect(() => foldExtensions(structuredClone(defs), { 'io.k8s.api.core.v1.PodSpec': { nope: {} } })).toThrow(/PodSpec.nope/);
    expect(() => foldExtensions(structuredClone(defs), { 'io.k8s.api.core.v1.Nope': {} })).toThrow(/Nope/);
  });
});

describe('parsing the generated client', () => {
  it('splits class names into version and kind', () => {
    expect(splitClassName('V1beta1CronJob')).toEqual({ prefix: '', version: 'v1beta1', kind: 'CronJob' });
    expect(splitClassName('CoreV1Event')).toEqual({ prefix: 'Core', version: 'v1', kind: 'Event' });
    expect(splitClassName('V2HorizontalPodAutoscaler')).toEqual({ prefix: '', version: 'v2', kind: 'HorizontalPodAutoscaler' });
  });

  it('reads descriptions and optional properties, unescaping quotes', () => {
    const d = parseDeclaration(`/**\n* A thing.\n*/\nexport declare class V1X {\n    /**\n    * The pod\\'s \\"name\\".\n    */\n    'name': string;\n    'other'?: number;\n}`);
    expect(d.description).toBe('A thing.');
    expect(d.properties.get('name')).toEqual({ description: 'The pod\'s "name".', optional: false });
    expect(d.properties.get('other')).toEqual({ description: '', optional: true });
  });
});
