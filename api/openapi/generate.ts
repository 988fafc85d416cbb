// Rebuilds Kubernetes' own OpenAPI definitions for v1.32 from the official
// JavaScript client generated from them (@kubernetes/client-node 1.1.x,
// "OpenAPI spec version: v1.32.0", installed as the k8s-openapi-v1.32
// alias). The spec itself ships in no package; the client carries every
// definition's properties with their types and formats (attributeTypeMap),
// and its declarations carry kube's descriptions and which properties are
// required. What the client drops is restored from how Kubernetes names and
// shapes its definitions: the Go package of each (io.k8s.api.apps.v1...,
// found from the API group whose kinds reach it), the meta and utility types
// (ObjectMeta, Time, IntOrString, Quantity) as references, and the
// x-kubernetes-group-version-kind of every kind. List-map keys, patch
// strategies, atomic maps and enums are not in the client: they come from
// the table of extensions.ts (kube's struct tags), folded in here.
//
//   node dist/api/openapi/generate.js [--package=node_modules/k8s-openapi-v1.32] [--out=api/openapi/kube-v1.32.json]

import fs from 'node:fs';
import path from 'node:path';
import { kubeExtensions } from './extensions.js';

export interface Attribute { name: string; baseName: string; type: string; format: string }
export type Schema = Record<string, any>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
/** Types of apimachinery that the client names like API types; kube publishes them under these names. */
const apimachinery: Record<string, string> = {
  V1ObjectMeta: `${META}.ObjectMeta`, V1ListMeta: `${META}.ListMeta`, V1LabelSelector: `${META}.LabelSelector`,
  V1LabelSelectorRequirement: `${META}.LabelSelectorRequirement`, V1OwnerReference: `${META}.OwnerReference`,
  V1ManagedFieldsEntry: `${META}.ManagedFieldsEntry`, V1Status: `${META}.Status`, V1StatusDetails: `${META}.StatusDetails`,
  V1StatusCause: `${META}.StatusCause`, V1DeleteOptions: `${META}.DeleteOptions`, V1Preconditions: `${META}.Preconditions`,
  V1Condition: `${META}.Condition`, V1APIResource: `${META}.APIResource`, V1APIResourceList: `${META}.APIResourceList`,
  V1APIGroup: `${META}.APIGroup`, V1APIGroupList: `${META}.APIGroupList`, V1APIVersions: `${META}.APIVersions`,
  V1GroupVersionForDiscovery: `${META}.GroupVersionForDiscovery`, V1ServerAddressByClientCIDR: `${META}.ServerAddressByClientCIDR`,
  V1WatchEvent: `${META}.WatchEvent`, VersionInfo: 'io.k8s.apimachinery.pkg.version.Info',
};
const TIME = `${META}.Time`;
const MICROTIME = `${META}.MicroTime`;
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const RAW = 'io.k8s.apimachinery.pkg.runtime.RawExtension';

/**
 * Bodies of subresources that the client reaches through another group's API
 * (deployments/scale, pods/eviction, serviceaccounts/token): their own group.
 */
const subresourceKinds: Record<string, { group: string; version: string }> = {
  V1Scale: { group: 'autoscaling', version: 'v1' },
  V1Eviction: { group: 'policy', version: 'v1' },
  AuthenticationV1TokenRequest: { group: 'authentication.k8s.io', version: 'v1' },
};

/** Definitions kube publishes that the client inlines as plain types. */
const builtins: Record<string, Schema> = {
  [TIME]: { type: 'string', format: 'date-time', description: 'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers.' },
  [MICROTIME]: { type: 'string', format: 'date-time', description: 'MicroTime is version of Time with microsecond level precision.' },
  // As kube's v3 documents publish them: no `type` of their own (kubectl explain names them by their definition).
  [INT_OR_STRING]: { format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }], description: 'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }], description: 'Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.' },
  [`${META}.Patch`]: { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
  [RAW]: { type: 'object', description: 'RawExtension is used to hold extensions in external versions.' },
  [`${META}.FieldsV1`]: { type: 'object', description: "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is either a '.' representing the field itself, and will always map to an empty set, or a string representing a sub-field or item. The string will follow one of these four formats: 'f:<name>', where <name> is the name of a field in a struct, or key in a map 'v:<value>', where <value> is the exact json formatted value of a list item 'i:<index>', where <index> is integer index of a list item 'k:<keys>', where <keys> is a map of a list item's key fields to their unique values If a key maps to an empty Fields value, the field that represents is always an empty set" },
};

/** The API group and version an API class serves, from the paths of its requests. */
export function groupVersionOfApi(js: string): { group: string; version: string } | undefined {
  const m = /'\/api\/(v1)\/|'\/apis\/([a-z0-9.-]+)\/(v[0-9a-z]+)\//.exec(js);
  if (!m) return undefined;
  return m[1] ? { group: '', version: m[1] } : { group: m[2]!, version: m[3]! };
}

/** Go package of an API group as kube's definition names use it. */
export function groupPackage(group: string): string {
  if (group === '') return 'io.k8s.api.core';
  if (group === 'apiextensions.k8s.io') return 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions';
  if (group === 'apiregistration.k8s.io') return 'io.k8s.kube-aggregator.pkg.apis.apiregistration';
  if (group === 'flowcontrol.apiserver.k8s.io') return 'io.k8s.api.flowcontrol';
  if (group === 'internal.apiserver.k8s.io') return 'io.k8s.api.apiserverinternal';
  if (group === 'storagemigration.k8s.io') return 'io.k8s.api.storagemigration';
  if (group === 'metrics.k8s.io') return 'io.k8s.metrics.pkg.apis.metrics';
  if (group.endsWith('.k8s.io')) return `io.k8s.api.${group.split('.')[0]}`;
  return `io.k8s.api.${group}`;
}

/** The class's version prefix and kind: V1beta1CronJob → v1beta1, CronJob; CoreV1Event → v1, Event. */
export function splitClassName(cls: string): { prefix: string; version: string; kind: string } | undefined {
  const m = /^([A-Z][a-z]*?)?(V[0-9]+(?:alpha[0-9]+|beta[0-9]+)?)([A-Z].*)$/.exec(cls);
  if (!m) return undefined;
  return { prefix: m[1] ?? '', version: m[2]!.toLowerCase(), kind: m[3]! };
}

/** The type names a client type string refers to: Array<V1Pod> → V1Pod. */
function referenced(type: string): string[] {
  return [...type.matchAll(/[A-Z][A-Za-z0-9]*/g)].map((m) => m[0]).filter((t) => t !== 'Array' && t !== 'Date' && t !== 'IntOrString' && t !== 'V1MicroTime');
}

/** JSDoc descriptions from a generated declaration file: the class's, and each property's, and whether a property is optional. */
export function parseDeclaration(dts: string): { description: string; properties: Map<string, { description: string; optional: boolean }> } {
  const unescape = (s: string) => s.split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join('\n').trim().replace(/\\(['"\\])/g, '$1');
  const classDoc = /\/\*\*\n((?:(?!\*\/)[\s\S])*?)\*\/\s*export declare class/.exec(dts);
  const properties = new Map<string, { description: string; optional: boolean }>();
  const re = /\/\*\*\n((?:(?!\*\/)[\s\S])*?)\*\/\s*'([^']+)'(\?)?:/g;
  for (let m = re.exec(dts); m; m = re.exec(dts)) properties.set(m[2]!, { description: unescape(m[1]!), optional: m[3] === '?' });
  // Properties without a doc comment.
  for (const m of dts.matchAll(/^\s*'([^']+)'(\?)?:/gm)) if (!properties.has(m[1]!)) properties.set(m[1]!, { description: '', optional: m[2] === '?' });
  return { description: classDoc ? unescape(classDoc[1]!) : '', properties };
}

export function parseAttributes(js: string): Attribute[] {
  const m = /\.attributeTypeMap = (\[[\s\S]*?\]);/.exec(js);
  return m ? (JSON.parse(m[1]!) as Attribute[]) : [];
}

interface Model { cls: string; attributes: Attribute[]; description: string; properties: Map<string, { description: string; optional: boolean }> }

export function generate(pkgDir: string): { version: string; definitions: Record<string, Schema> } {
  const gen = path.join(pkgDir, 'dist', 'gen');
  const models = new Map<string, Model>();
  for (const f of fs.readdirSync(path.join(gen, 'models'))) {
    if (!f.endsWith('.js') || f === 'all.js' || f === 'ObjectSerializer.js') continue;
    const cls = f.slice(0, -3);
    const js = fs.readFileSync(path.join(gen, 'models', f), 'utf8');
    if (!js.includes('attributeTypeMap')) continue;
    const dts = fs.readFileSync(path.join(gen, 'models', `${cls}.d.ts`), 'utf8');
    models.set(cls, { cls, attributes: parseAttributes(js), ...parseDeclaration(dts) });
  }
  const version = /OpenAPI spec version: (v[0-9.]+)/.exec(fs.readFileSync(path.join(gen, 'models', 'V1Pod.d.ts'), 'utf8'))?.[1] ?? 'unknown';

  // Kinds: what each API class imports and has apiVersion/kind/metadata; their group is the API's.
  const groupOf = new Map<string, { group: string; version: string }>();
  const kindsOf = new Map<string, { group: string; version: string; kind: string }>();
  for (const f of fs.readdirSync(path.join(gen, 'apis')).filter((x) => /V[0-9].*Api\.js$/.test(x))) {
    const js = fs.readFileSync(path.join(gen, 'apis', f), 'utf8');
    const gv = groupVersionOfApi(js);
    if (!gv) continue;
    const dts = fs.readFileSync(path.join(gen, 'apis', f.replace(/\.js$/, '.d.ts')), 'utf8');
    for (const m of dts.matchAll(/import \{ ([A-Za-z0-9]+) \} from '\.\.\/models\//g)) {
      const model = models.get(m[1]!);
      if (!model || apimachinery[model.cls]) continue;
      const names = new Set(model.attributes.map((a) => a.baseName));
      if (!names.has('apiVersion') || !names.has('kind')) continue;
      const split = splitClassName(model.cls);
      if (!split || (split.version !== gv.version && !subresourceKinds[model.cls])) continue;
      const own = subresourceKinds[model.cls] ?? gv;
      groupOf.set(model.cls, own);
      kindsOf.set(model.cls, { ...own, kind: split.kind });
    }
  }
  const allGroups = [...new Set([...groupOf.values()].map((gv) => gv.group))];
  // Every other type takes the group of the kinds that reach it; core wins (PodTemplateSpec is core's though apps uses it).
  const reach = new Map<string, Set<string>>();
  const visit = (cls: string, group: string, seen: Set<string>) => {
    if (seen.has(cls)) return;
    seen.add(cls);
    const m = models.get(cls);
    if (!m) return;
    if (!reach.has(cls)) reach.set(cls, new Set());
    reach.get(cls)!.add(group);
    for (const a of m.attributes) for (const t of referenced(a.type)) visit(t, group, seen);
  };
  for (const [cls, gv] of groupOf) visit(cls, `${gv.group}/${gv.version}`, new Set());
  const nameOf = new Map<string, string>();
  for (const m of models.values()) {
    if (apimachinery[m.cls]) { nameOf.set(m.cls, apimachinery[m.cls]!); continue; }
    const split = splitClassName(m.cls);
    if (!split) continue;
    const gvs = [...(reach.get(m.cls) ?? [])];
    // A group-prefixed class (CoreV1Event, RbacV1Subject) names its group's first label.
    // (Its kinds may be served by another group: AuthenticationV1TokenRequest is reached from core's serviceaccounts/token.)
    const prefixed = split.prefix ? allGroups.filter((g) => g === '' ? split.prefix === 'Core' : groupPackage(g).split('.').pop() === split.prefix.toLowerCase()).map((g) => `${g}/${split.version}`) : [];
    const candidates = (prefixed.length ? prefixed : gvs).filter((g) => g.endsWith(`/${split.version}`));
    const pick = candidates.find((g) => g.startsWith('/')) ?? candidates.sort()[0] ?? gvs.sort()[0];
    if (!pick) continue;
    nameOf.set(m.cls, `${groupPackage(pick.split('/')[0]!)}.${split.version}.${split.kind}`);
  }

  const refOf = (cls: string): string | undefined => nameOf.get(cls);
  const typeSchema = (type: string, format: string): Schema => {
    const arr = /^Array<(.+)>$/.exec(type);
    if (arr) return { type: 'array', items: typeSchema(arr[1]!, '') };
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) return { type: 'object', additionalProperties: typeSchema(map[1]!, '') };
    switch (type) {
      case 'string': return format && format !== '' ? { type: 'string', format } : { type: 'string' };
      case 'boolean': return { type: 'boolean' };
      case 'number':
        if (format === 'int32' || format === 'int64') return { type: 'integer', format };
        return format ? { type: 'number', format } : { type: 'number' };
      case 'Date': return { $ref: `#/components/schemas/${TIME}` };
      case 'V1MicroTime': return { $ref: `#/components/schemas/${MICROTIME}` };
      case 'IntOrString': return { $ref: `#/components/schemas/${INT_OR_STRING}` };
      case 'any': return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    }
    const name = refOf(type);
    if (!name) throw new Error(`no definition for client type ${type}`);
    return { $ref: `#/components/schemas/${name}` };
  };

  const definitions: Record<string, Schema> = { ...builtins };
  for (const m of models.values()) {
    const name = nameOf.get(m.cls);
    if (!name) continue;
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const a of m.attributes) {
      const doc = m.properties.get(a.name);
      let s = typeSchema(a.type, a.format);
      // kube's v3 documents wrap a described reference in allOf, so the description sits beside it.
      if (s.$ref) s = { allOf: [s], ...(doc?.description ? { description: doc.description } : {}) };
      else if (doc?.description) s = { ...s, description: doc.description };
      properties[a.baseName] = s;
      if (doc && !doc.optional) required.push(a.baseName);
    }
    const schema: Schema = { type: 'object', ...(m.description ? { description: m.description } : {}), properties };
    if (required.length) schema.required = required;
    const kind = kindsOf.get(m.cls);
    if (kind) schema['x-kubernetes-group-version-kind'] = [{ group: kind.group, kind: kind.kind, version: kind.version }];
    definitions[name] = schema;
  }
  foldExtensions(definitions);
  const described = path.join(path.dirname(pkgDir), 'kubernetes-models');
  if (fs.existsSync(described)) fillDescriptions(definitions, described);
  return { version, definitions };
}

/**
 * The client keeps no description on a property whose type is another
 * definition (DeploymentSpec.strategy) and gives an IntOrString field the
 * type's text instead of its own; kubernetes-models' declarations,
 * generated from the same published spec, do. Fills only what is missing.
 */
export function fillDescriptions(definitions: Record<string, Schema>, modelsDir: string): void {
  const walk = (dir: string, rel: string[]): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name !== '_schemas' && e.name !== 'node_modules') walk(path.join(dir, e.name), [...rel, e.name]);
        continue;
      }
      if (!e.name.endsWith('.d.ts') || rel.length !== (rel[0] === 'v1' ? 1 : 2)) continue;
      const [group, version] = rel.length === 1 ? ['', rel[0]!] : [rel[0]!, rel[1]!];
      const def = definitions[`${groupPackage(group)}.${version}.${e.name.slice(0, -5)}`];
      if (!def?.properties) continue;
      const dts = fs.readFileSync(path.join(dir, e.name), 'utf8');
      const body = /export interface I\w+[^{]*\{([\s\S]*?)\n\}/.exec(dts)?.[1] ?? '';
      for (const m of body.matchAll(/\/\*\*\n((?:(?!\*\/)[\s\S])*?)\*\/\s*"([^"]+)"\??:/g)) {
        const prop = def.properties[m[2]!];
        // The client describes an IntOrString field by the IntOrString type's own text.
        if (!prop || (prop.description && !prop.description.startsWith('IntOrString is a type that can hold'))) continue;
        const text = m[1]!.split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join('\n').trim();
        if (text) prop.description = text;
      }
    }
  };
  walk(modelsDir, []);
}

/** Adds kubeExtensions to the definitions; a name the client does not have is a stale table, so it throws. */
export function foldExtensions(definitions: Record<string, Schema>, table = kubeExtensions): void {
  for (const [name, props] of Object.entries(table)) {
    const def = definitions[name];
    if (!def) throw new Error(`extensions name a definition kube does not have: ${name}`);
    for (const [prop, ext] of Object.entries(props)) {
      const target = prop === '' ? def : def.properties?.[prop];
      if (!target) throw new Error(`extensions name a property kube does not have: ${name}.${prop}`);
      Object.assign(target, ext);
      // An undefined in the table removes what the client said (a Quantity's `type: string`).
      for (const [k, v] of Object.entries(ext)) if (v === undefined) delete target[k];
    }
  }
}

function main(): void {
  const arg = (k: string, d: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d;
  const pkg = arg('package', 'node_modules/k8s-openapi-v1.32');
  const out = arg('out', 'api/openapi/kube-v1.32.json');
  const doc = generate(pkg);
  const sorted = Object.fromEntries(Object.entries(doc.definitions).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(out, `${JSON.stringify({ kubernetes: doc.version, source: '@kubernetes/client-node 1.1.x (generated from Kubernetes\' OpenAPI spec)', definitions: sorted }, null, 1)}\n`);
  process.stdout.write(`${Object.keys(sorted).length} definitions of Kubernetes ${doc.version} written to ${out}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
