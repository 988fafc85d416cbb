// networking.k8s.io/v1 IngressClass: which controller implements a class of
// Ingresses (pkg/registry/networking/ingressclass, ValidateIngressClass/Update,
// SetDefaults_IngressClass, printIngressClass).

import type { StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { field } from '../../schemas/rules.js';
import { isDNS1123Subdomain } from '../../labels.js';
import { fieldCause } from '../../errors.js';

const maxControllerLength = 250;
const scopes = ['Cluster', 'Namespace'];

/** validation.IsDomainPrefixedPath. */
function validateDomainPrefixedPath(path: string, v: string): StatusCause[] {
  if (!v) return [field.required(path, '')];
  const slash = v.indexOf('/');
  if (slash < 0) return [field.invalid(path, v, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  const host = v.slice(0, slash);
  const rest = v.slice(slash + 1);
  const out = isDNS1123Subdomain(host).map((msg) => field.invalid(path, host, msg));
  if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(rest)) out.push(field.invalid(path, rest, 'must be a valid path'));
  return out;
}

function validateSpec(spec: any): StatusCause[] {
  const out: StatusCause[] = [];
  const controller: string = spec?.controller ?? '';
  if (controller.length > maxControllerLength) out.push(fieldCause('spec.controller', 'FieldValueTooLong', `Too long: may not be more than ${maxControllerLength} bytes`));
  out.push(...validateDomainPrefixedPath('spec.controller', controller));
  const params = spec?.parameters;
  if (params) {
    // validateIngressClassParametersReference.
    const p = 'spec.parameters';
    if (!params.kind) out.push(field.required(`${p}.kind`, 'kind is required'));
    if (!params.name) out.push(field.required(`${p}.name`, 'name is required'));
    if (params.scope === undefined || params.scope === null) out.push(field.required(`${p}.scope`, ''));
    else if (!scopes.includes(params.scope)) out.push(field.notSupported(`${p}.scope`, params.scope, scopes));
    else if (params.scope === 'Namespace' && !params.namespace) out.push(field.required(`${p}.namespace`, "`parameters.scope` is set to 'Namespace'"));
    else if (params.scope === 'Cluster' && params.namespace) out.push(field.forbidden(`${p}.namespace`, "`parameters.scope` is set to 'Cluster'"));
  }
  return out;
}

export default defineKind({
  resource: entry({ group: 'networking.k8s.io', version: 'v1', kind: 'IngressClass', plural: 'ingressclasses', singular: 'ingressclass', namespaced: false }),

  // SetDefaults_IngressClass.
  defaults(ic) {
    const params = ic.spec?.parameters;
    if (params && typeof params === 'object' && (params.scope === undefined || params.scope === null)) params.scope = 'Cluster';
  },

  validate(ic, { old }) {
    const out = validateSpec(ic.spec);
    if (old && ic.spec?.controller !== old.spec?.controller) out.push(field.invalid('spec.controller', ic.spec?.controller, 'field is immutable'));
    return out;
  },

  strategy: { tracksGeneration: true },

  // printIngressClass.
  printer: {
    columns: [nameCol,
      ['Controller', 'string', 'Controller that is responsible for handling this class'],
      ['Parameters', 'string', 'A reference to a resource with additional parameters'],
      ageCol],
    cells: (ic, since) => {
      const p = ic.spec?.parameters;
      const parameters = p ? `${p.kind}${p.apiGroup ? `.${p.apiGroup}` : ''}/${p.name}` : '<none>';
      return [ic.metadata.name, ic.spec?.controller ?? '', parameters, since(ic.metadata.creationTimestamp)];
    },
  },
});
