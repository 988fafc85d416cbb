// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for
// (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), with the columns
// kube-apiserver prints for each kind (pkg/printers/internalversion).

import type { KubeObject } from '../api/types.js';
import type { ResourceInfo } from '../api/resources.js';

export interface TableColumnDefinition { name: string; type: string; format: string; description: string; priority: number }
export interface TableRow { cells: unknown[]; object?: unknown }
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface TableOptions {
  /** ?includeObject=None|Metadata|Object (kubectl asks for Object, default Metadata). */
  includeObject?: 'None' | 'Metadata' | 'Object';
  /** Omit columnDefinitions (watch events after the first, ?noHeaders). */
  noHeaders?: boolean;
  now?: Date;
}

export function toTable(resource: ResourceInfo, objects: KubeObject[], listMeta: Table['metadata'], opts: TableOptions = {}): Table {
  throw new Error('TODO: implemented by the api/ helper');
}
