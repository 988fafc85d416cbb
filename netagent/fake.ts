// A recording NetBackend for unit tests: routes in a map, rules as the last
// spec synced, every call in order.

import { routeKey, type NetBackend, type Route, type RuleSpec } from './backend.js';

export class FakeBackend implements NetBackend {
  readonly routes = new Map<string, Route>();
  rules?: RuleSpec;
  forwarding = false;
  readonly calls: string[] = [];
  /** Return an error to make the named call fail once. */
  fail: (call: string) => Error | undefined = () => undefined;

  private record(call: string): void {
    this.calls.push(call);
    const e = this.fail(call);
    if (e) throw e;
  }

  async listRoutes(): Promise<Route[]> {
    this.record('list');
    return [...this.routes.values()].map((r) => ({ ...r }));
  }
  async replaceRoute(r: Route): Promise<void> {
    this.record(`replace ${routeKey(r)}`);
    this.routes.set(r.dst, { ...r });
  }
  async deleteRoute(r: Route): Promise<void> {
    this.record(`delete ${routeKey(r)}`);
    this.routes.delete(r.dst);
  }
  async syncRules(spec: RuleSpec): Promise<void> {
    this.record(`rules ${spec.clusterCIDR}`);
    this.rules = { ...spec };
  }
  async enableForwarding(): Promise<void> {
    this.record('forwarding');
    this.forwarding = true;
  }
  async cleanup(): Promise<void> {
    this.record('cleanup');
    this.routes.clear();
    this.rules = undefined;
  }
}
