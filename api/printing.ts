// Helpers for kinds' table columns (api/kinds/*), as kube's printers
// (pkg/printers/internalversion) format ages, labels, selectors and lists.

import type { KubeObject } from './types.js';
import type { Column as Col, Since } from './kind.js';
import { selectorFromLabelSelector } from './labels.js';

/** duration.HumanDuration: "5s", "3m2s", "2d". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export const nameCol: Col = ['Name', 'string', 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names', 0, 'name'];
export const ageCol: Col = ['Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata'];
export const orNone = (s: string | undefined | null) => (s ? s : '<none>');
export const age = (o: KubeObject, since: Since) => since(o.metadata.creationTimestamp);

export const formatLabels = (m: Record<string, string> | undefined) => {
  const s = Object.keys(m ?? {}).sort().map((k) => `${k}=${m![k]}`).join(',');
  return s || '<none>';
};

/** listWithMoreString: at most three, then "+ N more...", and "<unset>" for none. */
export function listWithMore(all: string[]): string {
  const max = 3;
  const s = all.slice(0, max).join(',');
  if (all.length > max) return `${s} + ${all.length - max} more...`;
  return s || '<unset>';
}

/** The -o wide columns of a kind with a pod template (Deployment, ReplicaSet, DaemonSet, ...). */
export const containerCols: Col[] = [
  ['Containers', 'string', 'Names of each container in the template.', 1],
  ['Images', 'string', 'Images referenced by each container in the template.', 1],
  ['Selector', 'string', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', 1],
];

export function containerCells(o: KubeObject): unknown[] {
  const cs: { name: string; image?: string }[] = o.spec?.template?.spec?.containers ?? [];
  let selector: string;
  try {
    selector = selectorFromLabelSelector(o.spec?.selector).toString();
  } catch (e) {
    selector = (e as Error).message;
  }
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(','), selector];
}
