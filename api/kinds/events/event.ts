// events.k8s.io/v1 Event: the same stored object as a core v1 Event
// (/registry/events), served in the newer shape (pkg/apis/events/v1/
// conversion.go: note <-> message, regarding <-> involvedObject,
// reportingController <-> reportingComponent, deprecatedSource <-> source,
// deprecatedFirstTimestamp/LastTimestamp/Count <-> firstTimestamp/...).
// Validation is kube's ValidateEventCreate for the events.k8s.io group;
// the table is the core Event's (kube prints the internal object).

import { defineKind, entry, fieldString as str } from '../../kind.js';
import type { KubeObject, StatusCause } from '../../types.js';
import { field } from '../../schemas/rules.js';
import coreEventKind from '../core/event.js';

type Obj = Record<string, any>;

/** Where events.k8s.io Events are stored: the core v1 Event (its storage prefix, and its table columns). */
const coreEvent = coreEventKind.resource;

// Fields with the same name and meaning in both shapes.
const shared = ['eventTime', 'series', 'action', 'reason', 'related', 'reportingInstance', 'type'] as const;
// events.k8s.io name -> core v1 name.
const renamed: [string, string][] = [
  ['note', 'message'], ['regarding', 'involvedObject'], ['reportingController', 'reportingComponent'], ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'], ['deprecatedLastTimestamp', 'lastTimestamp'], ['deprecatedCount', 'count'],
];

const present = (v: unknown) => v !== undefined && v !== null;

/** An events.k8s.io/v1 Event as stored (core v1). */
export function eventsV1ToCore(src: KubeObject): KubeObject {
  const out: Obj = { kind: 'Event', apiVersion: 'v1', metadata: structuredClone(src.metadata) };
  for (const k of shared) if (present(src[k])) out[k] = structuredClone(src[k]);
  for (const [from, to] of renamed) if (present(src[from])) out[to] = structuredClone(src[from]);
  // Core v1 requires involvedObject (a struct, never absent on the wire).
  out.involvedObject ??= {};
  return out as KubeObject;
}

/** A stored (core v1) Event as events.k8s.io/v1 serves it. */
export function coreToEventsV1(src: KubeObject): KubeObject {
  const out: Obj = { kind: 'Event', apiVersion: 'events.k8s.io/v1', metadata: structuredClone(src.metadata) };
  for (const k of shared) if (present(src[k])) out[k] = structuredClone(src[k]);
  for (const [to, from] of renamed) if (present(src[from])) out[to] = structuredClone(src[from]);
  // events.k8s.io/v1's eventTime is required (not omitempty): an old-style event serves it as null.
  if (!present(out.eventTime)) out.eventTime = null;
  return out as KubeObject;
}

const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function qualifiedNameErrors(v: string): string[] {
  const parts = v.split('/');
  let name = v;
  const out: string[] = [];
  if (parts.length > 2) return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (!prefix) out.push('prefix part must be non-empty');
    else if (!dnsSubdomain.test(prefix) || prefix.length > 253) out.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  if (!name) out.push('name part must be non-empty');
  else {
    if (name.length > 63) out.push('name part must be no more than 63 characters');
    if (!qualifiedName.test(name)) out.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  }
  return out;
}

/** ValidateEventCreate for events.k8s.io/v1 (validateV1EventSeries and the required reporting fields). */
export function validateEventsV1(e: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  if (!present(e.eventTime)) out.push(field.required('eventTime'));
  if (e.type !== 'Normal' && e.type !== 'Warning') out.push(field.invalid('type', '', `has invalid value: ${e.type ?? ''}`));
  if (present(e.deprecatedFirstTimestamp)) out.push(field.invalid('deprecatedFirstTimestamp', '', 'needs to be unset'));
  if (present(e.deprecatedLastTimestamp)) out.push(field.invalid('deprecatedLastTimestamp', '', 'needs to be unset'));
  if (present(e.deprecatedCount) && e.deprecatedCount !== 0) out.push(field.invalid('deprecatedCount', '', 'needs to be unset'));
  if (e.deprecatedSource?.component || e.deprecatedSource?.host) out.push(field.invalid('deprecatedSource', '', 'needs to be unset'));
  const series = e.series as Obj | undefined;
  if (present(series)) {
    if (!(series!.count >= 2)) out.push(field.invalid('series.count', '', `should be at least 2`));
    if (!present(series!.lastObservedTime)) out.push(field.required('series.lastObservedTime'));
  }
  if (!e.reportingController) out.push(field.required('reportingController'));
  else for (const m of qualifiedNameErrors(e.reportingController)) out.push(field.invalid('reportingController', e.reportingController, m));
  if (!e.reportingInstance) out.push(field.required('reportingInstance'));
  else if (e.reportingInstance.length > 128) out.push(field.invalid('reportingInstance', '', 'can have at most 128 characters'));
  if (!e.action) out.push(field.required('action'));
  else if (e.action.length > 128) out.push(field.invalid('action', '', 'can have at most 128 characters'));
  if (!e.reason) out.push(field.required('reason'));
  else if (e.reason.length > 128) out.push(field.invalid('reason', '', 'can have at most 128 characters'));
  if (typeof e.note === 'string' && e.note.length > 1024) out.push(field.invalid('note', '', 'can have at most 1024 characters'));
  return out;
}

export default defineKind({
  resource: entry({ group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', shortNames: ['ev'], namespaced: true }),
  validate: (e, { old }) => (old ? [] : validateEventsV1(e)),
  // eventStrategy: a PUT may create (recorders update-or-create series).
  strategy: { allowCreateOnUpdate: true },
  storageVersion: { resource: coreEvent, toStorage: eventsV1ToCore, fromStorage: coreToEventsV1 },
  // AddFieldLabelConversionsForEvent: this version's names for the core Event's selectable fields (no source).
  selectableFields: (e) => ({
    ...Object.fromEntries(['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((k) => [`regarding.${k}`, str((e.regarding as Obj | undefined)?.[k])])),
    reason: str(e.reason),
    reportingController: str(e.reportingController),
    type: str(e.type),
  }),
});
