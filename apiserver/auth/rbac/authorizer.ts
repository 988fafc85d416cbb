// The RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is allowed
// when a rule of a role bound to its user allows it, through a
// ClusterRoleBinding or a RoleBinding of the request's namespace. Roles and
// bindings are served from memory, kept current by watching storage (kube
// reads them from informers): no etcd read happens per request, and a new
// binding takes effect as soon as its watch event arrives.

import { resources, storagePrefix, type ResourceInfo } from '../../../api/resources.js';
import type { ClusterRole, PolicyRule, Role, RoleBinding, RoleRef, RBACSubject } from '../../../api/types.js';
import { logger } from '../../../lib/log.js';
import type { Storage, WatchHandle } from '../../storage/interface.js';
import type { Attributes, Authorizer, AuthorizerResult, NonResourceRule, ResourceRule, RulesResult, UserInfo } from '../types.js';
import { appliesTo, ruleAllows } from './rules.js';

const log = logger('rbac');

export const rbacGroup = 'rbac.authorization.k8s.io';

export interface RBACAuthorizerOptions {
  storage: Storage;
  etcdPrefix: string;
  /** Pause before listing again after a watch ends (tests shorten it). */
  relistDelayMs?: number;
}

type BindingKind = 'ClusterRoleBinding' | 'RoleBinding';

/** A binding reachable from one subject key ("u:<user>" or "g:<group>"). */
interface Bound { binding: RoleBinding; kind: BindingKind }

/** Where a rule came from, as kube's describers print it in reasons. */
function describe(b: Bound, subject: RBACSubject): string {
  const ns = b.binding.metadata.namespace ?? '';
  const name = b.kind === 'RoleBinding' ? `${b.binding.metadata.name}/${ns}` : b.binding.metadata.name!;
  const who = subject.kind === 'ServiceAccount'
    ? `${subject.kind} ${JSON.stringify(`${subject.name}/${subject.namespace || ns}`)}`
    : `${subject.kind} ${JSON.stringify(subject.name)}`;
  return `${b.kind} ${JSON.stringify(name)} of ${b.binding.roleRef.kind} ${JSON.stringify(b.binding.roleRef.name)} to ${who}`;
}

/** utilerrors.NewAggregate's text. */
export function aggregate(errs: string[]): string {
  return errs.length === 1 ? errs[0]! : `[${errs.join(', ')}]`;
}

const keyOf = (o: { metadata: { namespace?: string; name?: string } }) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!);

/** The subject keys a binding is found under: a ServiceAccount is a user with its derived name. */
function subjectKey(s: RBACSubject, bindingNamespace: string): string | undefined {
  switch (s.kind) {
    case 'User': return `u:${s.name}`;
    case 'Group': return `g:${s.name}`;
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns ? `u:system:serviceaccount:${ns}:${s.name}` : undefined;
    }
    default: return undefined;
  }
}

interface Index {
  cluster: Map<string, Bound[]>;
  /** namespace -> subject key -> RoleBindings there. */
  namespaced: Map<string, Map<string, Bound[]>>;
}

export class RBACAuthorizer implements Authorizer {
  readonly roles = new Map<string, Role>();
  readonly clusterRoles = new Map<string, ClusterRole>();
  readonly roleBindings = new Map<string, RoleBinding>();
  readonly clusterRoleBindings = new Map<string, RoleBinding>();
  private index_?: Index;
  private readonly watches = new Map<string, WatchHandle>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private synced = false;
  private readonly pending = new Set<string>();
  private readonly readyPromise: Promise<void>;
  private markReady!: () => void;
  private readonly storage: Storage;
  private readonly prefix: string;
  private readonly relistDelayMs: number;

  constructor(o: RBACAuthorizerOptions) {
    if (!o.storage) throw new Error('RBACAuthorizer needs storage');
    this.storage = o.storage;
    this.prefix = (o.etcdPrefix ?? '/registry').replace(/\/$/, '');
    this.relistDelayMs = o.relistDelayMs ?? 1000;
    this.readyPromise = new Promise((r) => { this.markReady = r; });
  }

  /** Begin listing and watching the four kinds; ready() settles once each was listed. */
  start(): void {
    for (const plural of ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']) {
      this.pending.add(plural);
      void this.sync(plural);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  /**
   * Before the first lists complete a request waits for them, but not for
   * ever: with storage away it is answered from what is cached (nothing), as
   * kube's authorizer answers from an unsynced informer.
   */
  private waitForSync(): Promise<void> | undefined {
    if (this.synced) return undefined;
    return Promise.race([this.readyPromise, new Promise<void>((r) => setTimeout(r, 5000).unref())]);
  }

  private mapOf(plural: string): Map<string, any> {
    switch (plural) {
      case 'roles': return this.roles;
      case 'clusterroles': return this.clusterRoles;
      case 'rolebindings': return this.roleBindings;
      default: return this.clusterRoleBindings;
    }
  }

  private resourcePrefix(plural: string): string {
    const r = resources.find((x) => x.group === rbacGroup && x.plural === plural) as ResourceInfo;
    return `${this.prefix}/${storagePrefix(r)}/`;
  }

  /** List, then watch from the list's revision; a watch that ends (compaction, etcd away) starts over with a fresh list. */
  private async sync(plural: string): Promise<void> {
    if (this.stopped) return;
    const prefix = this.resourcePrefix(plural);
    const map = this.mapOf(plural);
    try {
      const { items, revision } = await this.storage.list(prefix);
      if (this.stopped) return;
      map.clear();
      for (const o of items) map.set(keyOf(o), o);
      this.changed(plural);
      this.watches.get(plural)?.stop();
      this.watches.set(plural, this.storage.watch(prefix, { sinceRevision: revision, recursive: true }, {
        onEvent: (e) => {
          if (e.type === 'DELETED') map.delete(keyOf(e.object));
          else map.set(keyOf(e.object), e.object);
          this.changed(plural);
        },
        onError: (err) => {
          if (this.stopped) return;
          log.info('rbac watch ended, listing again', { resource: plural, error: err.message });
          this.later(plural);
        },
      }));
      if (this.pending.delete(plural) && this.pending.size === 0) {
        this.synced = true;
        this.markReady();
      }
    } catch (e) {
      if (this.stopped) return;
      log.warn('rbac list failed, retrying', { resource: plural, error: (e as Error).message });
      this.later(plural);
    }
  }

  private later(plural: string): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.sync(plural);
    }, this.relistDelayMs);
    t.unref();
    this.timers.add(t);
  }

  private changed(plural: string): void {
    if (plural === 'rolebindings' || plural === 'clusterrolebindings') this.index_ = undefined;
  }

  /** Bindings by subject, rebuilt on the first request after a binding changed (bindings change rarely; requests are many). */
  private index(): Index {
    if (this.index_) return this.index_;
    const cluster = new Map<string, Bound[]>();
    const namespaced = new Map<string, Map<string, Bound[]>>();
    const add = (m: Map<string, Bound[]>, key: string, b: Bound) => {
      const list = m.get(key);
      if (!list) m.set(key, [b]);
      else if (list[list.length - 1]!.binding !== b.binding) list.push(b);
    };
    for (const name of [...this.clusterRoleBindings.keys()].sort()) {
      const binding = this.clusterRoleBindings.get(name)!;
      const b: Bound = { binding, kind: 'ClusterRoleBinding' };
      for (const s of binding.subjects ?? []) {
        const k = subjectKey(s, '');
        if (k) add(cluster, k, b);
      }
    }
    for (const key of [...this.roleBindings.keys()].sort()) {
      const binding = this.roleBindings.get(key)!;
      const ns = binding.metadata.namespace!;
      let m = namespaced.get(ns);
      if (!m) namespaced.set(ns, (m = new Map()));
      const b: Bound = { binding, kind: 'RoleBinding' };
      for (const s of binding.subjects ?? []) {
        const k = subjectKey(s, ns);
        if (k) add(m, k, b);
      }
    }
    this.index_ = { cluster, namespaced };
    return this.index_;
  }

  /** GetRoleReferenceRules: the rules a roleRef names, or the error kube's listers give. */
  roleRefRules(ref: RoleRef, bindingNamespace: string): { rules: PolicyRule[] } | { error: string } {
    switch (ref.kind) {
      case 'Role': {
        const role = this.roles.get(`${bindingNamespace}/${ref.name}`);
        return role ? { rules: role.rules ?? [] } : { error: `role.rbac.authorization.k8s.io ${JSON.stringify(ref.name)} not found` };
      }
      case 'ClusterRole': {
        const role = this.clusterRoles.get(ref.name);
        return role ? { rules: role.rules ?? [] } : { error: `clusterrole.rbac.authorization.k8s.io ${JSON.stringify(ref.name)} not found` };
      }
      default:
        return { error: `unsupported role reference kind: ${JSON.stringify(ref.kind)}` };
    }
  }

  /**
   * VisitRulesFor: every binding that applies to the user, ClusterRoleBindings
   * first, then the namespace's RoleBindings, each visited once, in name order.
   */
  private applicable(user: UserInfo, namespace: string): Bound[] {
    const idx = this.index();
    const out: Bound[] = [];
    const seen = new Set<RoleBinding>();
    const collect = (m: Map<string, Bound[]> | undefined) => {
      if (!m) return [];
      const found: Bound[] = [];
      const take = (list: Bound[] | undefined) => {
        for (const b of list ?? []) if (!seen.has(b.binding)) {
          seen.add(b.binding);
          found.push(b);
        }
      };
      take(m.get(`u:${user.username}`));
      for (const g of user.groups) take(m.get(`g:${g}`));
      return found.sort((a, b) => (a.binding.metadata.name! < b.binding.metadata.name! ? -1 : 1));
    };
    out.push(...collect(idx.cluster));
    if (namespace) out.push(...collect(idx.namespaced.get(namespace)));
    return out;
  }

  async authorize(a: Attributes): Promise<AuthorizerResult> {
    if (!this.synced) await this.waitForSync();
    const idx = this.index();
    let errs: string[] | undefined;
    // The hot path: look up the user's and each group's bindings directly, no collection built.
    const tryList = (list: Bound[] | undefined, bindingNamespace: string): AuthorizerResult | undefined => {
      if (!list) return undefined;
      for (let i = 0; i < list.length; i++) {
        const b = list[i]!;
        const got = this.roleRefRules(b.binding.roleRef, bindingNamespace);
        if ('error' in got) {
          (errs ??= []).push(got.error);
          continue;
        }
        for (let j = 0; j < got.rules.length; j++) {
          if (ruleAllows(a, got.rules[j]!)) {
            const subject = b.binding.subjects![appliesTo(a.user, b.binding.subjects, bindingNamespace)]!;
            return { decision: 'Allow', reason: `RBAC: allowed by ${describe(b, subject)}` };
          }
        }
      }
      return undefined;
    };
    const trySubjects = (m: Map<string, Bound[]> | undefined, bindingNamespace: string): AuthorizerResult | undefined => {
      if (!m) return undefined;
      const r = tryList(m.get(`u:${a.user.username}`), bindingNamespace);
      if (r) return r;
      for (let i = 0; i < a.user.groups.length; i++) {
        const g = tryList(m.get(`g:${a.user.groups[i]}`), bindingNamespace);
        if (g) return g;
      }
      return undefined;
    };
    const allowed = trySubjects(idx.cluster, '') ?? (a.namespace ? trySubjects(idx.namespaced.get(a.namespace), a.namespace) : undefined);
    if (allowed) return allowed;
    // A role referenced twice is reported once, as the lister's error would be per binding: keep order, drop repeats.
    return { decision: 'NoOpinion', reason: errs ? `RBAC: ${aggregate([...new Set(errs)])}` : '' };
  }

  /** The user's rules in a namespace (cluster-wide ones included) and the errors met resolving them. */
  async policyRulesFor(user: UserInfo, namespace: string): Promise<{ rules: PolicyRule[]; errors: string[] }> {
    if (!this.synced) await this.waitForSync();
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    for (const b of this.applicable(user, namespace)) {
      const got = this.roleRefRules(b.binding.roleRef, b.kind === 'RoleBinding' ? b.binding.metadata.namespace! : '');
      if ('error' in got) errors.push(got.error);
      else rules.push(...got.rules);
    }
    return { rules, errors };
  }

  /** RBACAuthorizer.RulesFor, for SelfSubjectRulesReview. */
  async rulesFor(user: UserInfo, namespace: string): Promise<RulesResult> {
    const { rules, errors } = await this.policyRulesFor(user, namespace);
    const resourceRules: ResourceRule[] = [];
    const nonResourceRules: NonResourceRule[] = [];
    for (const r of rules) {
      if (r.resources?.length) {
        const rr: ResourceRule = { verbs: r.verbs ?? [] };
        if (r.apiGroups?.length) rr.apiGroups = r.apiGroups;
        rr.resources = r.resources;
        if (r.resourceNames?.length) rr.resourceNames = r.resourceNames;
        resourceRules.push(rr);
      }
      if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs });
    }
    const out: RulesResult = { resourceRules, nonResourceRules, incomplete: false };
    if (errors.length) out.evaluationError = aggregate(errors);
    return out;
  }
}
