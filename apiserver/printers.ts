// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for
// (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), with the columns
// kube-apiserver prints for each kind (pkg/printers/internalversion), which
// each kind's module gives (KindDefinition.printer). The server always fills
// the -o wide columns (priority 1); kubectl hides them.

import type { KubeObject } from '../api/types.js';
import { apiVersionOf, kindOf, type Printer, type ResourceInfo } from '../api/kind.js';
import { humanDuration, nameCol } from '../api/printing.js';

export { humanDuration };

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


// Kinds without a printer get upstream's default convertor columns.
const fallback: Printer = {
  columns: [nameCol, ['Created At', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created.']],
  cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
};

function rowObject(r: ResourceInfo, o: KubeObject, include: TableOptions['includeObject']): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return { apiVersion: apiVersionOf(r), kind: r.kind, ...o };
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

/**
 * A kind stored as another version (KindDefinition.storageVersion) without columns of its own prints as
 * its storage version does, on the converted object: kube prints the internal object, whatever the version.
 */
export function printerOf(resource: ResourceInfo): Printer {
  const def = kindOf(resource);
  if (def.printer) return def.printer;
  const conv = def.storageVersion;
  if (conv) {
    const base = printerOf(conv.resource);
    return { columns: base.columns, cells: (o, since) => base.cells(conv.toStorage(o), since) };
  }
  return fallback;
}

export function toTable(resource: ResourceInfo, objects: KubeObject[], listMeta: Table['metadata'], opts: TableOptions = {}): Table {
  const p = printerOf(resource);
  const now = (opts.now ?? new Date()).getTime();
  const since = (t?: string | null) => {
    const ms = t ? Date.parse(t) : NaN;
    return Number.isNaN(ms) ? '<unknown>' : humanDuration(now - ms);
  };
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: opts.noHeaders ? [] : p.columns.map(([name, type, description, priority = 0, format = '']) => ({ name, type, format, description, priority })),
    rows: objects.map((o) => {
      const row: TableRow = { cells: p.cells(o, since) };
      const obj = rowObject(resource, o, include);
      if (obj !== undefined) row.object = obj;
      return row;
    }),
  };
}
