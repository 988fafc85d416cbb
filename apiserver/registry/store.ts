// The generic registry store (k8s.io/apiserver/pkg/registry/generic/registry):
// one per resource in the table, turning REST verbs into storage operations
// with kube's object-meta rules, then the kind's strategy on top.

import crypto from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { errors, isAlreadyExists, qualifiedResource } from '../../api/errors.js';
import { kindOf, storagePrefix, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { applyDefaults } from '../../api/defaults.js';
import { normalizeDecoded } from '../../api/normalize.js';
import { pruneUnknownFields, validateObject } from '../../api/validation.js';
import { recordUpdate } from '../patch/index.js';
import { logger } from '../../lib/log.js';
import { StorageError, type ListResult, type Storage } from '../storage/interface.js';
import { ConvertingStorage } from '../storage/converting.js';
import { modifiedMessage, toStatus } from './errors.js';
import { hasStatusSubresource, strategyFor, type Strategy } from './strategies.js';
import type { Admission } from '../admission/chain.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  /** Filled with `299` warnings (unknown fields dropped under Warn). */
  warnings?: string[];
  /** The request's admission chain; absent for the server's own writes. */
  admission?: Admission;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  admission?: Admission;
}

export interface DeleteResult { object: KubeObject; deleted: boolean }

/** Hooks for kinds whose writes own something outside the object (Service IPs and ports). */
export interface StoreHooks {
  beforeCreate?(obj: KubeObject, dryRun: boolean): Promise<void>;
  /** Undo beforeCreate when the create did not happen. */
  createFailed?(obj: KubeObject): Promise<void>;
  beforeUpdate?(obj: KubeObject, old: KubeObject, dryRun: boolean): Promise<void>;
  afterDelete?(obj: KubeObject): Promise<void>;
}

/** Answers "does this namespace exist, and is it terminating?" for creates. */
export type NamespacePhase = (name: string) => Promise<'Active' | 'Terminating' | undefined>;

const log = logger('apiserver');

/** Thrown inside a delete's validation when the object must now be marked rather than removed. */
const redecide = new Error('object changed: decide the delete again');

const nameChars = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  const bytes = crypto.randomBytes(5);
  return [...bytes].map((b) => nameChars[b % nameChars.length]).join('');
}

/** RFC 3339 with seconds precision, as metav1.Time marshals. */
export function now(offsetSeconds = 0): string {
  const second = Math.floor(Date.now() / 1000) + offsetSeconds;
  // Every create stamps creationTimestamp and managedFields' time: format each second once.
  if (second !== lastSecond) {
    lastSecond = second;
    lastStamp = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return lastStamp;
}
let lastSecond = NaN;
let lastStamp = '';

/** Everything except metadata and status: what counts as "spec" for generation. */
function specOf(o: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export class Store {
  readonly strategy: Strategy;
  /** What this resource reads, writes and watches through: converting when its kind is stored as another version (KindDefinition.storageVersion). */
  readonly storage: Storage;
  private readonly prefix: string;

  constructor(
    readonly resource: ResourceInfo,
    storage: Storage,
    etcdPrefix: string,
    private readonly namespacePhase: NamespacePhase,
    private readonly hooks: StoreHooks = {},
  ) {
    this.strategy = strategyFor(resource);
    const conv = kindOf(resource).storageVersion;
    this.storage = conv ? new ConvertingStorage(storage, conv) : storage;
    this.prefix = `${etcdPrefix.replace(/\/$/, '')}/${storagePrefix(conv?.resource ?? resource)}/`;
  }

  key(namespace: string | undefined, name: string): string {
    return this.resource.namespaced ? `${this.prefix}${namespace}/${name}` : `${this.prefix}${name}`;
  }

  /** The prefix a list or watch reads: the whole resource, or one namespace of it. */
  listPrefix(namespace?: string): string {
    return this.resource.namespaced && namespace ? `${this.prefix}${namespace}/` : this.prefix;
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    try {
      return await this.storage.get(this.key(namespace, name));
    } catch (e) {
      throw toStatus(e, this.resource, name);
    }
  }

  async list(namespace: string | undefined, opts: { revision?: number; limit?: number; continue?: string; predicate?: (o: KubeObject) => boolean }): Promise<ListResult> {
    try {
      return await this.storage.list(this.listPrefix(namespace), opts);
    } catch (e) {
      throw toStatus(e, this.resource, '');
    }
  }

  async create(namespace: string | undefined, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const r = this.resource;
    const meta = obj.metadata;
    if (r.namespaced) {
      meta.namespace = namespace;
      await this.checkNamespace(namespace!, meta.name ?? meta.generateName ?? '');
    } else {
      delete meta.namespace;
    }
    this.prepareFields(obj, opts);
    const generated = !meta.name && !!meta.generateName;
    if (generated) meta.name = meta.generateName + randomSuffix();
    meta.uid = crypto.randomUUID();
    meta.creationTimestamp = now();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (this.strategy.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    this.strategy.prepareForCreate(obj);
    await opts.admission?.admit(obj, undefined);
    this.defaults(obj);
    this.strategy.afterDefaults?.(obj, undefined);
    this.validate(obj);
    await opts.admission?.validate(obj, undefined);
    trackManagedFields(r, undefined, obj, opts.fieldManager);
    await this.hooks.beforeCreate?.(obj, !!opts.dryRun);
    if (opts.dryRun) return obj;
    // A generated name can collide; kube retries with a fresh suffix.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.storage.create(this.key(namespace, meta.name!), obj);
      } catch (e) {
        if (generated && e instanceof StorageError && e.code === 'KeyExists' && attempt < 5) {
          meta.name = meta.generateName + randomSuffix();
          continue;
        }
        await this.hooks.createFailed?.(obj);
        throw writeStatus(e, r, meta.name!);
      }
    }
  }

  /**
   * PUT (or the body produced by a PATCH): the write is computed from the
   * stored object by `mutate`, retried on CAS races. subresource 'status'
   * writes only status; the main resource never writes status.
   */
  async update(
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject | undefined) => KubeObject,
    opts: WriteOptions & { subresource?: string; createIfMissing?: boolean } = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    const r = this.resource;
    const key = this.key(namespace, name);
    let created = false;
    let deleteAfter = false;
    const tryUpdate = async (current: KubeObject): Promise<KubeObject> => {
      const obj = mutate(structuredClone(current));
      if (!obj.metadata) obj.metadata = {};
      const rv = obj.metadata.resourceVersion;
      if (rv && rv !== current.metadata.resourceVersion) throw errors.conflict(r.plural, name, modifiedMessage, r.group);
      this.checkIdentity(obj, name, namespace);
      this.prepareFields(obj, opts);
      this.mergeFromOld(obj, current, opts.subresource);
      await opts.admission?.admit(obj, current);
      this.defaults(obj, current, opts.subresource);
      this.strategy.afterDefaults?.(obj, current, opts.subresource);
      this.setGeneration(obj, current, opts.subresource);
      this.validate(obj, current, opts.subresource);
      await opts.admission?.validate(obj, current);
      await this.hooks.beforeUpdate?.(obj, current, !!opts.dryRun);
      if (!isDeepStrictEqual(withoutManaged(obj), withoutManaged(current))) {
        trackManagedFields(r, current, obj, opts.fieldManager, opts.subresource);
      }
      deleteAfter = !!obj.metadata.deletionTimestamp && !(obj.metadata.finalizers?.length) && !awaitsOthers(this.strategy, obj);
      obj.metadata.resourceVersion = current.metadata.resourceVersion;
      return obj;
    };
    try {
      if (opts.dryRun) {
        const current = await this.storage.get(key);
        return { object: await tryUpdate(current), created };
      }
      let out: KubeObject;
      try {
        out = await this.storage.guaranteedUpdate(key, undefined, tryUpdate);
      } catch (e) {
        if (!(e instanceof StorageError && e.code === 'KeyNotFound')) throw e;
        const body = mutate(undefined);
        if (!(this.strategy.allowCreateOnUpdate || opts.createIfMissing) || opts.subresource) throw e;
        if (body.metadata?.resourceVersion) throw errors.conflict(r.plural, name, modifiedMessage, r.group);
        try {
          out = await this.create(namespace, body, opts);
          created = true;
        } catch (ce) {
          // Another writer created it between our read and our create: this write is an update of theirs, as in kube.
          if (!isAlreadyExists(ce)) throw ce;
          out = await this.storage.guaranteedUpdate(key, undefined, tryUpdate);
        }
      }
      if (deleteAfter) {
        // The last finalizer of an object marked for deletion is gone: finish the delete.
        out = await this.storage.delete(key, { resourceVersion: out.metadata.resourceVersion });
        await this.hooks.afterDelete?.(out);
      }
      return { object: out, created };
    } catch (e) {
      throw writeStatus(e, r, name);
    }
  }

  async delete(namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    const r = this.resource;
    const key = this.key(namespace, name);
    try {
      if (options.admission) await options.admission.validate(undefined, await this.storage.get(key));
      if (options.dryRun) {
        const current = await this.storage.get(key);
        checkPreconditions(r, name, current, options.preconditions);
        const marked = this.markForDeletion(current, options);
        return { object: marked ?? current, deleted: !marked };
      }
      for (let attempt = 0; ; attempt++) {
        let marked: KubeObject | undefined;
        const out = await this.storage.guaranteedUpdate(key, undefined, (current) => {
          checkPreconditions(r, name, current, options.preconditions);
          marked = this.markForDeletion(current, options);
          return marked ?? current;
        });
        if (marked) return { object: out, deleted: false };
        try {
          // As kube's conditional delete: every attempt validates the latest state (storage retries on a
          // concurrent write), so writers racing the delete do not make it fail; only when that state must
          // now be kept (a new finalizer, a grace period) is the delete decided again.
          const deleted = await this.storage.delete(key, undefined, (current) => {
            checkPreconditions(r, name, current, options.preconditions);
            if (this.markForDeletion(current, options)) throw redecide;
          });
          await this.hooks.afterDelete?.(deleted);
          return { object: deleted, deleted: true };
        } catch (e) {
          if (e !== redecide) throw e;
          if (attempt >= 16) throw errors.conflict(r.plural, name, modifiedMessage, r.group);
        }
      }
    } catch (e) {
      throw toStatus(e, r, name);
    }
  }

  /**
   * The object as it must be stored instead of deleted (graceful pod
   * deletion, finalizers), or undefined when it can go now.
   */
  private markForDeletion(current: KubeObject, options: DeleteOptions): KubeObject | undefined {
    const obj = structuredClone(current);
    const meta = obj.metadata;
    let keep = false;
    if (this.strategy.markForDeletion?.(obj, options)) keep = true;
    const policy = options.propagationPolicy ?? (options.orphanDependents === true ? 'Orphan' : undefined);
    const finalizers = new Set(meta.finalizers ?? []);
    if (policy === 'Orphan') finalizers.add('orphan');
    if (policy === 'Foreground') finalizers.add('foregroundDeletion');
    if (finalizers.size) {
      meta.finalizers = [...finalizers];
      keep = true;
    }
    if (!keep) return undefined;
    if (!meta.deletionTimestamp) {
      meta.deletionTimestamp = now();
      meta.deletionGracePeriodSeconds = meta.deletionGracePeriodSeconds ?? 0;
    }
    return isDeepStrictEqual(obj, current) ? current : obj;
  }

  private async checkNamespace(namespace: string, name: string): Promise<void> {
    const phase = await this.namespacePhase(namespace);
    if (!phase) throw errors.notFound('namespaces', namespace);
    if (phase === 'Terminating') {
      throw errors.forbidden(`${qualifiedResource(this.resource.plural, this.resource.group)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  private prepareFields(obj: KubeObject, opts: WriteOptions): void {
    // As kube's typed decoding: nulls in pod specs are zero values, so a template sent back through Go equals the stored one.
    normalizeDecoded(this.resource, obj);
    const mode = opts.fieldValidation ?? 'Warn';
    if (mode === 'Ignore') {
      this.pruneUnknown(obj);
      return;
    }
    const unknown = this.pruneUnknown(obj).map((p) => p.replace(/^\./, ''));
    if (!unknown.length) return;
    if (mode === 'Strict') {
      throw errors.badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
    }
    opts.warnings?.push(...unknown.map((f) => `unknown field "${f}"`));
  }

  /** Unknown fields by the kind's schema, and by its own pruning (a custom resource's structural schema). */
  private pruneUnknown(obj: KubeObject): string[] {
    const own = kindOf(this.resource).prune;
    return own ? [...pruneUnknownFields(this.resource, obj), ...own(obj)] : pruneUnknownFields(this.resource, obj);
  }

  private checkIdentity(obj: KubeObject, name: string, namespace: string | undefined): void {
    const r = this.resource;
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    if (r.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace;
    } else {
      delete obj.metadata.namespace;
    }
  }

  /** Carry over what this write may not change (BeforeUpdate and the strategies' PrepareForUpdate). */
  private mergeFromOld(obj: KubeObject, old: KubeObject, subresource?: string): void {
    const meta = obj.metadata;
    const oldMeta = old.metadata;
    if (subresource === 'ephemeralcontainers') {
      // dropNonEphemeralContainerUpdates: all but spec.ephemeralContainers (and the identity and version checked) is the stored pod's.
      const ephemeral = obj.spec?.ephemeralContainers;
      const { name, namespace, resourceVersion, uid } = meta;
      for (const k of Object.keys(obj)) delete obj[k];
      Object.assign(obj, structuredClone(old));
      Object.assign(obj.metadata, { name, namespace, resourceVersion, uid: uid || oldMeta.uid });
      if (ephemeral === undefined || ephemeral === null) delete obj.spec.ephemeralContainers;
      else obj.spec.ephemeralContainers = ephemeral;
      return;
    }
    if (subresource === 'status' || subresource === 'approval') {
      const status = obj.status;
      // What a server-side apply to the subresource computed for managedFields stands (an update's are recomputed from the stored ones).
      const managedFields = obj.metadata?.managedFields;
      const copy = structuredClone(old);
      for (const k of Object.keys(obj)) delete obj[k];
      Object.assign(obj, copy, { status });
      if (managedFields !== undefined) obj.metadata.managedFields = managedFields;
      this.strategy.prepareForUpdate?.(obj, old, subresource);
      return;
    }
    // As rest.BeforeUpdate: a body without a uid keeps the stored one, a different uid is refused by
    // validation (ValidateObjectMetaUpdate, 422 "field is immutable"); creationTimestamp changes are ignored.
    if (!meta.uid) meta.uid = oldMeta.uid;
    meta.creationTimestamp = oldMeta.creationTimestamp;
    meta.deletionTimestamp = oldMeta.deletionTimestamp;
    meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
    if (!meta.deletionTimestamp) {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    // Binding and scale are written by the server itself from the stored object; other writers of the main resource never touch status.
    if (hasStatusSubresource(this.resource) && subresource !== 'binding') obj.status = structuredClone(old.status);
    if (obj.status === undefined) delete obj.status;
    this.strategy.prepareForUpdate?.(obj, old, subresource);
  }

  /**
   * As the strategies' PrepareForUpdate, which see the decoded (so defaulted) object: generation moves
   * only when the spec differs, never because a patch result lacked a default the stored object has
   * (a server-side apply after a client-side one did, and bumped it).
   */
  private setGeneration(obj: KubeObject, old: KubeObject, subresource?: string): void {
    // Status-like subresources start from a copy of the stored object: its generation stands.
    if (subresource === 'status' || subresource === 'approval') return;
    const meta = obj.metadata;
    if (!this.strategy.tracksGeneration) {
      delete meta.generation;
      return;
    }
    const gen = old.metadata.generation ?? 1;
    const changed = !isDeepStrictEqual(specOf(obj), specOf(old))
      || (this.strategy.generationIncludesLabels && !isDeepStrictEqual(meta.labels ?? {}, old.metadata.labels ?? {}));
    meta.generation = changed ? gen + 1 : gen;
  }

  /**
   * kube decodes into Go types before defaulting, so a value of the wrong type (an image that is a list)
   * is refused by the decoder and never reaches a defaulter. Skiff's defaulters read the fields as typed:
   * one that trips over such a value means the object does not fit its schema, and the schema's causes
   * are the answer (422), never the defaulter's TypeError as a 500.
   */
  private defaults(obj: KubeObject, old?: KubeObject, subresource?: string): void {
    try {
      applyDefaults(this.resource, obj);
    } catch (e) {
      this.validate(obj, old, subresource);
      throw e;
    }
  }

  private validate(obj: KubeObject, old?: KubeObject, subresource?: string): void {
    const r = this.resource;
    const causes = validateObject(r, obj, { old, subresource });
    if (causes.length) throw errors.invalid(r.kind, obj.metadata.name ?? '', causes, r.group);
  }
}

/**
 * A write etcd refused for its size (over --max-request-bytes, 1.5 MiB by default; gRPC's own
 * limit a little above that) is the client's object being too large: 413, as kube answers it,
 * not a 500 that reads like a server fault.
 */
function writeStatus(e: unknown, r: ResourceInfo, name: string) {
  const message = (e as Error)?.message ?? '';
  if (/request is too large|larger than max/.test(message)) return errors.requestEntityTooLarge(`Request entity too large: ${message}`);
  return toStatus(e, r, name);
}

/**
 * As kube's FieldManager.UpdateNoErrors: bookkeeping of managedFields never
 * fails a write; the object is stored without the update and the error logged.
 */
function trackManagedFields(r: ResourceInfo, old: KubeObject | undefined, obj: KubeObject, manager: string | undefined, subresource?: string): void {
  try {
    recordUpdate(r, old, obj, manager ?? 'unknown', subresource);
  } catch (e) {
    log.debug('failed to update managedFields', { resource: r.plural, name: obj.metadata.name, error: (e as Error).message });
  }
}

function withoutManaged(o: KubeObject): KubeObject {
  const { managedFields: _m, resourceVersion: _rv, ...meta } = o.metadata;
  return { ...o, metadata: meta };
}

/**
 * A marked object whose removal someone else finishes: a pod in its grace
 * period (the kubelet) or a namespace with spec.finalizers (the namespace loop).
 */
function awaitsOthers(strategy: Strategy, o: KubeObject): boolean {
  return (o.metadata.deletionGracePeriodSeconds ?? 0) > 0 || !!strategy.awaitsOthers?.(o);
}

function checkPreconditions(r: ResourceInfo, name: string, current: KubeObject, pre: DeleteOptions['preconditions']): void {
  if (pre?.uid && pre.uid !== current.metadata.uid) {
    throw errors.conflict(r.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`, r.group);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw errors.conflict(r.plural, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`, r.group);
  }
}
