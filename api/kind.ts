// What a kind is, in one place: the way Kubernetes keeps a kind's REST
// strategy, validation and printing together (pkg/registry/<group>/<kind>/
// strategy.go, pkg/apis/<group>/validation, pkg/printers). Each built-in kind
// is one module under api/kinds/<group>/ that default-exports a
// KindDefinition; custom resources are registered the same way at run time
// (api/resources.ts registerKind). The generic store, handlers, discovery,
// OpenAPI, printers and garbage collector read these definitions and never
// branch on a kind's name.
//
// This module imports nothing at run time, so kind modules and the resource
// table can both depend on it without a cycle.

import type { KubeObject, StatusCause } from './types.js';

export interface ResourceInfo {
  group: string; // '' for the core group
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** Subresources served under .../{name}/{subresource}. */
  subresources: string[];
  /** Verbs advertised in discovery. */
  verbs: string[];
  categories?: string[];
  /** Whether spec changes bump metadata.generation (kinds with a spec/status split). */
  hasStatus: boolean;
  /**
   * POST returns an object computed from the request and nothing is stored
   * (kube's create-only "virtual" resources: SubjectAccessReview, TokenReview);
   * served by a handler of apiserver/handlers/ephemeral.ts, with no Store.
   */
  ephemeral?: boolean;
  /**
   * Storage key prefix under /registry, as kube-apiserver lays out etcd
   * (<plural> for core and apps, <group>/<plural> otherwise). Defaulted by entry().
   */
  storagePrefix?: string;
}

export const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** A resource-table entry with kube's defaults for everything the kind does not say. */
export function entry(e: Omit<ResourceInfo, 'listKind' | 'verbs' | 'subresources' | 'shortNames' | 'hasStatus'> & Partial<ResourceInfo>): ResourceInfo {
  return {
    listKind: `${e.kind}List`,
    verbs: allVerbs,
    subresources: [],
    shortNames: [],
    hasStatus: false,
    ...e,
  };
}

/** Rules of the generic store for one kind (kube's RESTCreateStrategy, RESTUpdateStrategy, RESTDeleteStrategy). */
export interface Strategy {
  /** metadata.generation starts at 1 and moves with every spec change. */
  tracksGeneration: boolean;
  /** A change of labels alone also moves generation (EndpointSlice). */
  generationIncludesLabels: boolean;
  /** PUT on a missing object creates it (Endpoints, Events, Leases). */
  allowCreateOnUpdate: boolean;
  /** An immediate DELETE answers with the object rather than a Status (ReturnDeletedObject). */
  returnDeletedObject: boolean;
  /** Reset what a client may not set on create (status, mostly). */
  prepareForCreate(obj: KubeObject): void;
  /** What upstream's PrepareForCreate derives from the decoded, defaulted, admitted object (a pod's qosClass). */
  afterDefaults?(obj: KubeObject, old: KubeObject | undefined, subresource?: string): void;
  /** After the generic carry-over from the stored object: what this kind's update (or subresource) may not change. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, subresource?: string): void;
  /**
   * Deletion rules beyond finalizers (a pod's grace period, a namespace's
   * Terminating phase): mutate the copy to be stored and return true to keep
   * the object instead of removing it now.
   */
  markForDeletion?(obj: KubeObject, options: { gracePeriodSeconds?: number }): boolean;
  /** A marked object whose removal someone else finishes (the kubelet for a pod in its grace period, the namespace loop). */
  awaitsOthers?(obj: KubeObject): boolean;
}

/** The time since a timestamp, as kubectl prints ages ("5m", "<unknown>"). */
export type Since = (t?: string | null) => string;
export type Column = [name: string, type: string, description: string, priority?: number, format?: string];
/** Table columns as kube's printers (pkg/printers/internalversion); the server always fills the -o wide ones (priority 1). */
export interface Printer { columns: Column[]; cells: (o: KubeObject, since: Since) => unknown[] }

export interface ValidateOptions {
  /** The stored object on update, for immutability rules. */
  old?: KubeObject;
  /** The subresource being written ('status', 'scale', ...), if any. */
  subresource?: string;
}

export interface KindDefinition {
  resource: ResourceInfo;
  /**
   * The OpenAPI definition objects are checked against and `kubectl explain`
   * reads (kube's name, io.k8s.api.apps.v1.DaemonSet); defaults to the
   * kind's own. null: objects of the kind are not schema-checked.
   */
  schema?: string | null;
  /**
   * Loads what the kind's validation needs beyond plain code (a CSR parser, a cron parser, a CEL
   * and JSON Schema compiler). The API server awaits every kind's load before it serves
   * (loadKinds in api/resources.ts); the other processes read the table for its entries only and
   * never pay for these (each would cost every component tens of MiB).
   */
  load?(): Promise<void>;
  /** SetDefaults_<Kind>: fill in defaults in place, before validation; must tolerate a body of the wrong shape. */
  defaults?(obj: KubeObject): void;
  /** Rules beyond the schema and ObjectMeta (pkg/apis/<group>/validation), with kube's field paths and messages. */
  validate?(obj: KubeObject, opts: ValidateOptions): StatusCause[];
  /** Name rule for metadata.name when it is not kube's default (a DNS-1123 subdomain). */
  nameRule?(name: string): string[];
  strategy?: Partial<Strategy>;
  /**
   * What kube's typed decoding does to a body before anything else sees it
   * (api/normalize.ts): Go's zero values dropped from a pod spec or template.
   * A kind that says nothing gets the generic pass over spec.template.
   */
  normalize?(obj: KubeObject): void;
  /**
   * The target of the proxy subresource (kube's ResourceLocation for pods,
   * services and nodes): which location rule of apiserver/handlers/resourceproxy.ts applies.
   */
  proxyLocation?: 'pod' | 'service' | 'node';
  /** JSON pointers (a pattern) whose values a schema error must not echo: a Secret's data. */
  redactedPaths?: RegExp;
  printer?: Printer;
  /**
   * The kind's Go zero value as kube serialises it (struct fields present even when empty, nil
   * slices and pointers as null): what a first server-side apply compares an untracked object
   * against. Default { metadata: {} }.
   */
  zeroValue?(): Record<string, unknown>;
  /** Selectable fields beyond metadata.name and metadata.namespace (ToSelectableFields). */
  selectableFields?(obj: KubeObject): Record<string, string>;
  /**
   * Objects of this kind are stored as another version or kind (kube's storage
   * version and conversion: autoscaling/v1 HPAs are stored as v2, events.k8s.io
   * Events as core v1 Events), so one object is read, listed and watched through
   * every version with one resourceVersion. The store keys objects by
   * storageVersion.resource and converts at the storage boundary; this kind's
   * defaults, validation, strategy and field selectors see its own version.
   */
  storageVersion?: StorageVersion;
  /**
   * Where /scale reads and writes (a CRD's subresources.scale, simple JSON paths);
   * without it spec.replicas, status.replicas and spec.selector. `selector` gives
   * Scale's status.selector when the kind's selector is no LabelSelector at a path
   * (a ReplicationController's plain label map).
   */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string; selector?(obj: KubeObject): string };
  /**
   * Drop fields the kind does not know beyond what its OpenAPI `schema` says
   * (a custom resource's structural pruning), returning them as ".spec.foo";
   * the store treats them as unknown fields (fieldValidation Warn/Strict/Ignore).
   */
  prune?(obj: KubeObject): string[];
  /**
   * A kind whose schema is none of kube's (a custom resource, `schema: null`):
   * the OpenAPI definitions it publishes (kubectl explain), by name, with the
   * names of its kind's and its list's.
   */
  openapi?: { kind: string; list: string; definitions: Record<string, object> };
}

/** How a kind served at a version other than its storage's converts (KindDefinition.storageVersion). */
export interface StorageVersion {
  /** The table entry objects are stored as (its storage prefix, apiVersion and kind). */
  resource: ResourceInfo;
  /** This version's object to the stored version's; must not modify its argument. */
  toStorage(obj: KubeObject): KubeObject;
  /** The stored object to this version's; must not modify its argument (watch events are shared). */
  fromStorage(obj: KubeObject): KubeObject;
}

export function apiVersionOf(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

// The definitions by table entry. Filled by api/resources.ts (registerKind);
// kept here so generic code (defaults, validation, printing) finds a kind's
// rules without importing the table, which would close an import cycle
// through the kind modules that use those helpers.
const byResource = new WeakMap<ResourceInfo, KindDefinition>();

export function setKindDefinition(def: KindDefinition): void {
  byResource.set(def.resource, def);
}

/** The definition of a resource's kind (a bare one for a table entry nobody registered). */
export function kindOf(r: ResourceInfo): KindDefinition {
  return byResource.get(r) ?? { resource: r };
}

/** Identity, typed: a kind module's `export default defineKind({...})`. */
export function defineKind(def: KindDefinition): KindDefinition {
  return def;
}

/** Field-selector and printer cell helper: a value as kube's fields.Set holds it. */
export const fieldString = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
