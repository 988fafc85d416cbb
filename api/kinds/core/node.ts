// core/v1 Node (pkg/registry/core/node, ValidateNode, printNode).

import { defineKind, entry } from '../../kind.js';
import type { KubeObject } from '../../types.js';
import { objectAt } from '../../defaults.js';
import { field } from '../../schemas/rules.js';
import { isQualifiedName } from '../../labels.js';
import { parseQuantity, quantityError } from '../../quantity.js';
import { age, ageCol, nameCol, orNone } from '../../printing.js';

function validateNode(obj: KubeObject) {
  const out = [];
  const seen = new Set<string>();
  for (const [i, t] of ((obj.spec?.taints ?? []) as { key: string; effect: string }[]).entries()) {
    const ke = isQualifiedName(t.key ?? '');
    if (ke.length) out.push(field.invalid(`spec.taints[${i}].key`, t.key, ke.join(', ')));
    const k = `${t.key}:${t.effect}`;
    if (seen.has(k)) out.push(field.duplicate(`spec.taints[${i}]`, k));
    seen.add(k);
  }
  // ValidateNode: every capacity and allocatable is a non-negative quantity (ValidateResourceQuantityValue).
  for (const section of ['capacity', 'allocatable'] as const) {
    for (const [name, q] of Object.entries((obj.status?.[section] ?? {}) as Record<string, string | number>)) {
      // A malformed quantity is the schema's to report; only the sign is a rule.
      if (!quantityError(q) && parseQuantity(q) < 0) out.push(field.invalid(`status.${section}.${name}`, String(q), 'must be greater than or equal to 0'));
    }
  }
  return out;
}

function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].filter(Boolean).sort().join(',') || '<none>';
}

function nodeCells(n: KubeObject, since: (t?: string | null) => string): unknown[] {
  const ready = (n.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (n.spec?.unschedulable) status.push('SchedulingDisabled');
  const info = n.status?.nodeInfo ?? {};
  const addr = (t: string) => orNone((n.status?.addresses ?? []).find((a: any) => a.type === t)?.address);
  return [
    n.metadata.name, status.join(','), nodeRoles(n.metadata.labels), age(n, since), info.kubeletVersion ?? '',
    addr('InternalIP'), addr('ExternalIP'), info.osImage || '<unknown>', info.kernelVersion || '<unknown>', info.containerRuntimeVersion || '<unknown>',
  ];
}

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', singular: 'node', shortNames: ['no'], namespaced: false,
    subresources: ['status', 'proxy'], hasStatus: true }),
  zeroValue: () => ({ metadata: {}, spec: {}, status: { daemonEndpoints: { kubeletEndpoint: {} }, nodeInfo: {} } }),

  // core/v1 has no SetDefaults_Node; the spec only needs to exist.
  defaults: (o) => { objectAt(o, 'spec'); },
  validate: (obj) => validateNode(obj),
  proxyLocation: 'node',

  printer: {
    columns: [nameCol,
      ['Status', 'string', 'The status of the node'],
      ['Roles', 'string', 'The roles of the node'],
      ageCol,
      ['Version', 'string', 'Kubelet Version reported by the node.'],
      ['Internal-IP', 'string', 'List of addresses reachable to the node.', 1],
      ['External-IP', 'string', 'List of addresses reachable to the node.', 1],
      ['OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1],
      ['Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1],
      ['Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1]],
    cells: nodeCells,
  },

  selectableFields: (o) => ({ 'spec.unschedulable': String(o.spec?.unschedulable === true) }),
});
