// discovery.k8s.io/v1 EndpointSlice (pkg/registry/discovery/endpointslice, pkg/apis/discovery/validation,
// SetDefaults_EndpointPort, printEndpointSlice).

import net from 'node:net';
import type { KubeObject, SlicePort, StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { fieldCause } from '../../errors.js';
import { objects, setIfUnset } from '../../defaults.js';
import { isDNS1123Subdomain, isQualifiedName } from '../../labels.js';
import { checkName, field, isDNS1123Label } from '../../schemas/rules.js';
import { age, ageCol, listWithMore, nameCol } from '../../printing.js';

const tooMany = (path: string, actual: number, max: number) => fieldCause(path, 'FieldValueTooMany', `Too many: ${actual}: must have at most ${max} items`);

/** IsFullyQualifiedDomainName: a DNS-1123 subdomain of at least two labels, a trailing dot allowed. */
function fqdnCauses(path: string, v: string): StatusCause[] {
  if (!v) return [field.required(path)];
  const name = v.endsWith('.') ? v.slice(0, -1) : v;
  const sub = isDNS1123Subdomain(name);
  if (sub.length) return [field.invalid(path, name, sub.join(','))];
  const labels = name.split('.');
  if (labels.length < 2) return [field.invalid(path, name, 'should be a domain with at least two segments separated by dots')];
  for (const l of labels) {
    const le = isDNS1123Label(l);
    if (le.length) return [field.invalid(path, l, le.join(','))];
  }
  return [];
}

/** ValidateEndpointSlice(Create|Update). */
function validateEndpointSlice(obj: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const type: string = obj.addressType;
  const endpoints: { addresses?: string[]; hostname?: string; nodeName?: string }[] = obj.endpoints ?? [];
  if (endpoints.length > 1000) out.push(tooMany('endpoints', endpoints.length, 1000));
  else {
    endpoints.forEach((e, i) => {
      const f = `endpoints[${i}]`;
      const addrs = e.addresses ?? [];
      if (!addrs.length) out.push(field.required(`${f}.addresses`, 'must contain at least 1 address'));
      else if (addrs.length > 100) out.push(tooMany(`${f}.addresses`, addrs.length, 100));
      addrs.forEach((a, j) => {
        const af = `${f}.addresses[${j}]`;
        // Skiff does not apply upstream's ValidateNonSpecialIP: its own API server's endpoint is loopback.
        if (type === 'IPv4' && !net.isIPv4(a)) out.push(field.invalid(af, a, 'must be a valid IPv4 address'));
        else if (type === 'IPv6' && !net.isIPv6(a)) out.push(field.invalid(af, a, 'must be a valid IPv6 address'));
        else if (type === 'FQDN') out.push(...fqdnCauses(af, a));
      });
      if (e.nodeName !== undefined) {
        for (const msg of isDNS1123Subdomain(e.nodeName)) out.push(field.invalid(`${f}.nodeName`, e.nodeName, msg));
      }
      if (e.hostname !== undefined) out.push(...checkName(`${f}.hostname`, e.hostname, isDNS1123Label));
    });
  }
  const ports: { name?: string; appProtocol?: string }[] = obj.ports ?? [];
  if (ports.length > 100) out.push(tooMany('ports', ports.length, 100));
  else {
    const names = new Set<string>();
    ports.forEach((p, i) => {
      const f = `ports[${i}]`;
      const name = p.name ?? '';
      if (name) out.push(...checkName(`${f}.name`, name, isDNS1123Label));
      if (names.has(name)) out.push(field.duplicate(`${f}.name`, name));
      names.add(name);
      if (p.appProtocol !== undefined) {
        for (const msg of isQualifiedName(p.appProtocol)) out.push(field.invalid(`${f}.appProtocol`, p.appProtocol, msg));
      }
    });
  }
  if (old && old.addressType !== obj.addressType) out.push(field.invalid('addressType', obj.addressType, 'field is immutable'));
  return out;
}

export default defineKind({
  resource: entry({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', singular: 'endpointslice', namespaced: true }),

  // SetDefaults_EndpointPort; endpoints is not omitempty, so an absent list is Go's nil and reads as null.
  defaults(o) {
    if (o.endpoints === undefined) o.endpoints = null;
    for (const p of objects<SlicePort>(o.ports)) {
      setIfUnset(p, 'name', '');
      setIfUnset(p, 'protocol', 'TCP');
    }
  },

  validate: (obj, { old }) => validateEndpointSlice(obj, old),

  // endpointSliceStrategy bumps generation on any change outside metadata, and on labels
  // (the service-name label moves a slice between Services); the controller's tracker reads it.
  strategy: { tracksGeneration: true, generationIncludesLabels: true },

  printer: {
    columns: [nameCol,
      ['AddressType', 'string', 'Type of address carried by this EndpointSlice'],
      ['Ports', 'string', 'Ports allowed by this EndpointSlice'],
      ['Endpoints', 'string', 'Endpoints included in this EndpointSlice'],
      ageCol],
    cells: (e, since) => [
      e.metadata.name, e.addressType ?? '',
      listWithMore((e.ports ?? []).map((p: any) => (p.port != null ? String(p.port) : p.name != null ? p.name : '*'))),
      listWithMore((e.endpoints ?? []).flatMap((x: any) => x.addresses ?? [])),
      age(e, since),
    ],
  },
});
