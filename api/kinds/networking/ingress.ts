// networking.k8s.io/v1 Ingress: HTTP routes to Services
// (pkg/registry/networking/ingress, pkg/apis/networking/validation
// ValidateIngressCreate/Update, printIngress).

import net from 'node:net';
import type { StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { field } from '../../schemas/rules.js';
import { isDNS1123Subdomain } from '../../labels.js';
import { validateIngressBackend } from './shared.js';

const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];
const invalidPathSequences = ['//', '/./', '/../', '%2f', '%2F'];
const invalidPathSuffixes = ['/..', '/.'];
const wildcardFmt = /^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** validation.IsWildcardDNS1123Subdomain. */
function isWildcardDNS1123Subdomain(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push('must be no more than 253 characters');
  if (!wildcardFmt.test(v)) out.push("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  return out;
}

function validateHost(host: string, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (net.isIP(host)) out.push(field.invalid(path, host, 'must be a DNS name, not an IP address'));
  const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
  for (const msg of msgs) out.push(field.invalid(path, host, msg));
  return out;
}

/** validateHTTPIngressPath. */
function validatePath(p: any, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const value: string = p?.path ?? '';
  if (p?.pathType === undefined || p?.pathType === null) {
    out.push(field.required(`${path}.pathType`, 'pathType must be specified'));
  } else if (p.pathType === 'Exact' || p.pathType === 'Prefix') {
    if (!value.startsWith('/')) out.push(field.invalid(`${path}.path`, value, 'must be an absolute path'));
    if (value.length > 0) {
      for (const seq of invalidPathSequences) if (value.includes(seq)) out.push(field.invalid(`${path}.path`, value, `must not contain '${seq}'`));
      for (const suffix of invalidPathSuffixes) if (value.endsWith(suffix)) out.push(field.invalid(`${path}.path`, value, `must not end with '${suffix}'`));
    }
  } else if (p.pathType === 'ImplementationSpecific') {
    if (value.length > 0 && !value.startsWith('/')) out.push(field.invalid(`${path}.path`, value, 'must be an absolute path'));
  } else {
    out.push(field.notSupported(`${path}.pathType`, p.pathType, pathTypes));
  }
  out.push(...validateIngressBackend(p?.backend, `${path}.backend`));
  return out;
}

/** ValidateIngressSpec. */
function validateIngressSpec(spec: any): StatusCause[] {
  const out: StatusCause[] = [];
  const rules: any[] = Array.isArray(spec?.rules) ? spec.rules : [];
  if (rules.length === 0 && !spec?.defaultBackend) {
    out.push(field.invalid('spec', spec?.rules ?? null, 'either `defaultBackend` or `rules` must be specified'));
  }
  if (spec?.defaultBackend) out.push(...validateIngressBackend(spec.defaultBackend, 'spec.defaultBackend'));
  rules.forEach((rule, i) => {
    const p = `spec.rules[${i}]`;
    if (rule?.host) out.push(...validateHost(rule.host, `${p}.host`));
    if (rule?.http) {
      const paths: any[] = Array.isArray(rule.http.paths) ? rule.http.paths : [];
      if (paths.length === 0) out.push(field.required(`${p}.http.paths`, ''));
      paths.forEach((x, j) => out.push(...validatePath(x, `${p}.http.paths[${j}]`)));
    }
  });
  (Array.isArray(spec?.tls) ? spec.tls : []).forEach((t: any, i: number) => {
    (Array.isArray(t?.hosts) ? t.hosts : []).forEach((h: string, j: number) => {
      const msgs = h.includes('*') ? isWildcardDNS1123Subdomain(h) : isDNS1123Subdomain(h);
      for (const msg of msgs) out.push(field.invalid(`spec.tls[${i}].hosts[${j}]`, h, msg));
    });
  });
  if (spec?.ingressClassName !== undefined && spec?.ingressClassName !== null) {
    for (const msg of isDNS1123Subdomain(spec.ingressClassName)) out.push(field.invalid('spec.ingressClassName', spec.ingressClassName, msg));
  }
  return out;
}

/** formatHosts: up to three hosts, "*" for none. */
function formatHosts(rules: any[] | undefined): string {
  const all = rules ?? [];
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const r of all) {
    if (list.length === max) more = true;
    if (!more && r?.host) list.push(r.host);
  }
  if (list.length === 0) return '*';
  return more ? `${list.join(',')} + ${all.length - max} more...` : list.join(',');
}

export default defineKind({
  resource: entry({ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', singular: 'ingress', shortNames: ['ing'], namespaced: true, subresources: ['status'], hasStatus: true }),

  validate(ing, { subresource }) {
    // A status write is checked for its load balancer only (ValidateIngressStatusUpdate), which the schema covers.
    if (subresource === 'status') return [];
    return validateIngressSpec(ing.spec);
  },

  strategy: { tracksGeneration: true, prepareForCreate: (ing) => { ing.status = {}; } },

  // printIngress (the server prints wide, so the address is never cut).
  printer: {
    columns: [nameCol,
      ['Class', 'string', 'The name of the IngressClass resource that should be used for ingress.'],
      ['Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'],
      ['Address', 'string', 'Address is a list containing ingress points for the load-balancer'],
      ['Ports', 'string', 'Ports of TLS configurations that open'],
      ageCol],
    cells: (ing, since) => [
      ing.metadata.name,
      ing.spec?.ingressClassName ?? '<none>',
      formatHosts(ing.spec?.rules),
      ((ing.status?.loadBalancer?.ingress ?? []) as { ip?: string; hostname?: string }[]).map((x) => x.ip || x.hostname).filter(Boolean).join(','),
      Array.isArray(ing.spec?.tls) && ing.spec.tls.length ? '80, 443' : '80',
      since(ing.metadata.creationTimestamp)],
  },
});
