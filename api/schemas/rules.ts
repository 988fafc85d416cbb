// The checks kube-apiserver makes beyond the shape of an object that more
// than one kind shares (pkg/apis/*/validation: ValidateObjectMeta,
// ValidatePodSpec, the workloads' selector and template, ...), with
// upstream's field paths and messages; a kind's own rules live in its module
// (api/kinds/<group>/<kind>.ts, KindDefinition.validate). Each function
// returns StatusCauses; none throws.

import { isDeepStrictEqual } from 'node:util';
import type { Container, KubeObject, LabelSelector, PodSpec, Probe, StatusCause } from '../types.js';
import { kindOf, type ResourceInfo } from '../kind.js';
import { fieldCause } from '../errors.js';
import { isDNS1123Subdomain, isQualifiedName, isValidLabelValue, selectorFromLabelSelector } from '../labels.js';
import { parseQuantity, quantityError } from '../quantity.js';
import { validateEphemeralOnly } from './ephemeral.js';

type Causes = StatusCause[];

/** A value as Go's %#v shows it in field.Invalid messages. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) {
    return v.every((x) => typeof x === 'string') ? `[]string{${v.map((x) => JSON.stringify(x)).join(', ')}}` : JSON.stringify(v);
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.every(([, x]) => typeof x === 'string')) {
    return `map[string]string{${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

const invalid = (field: string, value: unknown, detail: string) => fieldCause(field, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${detail}`);
const required = (field: string, detail?: string) => fieldCause(field, 'FieldValueRequired', detail ? `Required value: ${detail}` : 'Required value');
const forbidden = (field: string, detail: string) => fieldCause(field, 'FieldValueForbidden', `Forbidden: ${detail}`);
const duplicate = (field: string, value: unknown) => fieldCause(field, 'FieldValueDuplicate', `Duplicate value: ${formatValue(value)}`);
const notSupported = (field: string, value: unknown, allowed: string[]) =>
  fieldCause(field, 'FieldValueNotSupported', `Unsupported value: ${formatValue(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);

/** kube's field.Invalid, Required, Forbidden, Duplicate, NotSupported, for kinds' own rules (api/kinds). */
export const field = { invalid, required, forbidden, duplicate, notSupported };

// ---- names ----

const dns1123LabelFmt = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1035LabelFmt = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push('must be no more than 63 characters');
  if (!dns1123LabelFmt.test(v)) errs.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push('must be no more than 63 characters');
  if (!dns1035LabelFmt.test(v)) errs.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
  return errs;
}

/** IsValidPathSegmentName (apimachinery/pkg/api/validation/path). */
export function isValidPathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const errs: string[] = [];
  if (name.includes('/')) errs.push("may not contain '/'");
  if (name.includes('%')) errs.push("may not contain '%'");
  return errs;
}

/** A name checked by an IsDNS1123Label-style rule, as one field.Invalid joining its messages. */
export function checkName(field: string, v: string, check: (v: string) => string[]): Causes {
  const errs = check(v);
  return errs.length ? [invalid(field, v, errs.join(', '))] : [];
}

export function validateLabels(labels: Record<string, string> | undefined, field: string): Causes {
  const out: Causes = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    const ke = isQualifiedName(k);
    if (ke.length) out.push(invalid(field, k, ke.join(', ')));
    const ve = isValidLabelValue(v ?? '');
    if (ve.length) out.push(invalid(field, v, ve.join(', ')));
  }
  return out;
}

function validateMeta(r: ResourceInfo, obj: KubeObject, old?: KubeObject): Causes {
  const out: Causes = [];
  const m = obj.metadata ?? {};
  if (!m.name && !m.generateName) out.push(required('metadata.name', 'name or generateName is required'));
  if (m.name) out.push(...checkName('metadata.name', m.name, kindOf(r).nameRule ?? isDNS1123Subdomain));
  if (r.namespaced && !m.namespace) out.push(required('metadata.namespace'));
  if (m.namespace && r.namespaced) out.push(...checkName('metadata.namespace', m.namespace, isDNS1123Label));
  out.push(...validateLabels(m.labels, 'metadata.labels'));
  out.push(...validateAnnotations(m.annotations, 'metadata.annotations'));
  out.push(...validateOwnerReferences(m.ownerReferences, 'metadata.ownerReferences'));
  out.push(...validateFinalizers(m.finalizers, 'metadata.finalizers'));
  if (old && old.metadata.uid && m.uid && m.uid !== old.metadata.uid) out.push(invalid('metadata.uid', m.uid, 'field is immutable'));
  return out;
}

/** apimachinery's TotalAnnotationSizeLimitB: keys and values together. */
export const maxAnnotationsBytes = 256 * 1024;

/** ValidateAnnotations: keys are qualified names (case aside), and all of them with their values fit in 256 KiB. */
export function validateAnnotations(annotations: Record<string, string> | undefined, field: string): Causes {
  const out: Causes = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const msg of isQualifiedName(k.toLowerCase())) out.push(invalid(field, k, msg));
    total += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : '');
  }
  // The value is not shown: it would be the whole 256 KiB.
  if (total > maxAnnotationsBytes) out.push(tooLong(field, maxAnnotationsBytes));
  return out;
}

/** field.TooLong as kube 1.32 words it; the value is never echoed. */
export const tooLong = (field: string, max: number) => fieldCause(field, 'FieldValueTooLong', `Too long: may not be more than ${max} bytes`);

/** ValidateOwnerReferences: each names its owner fully, Events own nothing, and at most one is the controller. */
function validateOwnerReferences(refs: { apiVersion?: string; kind?: string; name?: string; uid?: string; controller?: boolean }[] | undefined, field: string): Causes {
  const out: Causes = [];
  let controller = '';
  for (const ref of refs ?? []) {
    const version = (ref.apiVersion ?? '').split('/').pop() ?? '';
    if (!version) out.push(invalid(`${field}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) out.push(invalid(`${field}.kind`, ref.kind ?? '', 'must not be empty'));
    if (!ref.name) out.push(invalid(`${field}.name`, ref.name ?? '', 'must not be empty'));
    if (!ref.uid) out.push(invalid(`${field}.uid`, ref.uid ?? '', 'must not be empty'));
    if (ref.apiVersion === 'v1' && ref.kind === 'Event') out.push(invalid(field, ref, '/v1, Kind=Event is disallowed from being an owner'));
    if (ref.controller) {
      const name = `${ref.kind ?? ''}/${ref.name ?? ''}`;
      if (controller) out.push(invalid(field, refs, `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${name}`));
      else controller = name;
    }
  }
  return out;
}

/** ValidateFinalizers: qualified names, and not both orphan and foregroundDeletion. */
function validateFinalizers(finalizers: string[] | undefined, field: string): Causes {
  const out: Causes = [];
  for (const f of finalizers ?? []) {
    // A null item is Go's "" (the rules see nulls in lists as empty objects).
    const name = typeof f === 'string' ? f : '';
    for (const msg of isQualifiedName(name)) out.push(invalid(field, name, msg));
  }
  if (finalizers?.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    out.push(invalid(field, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return out;
}

// ---- pods ----

export function portRange(field: string, v: number | undefined): Causes {
  return v !== undefined && (v < 1 || v > 65535) ? [invalid(field, v, 'must be between 1 and 65535, inclusive')] : [];
}

/** ValidateResourceRequirements: valid, non-negative quantities, and no request above its limit. */
function validateResources(res: Container['resources'], field: string): Causes {
  const out: Causes = [];
  const parsed: Record<'limits' | 'requests', Record<string, number>> = { limits: {}, requests: {} };
  for (const section of ['limits', 'requests'] as const) {
    for (const [name, q] of Object.entries(res?.[section] ?? {})) {
      const p = `${field}.${section}[${name}]`;
      const bad = quantityError(q);
      if (bad) {
        out.push(invalid(p, q, bad));
        continue;
      }
      const n = parseQuantity(q);
      if (n < 0) out.push(invalid(p, q, 'must be greater than or equal to 0'));
      parsed[section][name] = n;
    }
  }
  for (const [name, n] of Object.entries(parsed.requests)) {
    const limit = parsed.limits[name];
    if (limit !== undefined && n > limit) {
      out.push(invalid(`${field}.requests[${name}]`, String(res!.requests![name]), `must be less than or equal to ${name} limit of ${res!.limits![name]}`));
    }
  }
  return out;
}

/** validateProbe: counts and durations are never negative (kube's defaults fill in zeros); a probe's own grace period is positive. */
function validateProbe(p: Probe | undefined, field: string): Causes {
  if (!p) return [];
  const out: Causes = [];
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    const v = p[k];
    if (typeof v === 'number' && v < 0) out.push(invalid(`${field}.${k}`, v, 'must be greater than or equal to 0'));
  }
  if (typeof p.terminationGracePeriodSeconds === 'number' && p.terminationGracePeriodSeconds <= 0) {
    out.push(invalid(`${field}.terminationGracePeriodSeconds`, p.terminationGracePeriodSeconds, 'must be greater than 0'));
  }
  return out;
}

// kube 1.32 validates names with RelaxedEnvironmentVariableValidation (beta, on): any printable ASCII but '='.
const envNameMessage = "a valid environment variable name must consist only of printable ASCII characters other than '='";
const envName = /^[\x20-\x3c\x3e-\x7e]+$/;

function validateEnv(c: Container, p: string): Causes {
  const out: Causes = [];
  (c.env ?? []).forEach((e, j) => {
    const f = `${p}.env[${j}].name`;
    if (!e.name) out.push(required(f));
    else if (!envName.test(e.name)) out.push(invalid(f, e.name, envNameMessage));
  });
  (c.envFrom ?? []).forEach((e, j) => {
    if (e.prefix && !envName.test(e.prefix)) out.push(invalid(`${p}.envFrom[${j}].prefix`, e.prefix, envNameMessage));
  });
  return out;
}

function validateContainers(containers: Container[] | undefined, field: string, names: Set<string>, volumes: Set<string>): Causes {
  const out: Causes = [];
  (containers ?? []).forEach((c, i) => {
    const p = `${field}[${i}]`;
    if (!c.name) out.push(required(`${p}.name`));
    else {
      out.push(...checkName(`${p}.name`, c.name, isDNS1123Label));
      if (names.has(c.name)) out.push(duplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image || !c.image.trim()) out.push(required(`${p}.image`));
    out.push(...validateResources(c.resources, `${p}.resources`), ...validateEnv(c, p));
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) out.push(...validateProbe(c[probe], `${p}.${probe}`));
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      out.push(...portRange(`${pp}.containerPort`, port.containerPort ?? 0));
      if (port.hostPort) out.push(...portRange(`${pp}.hostPort`, port.hostPort));
      if (port.name) {
        if (portNames.has(port.name)) out.push(duplicate(`${pp}.name`, port.name));
        portNames.add(port.name);
      }
    });
    (c.volumeMounts ?? []).forEach((vm, j) => {
      if (vm.name && !volumes.has(vm.name)) out.push(fieldCause(`${p}.volumeMounts[${j}].name`, 'FieldValueNotFound', `Not found: ${formatValue(vm.name)}`));
    });
  });
  return out;
}

export function validatePodSpec(spec: PodSpec | undefined, field: string): Causes {
  const out: Causes = [];
  if (!spec) return [required(field)];
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    if (volumes.has(v.name)) out.push(duplicate(`${field}.volumes[${i}].name`, v.name));
    else out.push(...checkName(`${field}.volumes[${i}].name`, v.name, isDNS1123Label));
    volumes.add(v.name);
  });
  if (!spec.containers?.length) out.push(required(`${field}.containers`));
  const names = new Set<string>();
  out.push(...validateContainers(spec.containers, `${field}.containers`, names, volumes));
  out.push(...validateContainers(spec.initContainers, `${field}.initContainers`, names, volumes));
  out.push(...validateContainers(spec.ephemeralContainers, `${field}.ephemeralContainers`, names, volumes), ...validateEphemeralOnly(spec, `${field}.ephemeralContainers`));
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds !== null && spec.terminationGracePeriodSeconds < 0) {
    out.push(invalid(`${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0'));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null && spec.activeDeadlineSeconds < 1) {
    out.push(invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
  out.push(...validateLabels(spec.nodeSelector, `${field}.nodeSelector`));
  (spec.tolerations ?? []).forEach((t, i) => {
    if (!t.key && t.operator !== 'Exists') out.push(invalid(`${field}.tolerations[${i}].operator`, t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t.operator === 'Exists' && t.value) out.push(invalid(`${field}.tolerations[${i}].operator`, t.value, 'value must be empty when `operator` is \'Exists\''));
  });
  return out;
}

// ---- workloads ----

const intOrPercent = /^(\d+)%$/;

export function validateIntOrPercent(field: string, v: number | string | undefined): Causes {
  if (v === undefined || v === null) return [];
  if (typeof v === 'number') return v < 0 ? [invalid(field, v, 'must be greater than or equal to 0')] : [];
  const m = intOrPercent.exec(v);
  if (!m) return [invalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  return Number(m[1]) > 100 ? [invalid(field, v, 'must not be greater than 100%')] : [];
}

function labelSelectorShow(ls: LabelSelector): string {
  const ml = ls.matchLabels ? `MatchLabels:${formatValue(ls.matchLabels)}` : 'MatchLabels:map[string]string(nil)';
  return `v1.LabelSelector{${ml}, MatchExpressions:[]v1.LabelSelectorRequirement(${ls.matchExpressions?.length ? '...' : 'nil'})}`;
}

export function validateSelectorAndTemplate(obj: KubeObject, old?: KubeObject): Causes {
  const out: Causes = [];
  const spec = obj.spec ?? {};
  const sel: LabelSelector | undefined = spec.selector;
  if (spec.replicas !== undefined && spec.replicas !== null && spec.replicas < 0) out.push(invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  if (spec.minReadySeconds !== undefined && spec.minReadySeconds < 0) out.push(invalid('spec.minReadySeconds', spec.minReadySeconds, 'must be greater than or equal to 0'));
  if (!sel) out.push(required('spec.selector'));
  else if (!Object.keys(sel.matchLabels ?? {}).length && !sel.matchExpressions?.length) {
    // Upstream's ReplicaSet validation reuses the Deployment wording verbatim.
    out.push(fieldCause('spec.selector', 'FieldValueInvalid', `Invalid value: ${labelSelectorShow(sel)}: empty selector is invalid for deployment`));
  } else {
    out.push(...validateLabels(sel.matchLabels, 'spec.selector.matchLabels'));
    let parsed;
    try {
      parsed = selectorFromLabelSelector(sel);
    } catch (e) {
      out.push(invalid('spec.selector', sel, (e as Error).message));
    }
    const labels = spec.template?.metadata?.labels ?? {};
    if (parsed && !parsed.matches(labels)) {
      out.push(fieldCause('spec.template.metadata.labels', 'FieldValueInvalid', `Invalid value: ${formatValue(labels)}: \`selector\` does not match template \`labels\``));
    }
    if (old?.spec?.selector && !isDeepStrictEqual(JSON.parse(JSON.stringify(old.spec.selector)), JSON.parse(JSON.stringify(sel)))) {
      out.push(fieldCause('spec.selector', 'FieldValueInvalid', `Invalid value: ${labelSelectorShow(sel)}: field is immutable`));
    }
  }
  if (!spec.template) out.push(required('spec.template'));
  else {
    out.push(...validateLabels(spec.template.metadata?.labels, 'spec.template.metadata.labels'));
    out.push(...validateAnnotations(spec.template.metadata?.annotations, 'spec.template.metadata.annotations'));
    out.push(...validatePodSpec(spec.template.spec, 'spec.template.spec'));
    const rp = spec.template.spec?.restartPolicy;
    if (rp && rp !== 'Always') out.push(notSupported('spec.template.spec.restartPolicy', rp, ['Always']));
  }
  return out;
}

// ---- config keys and secrets (shared by ConfigMap and Secret) ----

export const configKey = /^[-._a-zA-Z0-9]+$/;

/** What a message shows in place of a secret's value: upstream's wording, and no byte of the value. */
export const redactedSecret = '<secret contents redacted>';
const base64Chars = /^[A-Za-z0-9+/]*$/;

/** IsConfigMapKey (apimachinery/pkg/util/validation): one message per rule broken. */
export function configKeyErrors(k: string): string[] {
  const errs: string[] = [];
  if (k.length > 253) errs.push('must be no more than 253 characters');
  if (!configKey.test(k)) errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  if (k === '.') errs.push("must not be '.'");
  else if (k === '..') errs.push("must not be '..'");
  else if (k.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/**
 * The decoded length of a base64 value as Go's encoding/json reads []byte
 * (StdEncoding, padded, CR and LF ignored), or the error it reports; the
 * error names an offset, never a byte of the value.
 */
export function base64Length(v: string): number | string {
  const s = v.replace(/[\r\n]/g, '');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const body = s.slice(0, s.length - pad);
  if (!base64Chars.test(body)) return `illegal base64 data at input byte ${body.search(/[^A-Za-z0-9+/]/)}`;
  if (s.length % 4 !== 0) return `illegal base64 data at input byte ${s.length - (s.length % 4)}`;
  return (s.length / 4) * 3 - pad;
}

/** ObjectMeta's rules, then the kind's own (KindDefinition.validate); update-only rules get `old`. */
export function kindRules(r: ResourceInfo, obj: KubeObject, opts: { old?: KubeObject; subresource?: string }): Causes {
  // Nothing of an ephemeral kind is stored: its metadata needs no name (the access reviews send none).
  const out = r.ephemeral ? [] : validateMeta(r, obj, opts.old);
  const own = kindOf(r).validate;
  if (own) out.push(...own(obj, opts));
  return out;
}
