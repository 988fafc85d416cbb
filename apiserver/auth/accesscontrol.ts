// Who may do what, assembled from the API server's flags: the
// authenticators (client certificates, bootstrap tokens, ServiceAccount
// tokens), the authorizers of --authorization-mode in order behind the
// system:masters shortcut, the admission chain, and the answers that depend
// on them (the access reviews, TokenReview, SelfSubjectReview). The server
// runs every request through `filters` and every write through `admission`.

import type { Storage } from '../storage/interface.js';
import type { Store } from '../registry/store.js';
import { AdmissionChain } from '../admission/chain.js';
import { admissionPlugins, type AdmissionConfig } from '../admission/plugins.js';
import type { EphemeralHandler } from '../handlers/ephemeral.js';
import { BearerTokenAuthenticator, UnionAuthenticator, X509Authenticator } from './authenticators.js';
import { AlwaysAllow, AlwaysDeny, PrivilegedGroupAuthorizer, UnionAuthorizer } from './authorizers.js';
import { selfSubjectReview, tokenReview } from './authnreviews.js';
import { BootstrapTokenAuthenticator } from './bootstraptoken.js';
import { FilterChain } from './filters.js';
import { NodeAuthorizer } from './node/authorizer.js';
import { RBACAuthorizer } from './rbac/authorizer.js';
import { startBootstrapPolicy } from './rbac/bootstrap.js';
import { RBACEscalation } from './rbac/escalation.js';
import { accessReviewHandlers } from './reviews.js';
import { serviceAccountServing, type ServiceAccountConfig, type ServiceAccountServing } from './serviceaccount/serving.js';
import type { Authenticator, Authorizer, TokenAuthenticator } from './types.js';

export interface AuthenticationConfig {
  /** --anonymous-auth: anonymous access to the public paths (/healthz, /livez, /readyz, /version). */
  anonymous?: boolean;
  /** Bearer-token authenticators made outside the server (tests); the server adds its own. */
  tokenAuthenticators?: TokenAuthenticator[];
  /** --enable-bootstrap-token-auth. */
  bootstrapTokens?: boolean;
}

export interface AccessControlConfig extends AdmissionConfig {
  authentication?: AuthenticationConfig;
  /** --authorization-mode, in order: AlwaysAllow, AlwaysDeny, Node, RBAC. Default Node,RBAC, as kubeadm runs it. */
  authorizationModes?: string[];
  /** --service-account-*: ServiceAccount token authentication, TokenRequest, issuer discovery and the ServiceAccount admission plugin. */
  serviceAccounts?: ServiceAccountConfig;
  /** More handlers of create-only kinds (ResourceInfo.ephemeral), by plural. */
  ephemeral?: Map<string, EphemeralHandler>;
}

export interface AccessControlDeps {
  storage: Storage;
  etcdPrefix: string;
  storeOf: (plural: string) => Store;
}

export class AccessControl {
  private rbacPolicy?: { done: Promise<void>; stop(): void };
  private policyReady: boolean;

  private constructor(
    readonly filters: FilterChain,
    readonly admission: AdmissionChain,
    readonly ephemeral: Map<string, EphemeralHandler>,
    readonly serviceAccounts: ServiceAccountServing | undefined,
    private readonly rbac: RBACAuthorizer | undefined,
    private readonly node: NodeAuthorizer | undefined,
    private readonly storeOf: (plural: string) => Store,
  ) {
    this.policyReady = !rbac;
  }

  static async create(cfg: AccessControlConfig, deps: AccessControlDeps): Promise<AccessControl> {
    const { storage, storeOf } = deps;
    const serviceAccounts = cfg.serviceAccounts ? await serviceAccountServing(cfg.serviceAccounts, { storeOf, storage }) : undefined;

    const tokens = [...(cfg.authentication?.tokenAuthenticators ?? [])];
    if (cfg.authentication?.bootstrapTokens ?? true) {
      tokens.push(new BootstrapTokenAuthenticator((name) => storeOf('secrets').get('kube-system', name).catch(() => undefined)));
    }
    if (serviceAccounts) tokens.push(serviceAccounts.authenticator);
    const authenticators: Authenticator[] = [new X509Authenticator()];
    if (tokens.length) authenticators.push(new BearerTokenAuthenticator(tokens));

    const authorizers: Authorizer[] = [new PrivilegedGroupAuthorizer()];
    let rbac: RBACAuthorizer | undefined;
    let node: NodeAuthorizer | undefined;
    for (const mode of cfg.authorizationModes ?? ['Node', 'RBAC']) {
      switch (mode) {
        case 'RBAC':
          rbac = new RBACAuthorizer({ storage, etcdPrefix: deps.etcdPrefix });
          authorizers.push(rbac);
          break;
        case 'Node':
          // Selector-scoped as kube 1.32 (AuthorizeNodeWithSelectors): a kubelet lists only pods with its spec.nodeName.
          node = new NodeAuthorizer({ storage, podsPrefix: storeOf('pods').listPrefix(), pvcsPrefix: storeOf('persistentvolumeclaims')?.listPrefix() });
          authorizers.push(node);
          break;
        case 'AlwaysAllow': authorizers.push(new AlwaysAllow()); break;
        case 'AlwaysDeny': authorizers.push(new AlwaysDeny()); break;
        default: throw new Error(`unknown authorization mode ${mode}`);
      }
    }
    const authorizer = new UnionAuthorizer(authorizers);
    const filters = new FilterChain({ authenticator: new UnionAuthenticator(authenticators), authorizer, anonymous: cfg.authentication?.anonymous });

    // RBAC's escalation check is on wherever RBAC is (kube's policy-based storage of roles and bindings).
    const plugins = admissionPlugins(cfg, storeOf, serviceAccounts, authorizer);
    if (rbac) plugins.push(new RBACEscalation(rbac, authorizer));
    // The reviews answer with the same authenticators and authorizers requests pass.
    const ephemeral = new Map<string, EphemeralHandler>([
      ...accessReviewHandlers(authorizer),
      ['tokenreviews', tokenReview(tokens, serviceAccounts?.audiences ?? [])],
      ['selfsubjectreviews', selfSubjectReview()],
      ...(cfg.ephemeral ?? []),
    ]);
    return new AccessControl(filters, new AdmissionChain(plugins), ephemeral, serviceAccounts, rbac, node, storeOf);
  }

  /** Start the authorizers' caches and kube's rbac/bootstrap-roles post-start hook. */
  start(): void {
    this.rbac?.start();
    void this.node?.start();
    if (this.rbac) {
      this.rbacPolicy = startBootstrapPolicy(this.storeOf);
      void this.rbacPolicy.done.then(() => { this.policyReady = true; });
    }
  }

  /** /readyz's poststarthook/rbac/bootstrap-roles. */
  bootstrapPolicyReady(): boolean {
    return this.policyReady;
  }

  stop(): void {
    this.rbacPolicy?.stop();
    this.rbac?.stop();
    this.node?.stop();
    this.serviceAccounts?.stop();
  }
}
