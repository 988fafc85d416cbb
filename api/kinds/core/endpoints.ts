// core/v1 Endpoints (pkg/registry/core/endpoint, ValidateEndpoints, SetDefaults_EndpointPort, printEndpoints).

import type { EndpointPort, EndpointSubset, KubeObject } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { objects, setIfUnset } from '../../defaults.js';
import { portRange } from '../../schemas/rules.js';
import { age, ageCol, nameCol } from '../../printing.js';

/** formatEndpoints: at most three ip:port pairs, then how many more. */
function formatEndpoints(ep: KubeObject): string {
  const subsets: any[] = ep.subsets ?? [];
  if (!subsets.length) return '<none>';
  const list: string[] = [];
  const max = 3;
  let count = 0;
  for (const ss of subsets) {
    const addrs: any[] = ss.addresses ?? [];
    const ports: any[] = ss.ports?.length ? ss.ports : [undefined];
    for (const port of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) continue;
        list.push(port ? (a.ip.includes(':') ? `[${a.ip}]:${port.port}` : `${a.ip}:${port.port}`) : a.ip);
      }
    }
  }
  const s = list.join(',');
  return count > max ? `${s} + ${count - max} more...` : s;
}

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'Endpoints', listKind: 'EndpointsList', plural: 'endpoints', singular: 'endpoints', shortNames: ['ep'], namespaced: true }),

  defaults(o) {
    for (const s of objects<EndpointSubset>(o.subsets)) for (const p of objects<EndpointPort>(s.ports)) setIfUnset(p, 'protocol', 'TCP');
  },

  validate(obj) {
    const out = [];
    for (const [i, s] of ((obj.subsets ?? []) as { ports?: { port: number }[] }[]).entries()) {
      for (const [j, p] of (s.ports ?? []).entries()) out.push(...portRange(`subsets[${i}].ports[${j}].port`, p.port));
    }
    return out;
  },

  // endpointsStrategy.AllowCreateOnUpdate: the endpoints controller writes with PUT.
  strategy: { allowCreateOnUpdate: true },

  printer: {
    columns: [nameCol, ['Endpoints', 'string', 'Endpoints is the list of endpoints.'], ageCol],
    cells: (e, since) => [e.metadata.name, formatEndpoints(e), age(e, since)],
  },
});
