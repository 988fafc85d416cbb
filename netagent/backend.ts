// What the network agent asks of the host, as kube-proxy's backend interface
// is what the proxier asks: routes it owns, and its iptables rules. linux.ts
// does it with ip and iptables in the namespace the agent runs in; fake.ts
// records it for unit tests.

export interface Route {
  /** A CIDR. */
  dst: string;
  /** unicast: via a gateway (another node's InternalIP); unreachable: nothing for it leaves the machine. */
  type: 'unicast' | 'unreachable';
  via?: string;
}

/** The rules of a node (not of the control-plane host): which cluster CIDR its pods are in. */
export interface RuleSpec {
  clusterCIDR: string;
}

export interface NetBackend {
  /** The routes this agent made (and only those). */
  listRoutes(): Promise<Route[]>;
  /** Adds or changes the route for r.dst. */
  replaceRoute(r: Route): Promise<void>;
  deleteRoute(r: Route): Promise<void>;
  /** Makes the agent's chains hold exactly the rules for spec, and the jumps to them exist. */
  syncRules(spec: RuleSpec): Promise<void>;
  /** The namespace forwards packets (a node routes for its pods). */
  enableForwarding(): Promise<void>;
  /** Removes every route, rule, chain and jump the agent made. */
  cleanup(): Promise<void>;
}

export function routeKey(r: Route): string {
  return `${r.type} ${r.dst}${r.via ? ` via ${r.via}` : ''}`;
}
