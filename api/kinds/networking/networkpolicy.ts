// networking.k8s.io/v1 NetworkPolicy: which traffic selected pods admit
// (pkg/registry/networking/networkpolicy, ValidateNetworkPolicy,
// SetDefaults_NetworkPolicy, printNetworkPolicy). Skiff stores and serves
// them; enforcing them is a network plugin's job, as in kube.

import net from 'node:net';
import type { StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { field } from '../../schemas/rules.js';
import { formatLabelSelector } from '../../labels.js';
import { isValidPortName, isValidPortNum } from './shared.js';

const protocols = ['SCTP', 'TCP', 'UDP'];
const policyTypes = ['Egress', 'Ingress'];

function validCIDR(v: string): boolean {
  const [ip, bits, ...rest] = v.split('/');
  if (rest.length || bits === undefined || !/^\d+$/.test(bits)) return false;
  const family = net.isIP(ip!);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

function validatePort(port: any, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (port?.protocol !== undefined && port?.protocol !== null && !protocols.includes(port.protocol)) out.push(field.notSupported(`${path}.protocol`, port.protocol, protocols));
  const p = port?.port;
  if (typeof p === 'number') {
    for (const msg of isValidPortNum(p)) out.push(field.invalid(`${path}.port`, p, msg));
    if (typeof port.endPort === 'number' && port.endPort < p) out.push(field.invalid(`${path}.endPort`, port.endPort, 'must be greater than or equal to `port`'));
  } else if (typeof p === 'string') {
    if (port.endPort !== undefined && port.endPort !== null) out.push(field.forbidden(`${path}.endPort`, 'may not be specified when `port` is non-numeric'));
    for (const msg of isValidPortName(p)) out.push(field.invalid(`${path}.port`, p, msg));
  } else if (port?.endPort !== undefined && port?.endPort !== null) {
    out.push(field.required(`${path}.port`, 'must be specified when endPort is specified'));
  }
  return out;
}

function validatePeer(peer: any, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  let n = 0;
  if (peer?.podSelector) n++;
  if (peer?.namespaceSelector) n++;
  if (peer?.ipBlock) {
    n++;
    const cidr = peer.ipBlock.cidr;
    if (!cidr) out.push(field.required(`${path}.ipBlock.cidr`, ''));
    else if (!validCIDR(cidr)) out.push(field.invalid(`${path}.ipBlock.cidr`, cidr, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
    (Array.isArray(peer.ipBlock.except) ? peer.ipBlock.except : []).forEach((e: string, i: number) => {
      if (!validCIDR(e)) out.push(field.invalid(`${path}.ipBlock.except[${i}]`, e, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
    });
  }
  if (n === 0) out.push(field.required(path, 'must specify a peer'));
  else if (n > 1 && peer.ipBlock) out.push(field.forbidden(path, 'may not specify both ipBlock and another peer'));
  return out;
}

function validateSpec(spec: any): StatusCause[] {
  const out: StatusCause[] = [];
  for (const [dir, peers] of [['ingress', 'from'], ['egress', 'to']] as const) {
    (Array.isArray(spec?.[dir]) ? spec[dir] : []).forEach((rule: any, i: number) => {
      const p = `spec.${dir}[${i}]`;
      (Array.isArray(rule?.ports) ? rule.ports : []).forEach((port: any, j: number) => out.push(...validatePort(port, `${p}.ports[${j}]`)));
      (Array.isArray(rule?.[peers]) ? rule[peers] : []).forEach((peer: any, j: number) => out.push(...validatePeer(peer, `${p}.${peers}[${j}]`)));
    });
  }
  const types: unknown[] = Array.isArray(spec?.policyTypes) ? spec.policyTypes : [];
  types.forEach((t, i) => {
    if (!policyTypes.includes(t as string)) out.push(field.notSupported(`spec.policyTypes[${i}]`, t, policyTypes));
  });
  if (types.length > 2) out.push(field.invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
  return out;
}

export default defineKind({
  resource: entry({ group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', singular: 'networkpolicy', shortNames: ['netpol'], namespaced: true }),

  // SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort.
  defaults(np) {
    const spec = np.spec;
    if (!spec || typeof spec !== 'object') return;
    for (const dir of ['ingress', 'egress']) {
      if (!Array.isArray(spec[dir])) continue;
      for (const rule of spec[dir]) {
        if (!rule || !Array.isArray(rule.ports)) continue;
        for (const port of rule.ports) if (port && typeof port === 'object' && (port.protocol === undefined || port.protocol === null)) port.protocol = 'TCP';
      }
    }
    if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
      spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length ? ['Ingress', 'Egress'] : ['Ingress'];
    }
  },

  validate: (np) => validateSpec(np.spec),

  strategy: { tracksGeneration: true },

  // printNetworkPolicy.
  printer: {
    columns: [nameCol,
      ['Pod-Selector', 'string', "podSelector selects the pods to which this NetworkPolicy object applies. The array of rules is applied to any pods selected by this field. An empty selector matches all pods in the policy's namespace. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is optional. If it is not specified, it defaults to an empty podSelector."],
      ageCol],
    cells: (np, since) => [np.metadata.name, formatLabelSelector(np.spec?.podSelector ?? {}), since(np.metadata.creationTimestamp)],
  },
});
