// The API server's CustomResourceDefinition controllers, as
// kube-apiextensions-server runs them in-process: naming (NamesAccepted,
// status.acceptedNames), establishing (Established), the finalizer
// (customresourcecleanup: delete every custom object, then the finalizer)
// and the crdHandler's serving, which here is registering a KindDefinition
// per served version in the resource table (api/resources.ts registerKind),
// so the generic store, handlers, discovery and OpenAPI serve it.
//
// Every API server worker serves (registers) the kinds; only the one that
// runs the singletons writes status and cleans up.

import { isDeepStrictEqual } from 'node:util';
import { findByPlural, registerKind, resources, unregisterKind, type ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { cleanupFinalizer, setCondition } from '../../api/kinds/apiextensions/customresourcedefinition.js';
import { logger } from '../../lib/log.js';
import type { Storage, WatchHandle } from '../storage/interface.js';
import type { Store } from '../registry/store.js';
import { kindsFor } from './kinds.js';

const log = logger('apiserver');

export interface CRDControllerOptions {
  storage: Storage;
  /** The store of any table entry (custom ones are made on first use). */
  storeFor(r: ResourceInfo): Store;
  /** Write status and clean up (one worker of several). */
  singletons: boolean;
}

interface Served { key: string; resources: ResourceInfo[] }

const nameFields = ['plural', 'singular', 'kind', 'listKind'] as const;

export class CRDController {
  private readonly crds = new Map<string, KubeObject>();
  private readonly served = new Map<string, Served>();
  private watch?: WatchHandle;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private readonly crdStore: Store;
  private readonly builtins: ResourceInfo[];
  private queue = Promise.resolve();

  constructor(private readonly opts: CRDControllerOptions) {
    this.crdStore = opts.storeFor(findByPlural('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!);
    this.builtins = [...resources];
  }

  /** Lists the CRDs, serves them, then follows changes. Resolves once the existing ones are served. */
  async start(): Promise<void> {
    try {
      const list = await this.crdStore.list(undefined, {});
      for (const crd of list.items) this.crds.set(crd.metadata.name!, crd);
      for (const crd of list.items) await this.sync(crd.metadata.name!).catch((e: unknown) => log.warn('CRD sync failed', { crd: crd.metadata.name, error: (e as Error).message }));
      this.follow(list.revision);
    } catch (e) {
      // Storage not reachable yet: keep trying, as the server's other startup duties do.
      log.warn('listing CRDs failed, retrying', { error: (e as Error).message });
      this.retry = setTimeout(() => void this.relist(), 1000);
    }
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    clearTimeout(this.retry);
  }

  private follow(revision: number): void {
    if (this.stopped) return;
    this.watch = this.crdStore.storage.watch(this.crdStore.listPrefix(), { sinceRevision: revision, recursive: true }, {
      onEvent: (e) => {
        const name = e.object.metadata.name!;
        if (e.type === 'DELETED') this.crds.delete(name);
        else this.crds.set(name, e.object);
        this.enqueue(name);
      },
      onError: (err) => {
        log.warn('CRD watch failed, relisting', { error: err.message });
        this.watch?.stop();
        if (!this.stopped) this.retry = setTimeout(() => void this.relist(), 1000);
      },
    });
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.crdStore.list(undefined, {});
      const names = new Set(list.items.map((c) => c.metadata.name!));
      for (const n of [...this.crds.keys()]) if (!names.has(n)) this.crds.delete(n);
      for (const crd of list.items) this.crds.set(crd.metadata.name!, crd);
      for (const n of new Set([...names, ...this.served.keys()])) this.enqueue(n);
      this.follow(list.revision);
    } catch (e) {
      this.retry = setTimeout(() => void this.relist(), 1000);
    }
  }

  /** One sync at a time, in event order (names of one group are decided against each other). */
  private enqueue(name: string): void {
    this.queue = this.queue.then(() => this.sync(name)).catch((e: unknown) => {
      log.warn('CRD sync failed', { crd: name, error: (e as Error).message });
      if (!this.stopped) this.retry = setTimeout(() => this.enqueue(name), 1000);
    });
  }

  /** The first conflict of this CRD's names with a built-in or an older CRD of its group, as the naming controller words it. */
  private conflict(crd: KubeObject): { reason: string; message: string } | undefined {
    const n = crd.spec.names;
    const group = crd.spec.group;
    if (this.builtins.some((r) => r.group === group && r.plural === n.plural)) return { reason: 'PluralConflict', message: `"${n.plural}" is already in use` };
    const older = [...this.crds.values()].filter((o) => o.metadata.name !== crd.metadata.name && o.spec?.group === group
      && (o.metadata.creationTimestamp! < crd.metadata.creationTimestamp! || (o.metadata.creationTimestamp === crd.metadata.creationTimestamp && o.metadata.name! < crd.metadata.name!)));
    // As the naming controller: each requested name against every name (plural, singular, short) and kind (kind, listKind) already taken in the group.
    const names = new Set<string>();
    const kinds = new Set<string>();
    for (const o of older) {
      const on = o.status?.acceptedNames?.plural ? o.status.acceptedNames : o.spec.names;
      for (const x of [on.plural, on.singular, ...(on.shortNames ?? [])]) if (x) names.add(x);
      for (const x of [on.kind, on.listKind]) if (x) kinds.add(x);
    }
    if (names.has(n.plural)) return { reason: 'PluralConflict', message: `"${n.plural}" is already in use` };
    if (n.singular && names.has(n.singular)) return { reason: 'SingularConflict', message: `"${n.singular}" is already in use` };
    const short = (n.shortNames ?? []).find((x: string) => names.has(x));
    if (short) return { reason: 'ShortNamesConflict', message: `"${short}" is already in use` };
    if (kinds.has(n.kind)) return { reason: 'KindConflict', message: `"${n.kind}" is already in use` };
    if (n.listKind && kinds.has(n.listKind)) return { reason: 'ListKindConflict', message: `"${n.listKind}" is already in use` };
    return undefined;
  }

  private async sync(name: string): Promise<void> {
    if (this.stopped) return;
    const crd = this.crds.get(name);
    if (!crd) {
      this.unserve(name);
      return;
    }
    const conflict = this.conflict(crd);
    if (conflict) this.unserve(name);
    else this.serve(crd);
    if (!this.opts.singletons) return;
    if (crd.metadata.deletionTimestamp) {
      await this.cleanup(crd);
      return;
    }
    await this.writeStatus(crd, conflict);
  }

  /** Register (or re-register, after a change) one kind per served version; drop versions no longer served. */
  private serve(crd: KubeObject): void {
    const name = crd.metadata.name!;
    const key = JSON.stringify([crd.spec, crd.metadata.deletionTimestamp ?? null]);
    if (this.served.get(name)?.key === key) return;
    const defs = kindsFor(crd);
    const before = this.served.get(name)?.resources ?? [];
    for (const r of before) {
      if (!defs.some((d) => d.resource.group === r.group && d.resource.version === r.version && d.resource.plural === r.plural)) unregisterKind(r);
    }
    // The storage version first: a store of another version converts to its entry.
    for (const d of [...defs].sort((a, b) => Number(!!a.storageVersion) - Number(!!b.storageVersion))) registerKind(d);
    this.served.set(name, { key, resources: defs.map((d) => d.resource) });
    log.info('serving custom resource', { crd: name, versions: defs.map((d) => d.resource.version) });
  }

  private unserve(name: string): void {
    const s = this.served.get(name);
    if (!s) return;
    for (const r of s.resources) unregisterKind(r);
    this.served.delete(name);
    log.info('stopped serving custom resource', { crd: name });
  }

  private async writeStatus(crd: KubeObject, conflict: { reason: string; message: string } | undefined): Promise<void> {
    const next = structuredClone(crd);
    if (conflict) {
      setCondition(next, { type: 'NamesAccepted', status: 'False', ...conflict });
      // An established CRD stays established: its names were accepted once (kube keeps serving them).
      if (!crd.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True')) {
        setCondition(next, { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' });
      }
    } else {
      next.status = { ...(next.status ?? {}), acceptedNames: acceptedNames(crd.spec.names) };
      setCondition(next, { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' });
      setCondition(next, { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' });
    }
    const storage = (crd.spec.versions ?? []).find((v: { storage?: boolean }) => v.storage)?.name;
    const stored: string[] = next.status?.storedVersions ?? [];
    if (storage && !stored.includes(storage)) next.status = { ...next.status, storedVersions: [...stored, storage] };
    const strip = (o: KubeObject) => ({ ...o.status, conditions: (o.status?.conditions ?? []).map(({ lastTransitionTime: _t, ...c }: Record<string, unknown>) => c) });
    if (isDeepStrictEqual(strip(next), strip(crd))) return;
    await this.crdStore.update(undefined, crd.metadata.name!, (cur) => {
      if (cur!.metadata.uid !== crd.metadata.uid) throw new Error('CRD replaced');
      return { ...cur!, status: next.status };
    }, { subresource: 'status', fieldManager: 'kube-apiserver' });
  }

  /** The finalizer: every object of the CRD goes (at its storage version), then the finalizer. */
  private async cleanup(crd: KubeObject): Promise<void> {
    if (!(crd.metadata.finalizers ?? []).includes(cleanupFinalizer)) return;
    const storageVersion = (crd.spec.versions ?? []).find((v: { storage?: boolean }) => v.storage)?.name;
    const r = findByPlural(crd.spec.group, storageVersion, crd.spec.names.plural);
    let remaining = 0;
    if (r) {
      const store = this.opts.storeFor(r);
      const { items } = await store.list(undefined, {});
      for (const o of items) {
        const out = await store.delete(o.metadata.namespace, o.metadata.name!, {}).catch((e: { code?: number }) => {
          if (e.code !== 404) throw e;
          return { deleted: true };
        });
        if (!out.deleted) remaining++;
      }
    }
    if (remaining) {
      await this.setTerminating(crd, 'InstanceDeletionCheck', `could not confirm zero CustomResources remaining: ${remaining} remaining`);
      this.retry = setTimeout(() => this.enqueue(crd.metadata.name!), 1000);
      return;
    }
    this.unserve(crd.metadata.name!);
    await this.crdStore.update(undefined, crd.metadata.name!, (cur) => {
      const next = structuredClone(cur!);
      setCondition(next, { type: 'Terminating', status: 'False', reason: 'InstancesDeleted', message: 'all instances have been deleted' });
      next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f: string) => f !== cleanupFinalizer);
      return next;
    }, { fieldManager: 'kube-apiserver' }).catch((e: { code?: number }) => { if (e.code !== 404) throw e; });
  }

  private async setTerminating(crd: KubeObject, reason: string, message: string): Promise<void> {
    await this.crdStore.update(undefined, crd.metadata.name!, (cur) => {
      const next = structuredClone(cur!);
      setCondition(next, { type: 'Terminating', status: 'True', reason, message });
      return next;
    }, { subresource: 'status', fieldManager: 'kube-apiserver' }).catch(() => undefined);
  }
}

function acceptedNames(n: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [...nameFields, 'shortNames', 'categories']) if (n[k] !== undefined) out[k] = n[k];
  return out;
}
