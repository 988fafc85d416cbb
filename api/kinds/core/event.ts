// core/v1 Event (pkg/registry/core/event, printEvent). core/v1 has no SetDefaults_Event.

import type { KubeObject } from '../../types.js';
import { defineKind, entry, fieldString as str } from '../../kind.js';
import { nameCol } from '../../printing.js';

function eventCells(e: KubeObject, since: (t?: string | null) => string): unknown[] {
  const first = e.firstTimestamp ? since(e.firstTimestamp) : since(e.eventTime);
  let last = e.lastTimestamp ? since(e.lastTimestamp) : first;
  let count = e.count || 1;
  if (e.series) {
    last = since(e.series.lastObservedTime);
    count = e.series.count;
  }
  const io = e.involvedObject ?? {};
  const kind = String(io.kind ?? '').toLowerCase();
  const target = io.name ? `${kind}/${io.name}` : kind;
  const component = e.source?.component || e.reportingComponent || '';
  const host = e.source?.host || e.reportingInstance || '';
  const source = host ? `${component}, ${host}` : component;
  return [last, e.type ?? '', e.reason ?? '', target, io.fieldPath ?? '', source, String(e.message ?? '').trim(), first, count, e.metadata.name];
}

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', shortNames: ['ev'], namespaced: true }),
  zeroValue: () => ({ metadata: {}, involvedObject: {}, source: {} }),

  // eventStrategy.AllowCreateOnUpdate: recorders PUT a series' next count.
  strategy: { allowCreateOnUpdate: true },

  printer: {
    columns: [
      ['Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'],
      ['Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future.'],
      ['Reason', 'string', "This should be a short, machine understandable string that gives the reason for this event being generated."],
      ['Object', 'string', 'The object that this event is about.'],
      ['Subobject', 'string', 'The subobject that this event is about.', 1],
      ['Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1],
      ['Message', 'string', 'A human-readable description of the status of this operation.'],
      ['First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1],
      ['Count', 'string', 'The number of times this event has occurred.', 1],
      ['Name', 'string', nameCol[2], 1, 'name']],
    cells: eventCells,
  },

  // event's ToSelectableFields.
  selectableFields: (o) => ({
    'involvedObject.kind': str(o.involvedObject?.kind),
    'involvedObject.namespace': str(o.involvedObject?.namespace),
    'involvedObject.name': str(o.involvedObject?.name),
    'involvedObject.uid': str(o.involvedObject?.uid),
    'involvedObject.apiVersion': str(o.involvedObject?.apiVersion),
    'involvedObject.resourceVersion': str(o.involvedObject?.resourceVersion),
    'involvedObject.fieldPath': str(o.involvedObject?.fieldPath),
    reason: str(o.reason),
    reportingComponent: str(o.reportingComponent),
    source: str(o.source?.component),
    type: str(o.type),
  }),
});
