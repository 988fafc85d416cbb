// The Node authorizer (plugin/pkg/auth/authorizer/node/node_authorizer.go, kube
// 1.32 with its default AuthorizeNodeWithSelectors): a kubelet, user
// system:node:<name> in system:nodes, reads only the secrets, configmaps,
// claims and service accounts of pods bound to its node, and its own Node,
// pods and Lease; everything else it may do is kube's NodeRules. Requests
// from anyone else get NoOpinion. The graph behind it is built from a watch
// of pods, so no request reads storage.

import { parseFieldSelector } from '../../../api/fields.js';
import { logger } from '../../../lib/log.js';
import type { Storage, WatchHandle } from '../../storage/interface.js';
import type { Attributes, Authorizer, AuthorizerResult, RulesResult, UserInfo } from '../types.js';
import { NodeGraph, type VertexType } from './graph.js';
import { nodeIdentity } from './identity.js';
import { nodeRules, rulesAllow, type PolicyRule } from './rules.js';

const log = logger('apiserver');

/**
 * authorizer.Attributes.GetFieldSelector: the request's ?fieldSelector, as the
 * filter chain passes it for list and watch (AuthorizeWithSelectors, on by
 * default in 1.32). Absent when the request has none.
 */
export type NodeAttributes = Attributes & { fieldSelector?: string };

export interface NodeAuthorizerOptions {
  storage: Storage;
  /** The storage prefix pods live under (the pods Store's listPrefix()). */
  podsPrefix: string;
  /** Kube 1.32's AuthorizeNodeWithSelectors gate (default on): nodes list and watch pods only with spec.nodeName=<self>, and read only their own Node. */
  authorizeWithSelectors?: boolean;
  /** The static rules for everything the graph does not decide; kube's NodeRules by default. */
  rules?: readonly PolicyRule[];
  /** Pause before listing again after the pod watch ends. */
  retryMs?: number;
  /**
   * The storage prefix of PersistentVolumeClaims: their spec.volumeName makes
   * kube's pv -> pvc edge, so a node reads the volumes its pods' claims are
   * bound to. Without it no node reads any PersistentVolume.
   */
  pvcsPrefix?: string;
}

const allow: AuthorizerResult = { decision: 'Allow', reason: '' };
const noOpinion = (reason = ''): AuthorizerResult => ({ decision: 'NoOpinion', reason });

export class NodeAuthorizer implements Authorizer {
  private graph = new NodeGraph();
  private readonly rules: readonly PolicyRule[];
  private readonly selectors: boolean;
  private readonly retryMs: number;
  private handle?: WatchHandle;
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;
  private markSynced!: () => void;
  /** Claim ("namespace/name") -> the volume it is bound to, and the reverse. */
  private readonly claimVolume = new Map<string, string>();
  private readonly volumeClaims = new Map<string, Set<string>>();
  private claimsHandle?: WatchHandle;
  private readonly synced = new Promise<void>((r) => { this.markSynced = r; });

  constructor(private readonly o: NodeAuthorizerOptions) {
    if (!o.storage) throw new Error('NodeAuthorizer: storage is required');
    if (!o.podsPrefix) throw new Error('NodeAuthorizer: podsPrefix is required');
    this.rules = o.rules ?? nodeRules;
    this.selectors = o.authorizeWithSelectors ?? true;
    this.retryMs = o.retryMs ?? 1000;
  }

  /** Starts the pod watch; the promise resolves once the graph holds every pod (kube waits for its informers likewise). */
  start(): Promise<void> {
    if (!this.running && !this.stopped) {
      this.running = true;
      void this.run();
      if (this.o.pvcsPrefix) void this.runClaims(this.o.pvcsPrefix);
    }
    return this.synced;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.handle?.stop();
    this.claimsHandle?.stop();
  }

  private setClaim(key: string, volume: string | undefined): void {
    const prev = this.claimVolume.get(key);
    if (prev === volume) return;
    if (prev) {
      this.volumeClaims.get(prev)?.delete(key);
      if (!this.volumeClaims.get(prev)?.size) this.volumeClaims.delete(prev);
    }
    if (!volume) {
      this.claimVolume.delete(key);
      return;
    }
    this.claimVolume.set(key, volume);
    if (!this.volumeClaims.has(volume)) this.volumeClaims.set(volume, new Set());
    this.volumeClaims.get(volume)!.add(key);
  }

  /** The claims' watch, as the pods' (list, watch, list again when it ends). */
  private async runClaims(prefix: string): Promise<void> {
    const keyOf = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
    while (!this.stopped) {
      try {
        const { items, revision } = await this.o.storage.list(prefix);
        for (const k of [...this.claimVolume.keys()]) this.setClaim(k, undefined);
        for (const c of items) this.setClaim(keyOf(c), c.spec?.volumeName || undefined);
        if (this.stopped) return;
        await new Promise<void>((ended) => {
          this.claimsHandle = this.o.storage.watch(prefix, { sinceRevision: revision, recursive: true }, {
            onEvent: (e) => this.setClaim(keyOf(e.object), e.type === 'DELETED' ? undefined : e.object.spec?.volumeName || undefined),
            onError: (err) => {
              if (!this.stopped) log.warn('node authorizer claim watch ended, listing again', { error: err.message });
              ended();
            },
          });
        });
      } catch (e) {
        if (!this.stopped) log.warn('node authorizer cannot list claims, retrying', { error: (e as Error).message });
      }
      if (this.stopped) return;
      await new Promise<void>((r) => { this.timer = setTimeout(r, this.retryMs); });
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const { items, revision } = await this.o.storage.list(this.o.podsPrefix);
        // A fresh graph replaces the old one whole, so a relist never leaves edges of pods deleted meanwhile.
        const graph = new NodeGraph();
        for (const p of items) graph.updatePod(p);
        this.graph = graph;
        this.markSynced();
        if (this.stopped) return;
        await new Promise<void>((ended) => {
          this.handle = this.o.storage.watch(this.o.podsPrefix, { sinceRevision: revision, recursive: true }, {
            onEvent: (e) => {
              const m = e.object.metadata;
              if (e.type === 'DELETED') {
                if (e.object.spec?.nodeName) this.graph.deletePod(m.namespace ?? '', m.name ?? '');
              } else {
                this.graph.updatePod(e.object);
              }
            },
            onError: (err) => {
              if (!this.stopped) log.warn('node authorizer pod watch ended, listing again', { error: err.message });
              ended();
            },
          });
        });
      } catch (e) {
        if (!this.stopped) log.warn('node authorizer cannot list pods, retrying', { error: (e as Error).message });
      }
      if (this.stopped) return;
      await new Promise<void>((r) => { this.timer = setTimeout(r, this.retryMs); });
    }
  }

  async authorize(a: NodeAttributes): Promise<AuthorizerResult> {
    const { isNode, nodeName } = nodeIdentity(a.user);
    if (!isNode) return noOpinion();
    if (!nodeName) return noOpinion(`unknown node for user "${a.user.username}"`);
    if (a.resourceRequest) {
      switch (`${a.apiGroup}/${a.resource}`) {
        case '/secrets': return this.readNamespacedObject(nodeName, 'secret', a);
        case '/configmaps': return this.readNamespacedObject(nodeName, 'configmap', a);
        case '/persistentvolumeclaims':
          return a.subresource === 'status' ? this.statusUpdate(nodeName, 'pvc', a) : this.getOnly(nodeName, 'pvc', a);
        case '/persistentvolumes': return this.getOnly(nodeName, 'pv', a);
        case 'resource.k8s.io/resourceclaims': return this.getOnly(nodeName, 'resourceclaim', a);
        case 'storage.k8s.io/volumeattachments': return this.getOnly(nodeName, 'volumeattachment', a);
        case '/serviceaccounts': return this.createToken(nodeName, a);
        case 'coordination.k8s.io/leases': return this.lease(nodeName, a);
        case 'storage.k8s.io/csinodes': return this.csiNode(nodeName, a);
        case '/nodes': if (this.selectors) return this.node(nodeName, a); break;
        case '/pods': if (this.selectors) return this.pod(nodeName, a); break;
      }
    }
    return rulesAllow(a, this.rules) ? allow : noOpinion();
  }

  /** Kube's NodeAuthorizer is no RuleResolver for nodes: their rules depend on the graph. */
  async rulesFor(user: UserInfo): Promise<RulesResult> {
    if (nodeIdentity(user).isNode) {
      return { resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: 'node authorizer does not support user rule resolution' };
    }
    return { resourceRules: [], nonResourceRules: [], incomplete: false };
  }

  private statusUpdate(nodeName: string, type: VertexType, a: Attributes): AuthorizerResult {
    if (a.verb !== 'update' && a.verb !== 'patch') return noOpinion('can only get/update/patch this type');
    if (a.subresource !== 'status') return noOpinion('can only update status subresource');
    return this.related(nodeName, type, a);
  }

  private getOnly(nodeName: string, type: VertexType, a: Attributes): AuthorizerResult {
    if (a.verb !== 'get') return noOpinion('can only get individual resources of this type');
    if (a.subresource) return noOpinion('cannot get subresource');
    return this.related(nodeName, type, a);
  }

  private readNamespacedObject(nodeName: string, type: VertexType, a: Attributes): AuthorizerResult {
    if (!['get', 'list', 'watch'].includes(a.verb)) return noOpinion('can only read resources of this type');
    if (a.subresource) return noOpinion('cannot read subresource');
    if (!a.namespace) return noOpinion('can only read namespaced object of this type');
    return this.related(nodeName, type, a);
  }

  private related(nodeName: string, type: VertexType, a: Attributes): AuthorizerResult {
    if (!a.name) return noOpinion('No Object name found');
    // pv -> pvc -> pod -> node: a volume is related through any claim bound to it.
    const viaClaims = type === 'pv' ? [...(this.volumeClaims.get(a.name) ?? [])].map((k) => k.split('/')) : undefined;
    const path = viaClaims
      ? (viaClaims.map(([ns, n]) => this.graph.hasPathFrom(nodeName, 'pvc', ns, n)).find((r) => r.ok) ?? { ok: false, error: `node '${nodeName}' cannot get pv ${a.name}` })
      : this.graph.hasPathFrom(nodeName, type, a.namespace, a.name);
    if (!path.ok) {
      log.debug('NODE DENY', { node: nodeName, error: path.error });
      return noOpinion(`no relationship found between node '${nodeName}' and this object`);
    }
    return allow;
  }

  private createToken(nodeName: string, a: Attributes): AuthorizerResult {
    if (a.verb !== 'create' || !a.name) return noOpinion('can only create tokens for individual service accounts');
    if (a.subresource !== 'token') return noOpinion('can only create token subresource of serviceaccount');
    return this.related(nodeName, 'serviceAccount', a);
  }

  private lease(nodeName: string, a: Attributes): AuthorizerResult {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return noOpinion('can only get, create, update, patch, or delete a node lease');
    if (a.namespace !== 'kube-node-lease') return noOpinion('can only access leases in the "kube-node-lease" system namespace');
    // The name of a create is in the body, which NodeRestriction checks.
    if (a.verb !== 'create' && a.name !== nodeName) return noOpinion('can only access node lease with the same name as the requesting node');
    return allow;
  }

  private csiNode(nodeName: string, a: Attributes): AuthorizerResult {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return noOpinion('can only get, create, update, patch, or delete a CSINode');
    if (a.subresource) return noOpinion('cannot authorize CSINode subresources');
    if (a.verb !== 'create' && a.name !== nodeName) return noOpinion('can only access CSINode with the same name as the requesting node');
    return allow;
  }

  private node(nodeName: string, a: Attributes): AuthorizerResult {
    if (!a.subresource) {
      // NodeRestriction limits writes to the node's own object.
      if (['create', 'update', 'patch'].includes(a.verb)) return allow;
      if (['get', 'list', 'watch'].includes(a.verb)) {
        // By name rather than by graph, so a kubelet can read its Node before creating it.
        if (a.name === nodeName) return allow;
        if (!a.name) return noOpinion(`node '${nodeName}' cannot read all nodes, only its own Node object`);
        return noOpinion(`node '${nodeName}' cannot read '${a.name}', only its own Node object`);
      }
    } else if (a.subresource === 'status' && (a.verb === 'update' || a.verb === 'patch')) {
      return allow;
    }
    return noOpinion();
  }

  private pod(nodeName: string, a: NodeAttributes): AuthorizerResult {
    switch (a.subresource) {
      case '':
        switch (a.verb) {
          case 'get': return this.getOnly(nodeName, 'pod', a);
          case 'list': case 'watch': {
            if (selectsNode(a.fieldSelector, nodeName)) return allow;
            if (a.name) return this.related(nodeName, 'pod', a);
            return noOpinion('can only list/watch pods with spec.nodeName field selector');
          }
          // Mirror pods; NodeRestriction limits them to ones bound to the node.
          case 'create': case 'delete': return allow;
        }
        break;
      case 'status':
        if (a.verb === 'update' || a.verb === 'patch') return allow;
        break;
      case 'eviction':
        if (a.verb === 'create') return allow;
        break;
    }
    return noOpinion();
  }
}

function selectsNode(fieldSelector: string | undefined, nodeName: string): boolean {
  if (!fieldSelector) return false;
  try {
    return parseFieldSelector(fieldSelector).requirements.some((r) => r.field === 'spec.nodeName' && r.operator === '=' && r.value === nodeName);
  } catch {
    return false;
  }
}
