// The checks kube-apiserver makes beyond the shape of an object
// (pkg/apis/*/validation: ValidateObjectMeta, ValidatePodSpec,
// ValidateDeployment, ValidateService, ...), with upstream's field paths and
// messages. Each function returns StatusCauses; none throws.

import net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { Container, KubeObject, LabelSelector, PodSpec, Probe, StatusCause } from '../types.js';
import { kindOf, type ResourceInfo } from '../kind.js';
import { fieldCause } from '../errors.js';
import { isDNS1123Subdomain, isQualifiedName, isValidLabelValue, selectorFromLabelSelector } from '../labels.js';
import { parseQuantity, quantityError } from '../quantity.js';
import { knownKeyUsages, parseCSR } from '../../lib/pki.js';
import { validateEphemeralContainersUpdate, validateEphemeralOnly, validateNoEphemeralOnCreate } from './ephemeral.js';

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

const nameRules: Record<string, (v: string) => string[]> = {
  Service: isDNS1035Label, Namespace: isDNS1123Label,
  // ValidateRBACName: role and binding names are path segments ("system:basic-user").
  Role: isValidPathSegmentName, ClusterRole: isValidPathSegmentName, RoleBinding: isValidPathSegmentName, ClusterRoleBinding: isValidPathSegmentName,
};

/** IsValidPathSegmentName (apimachinery/pkg/api/validation/path). */
export function isValidPathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const errs: string[] = [];
  if (name.includes('/')) errs.push("may not contain '/'");
  if (name.includes('%')) errs.push("may not contain '%'");
  return errs;
}

function checkName(field: string, v: string, check: (v: string) => string[]): Causes {
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
  if (m.name) out.push(...checkName('metadata.name', m.name, kindOf(r).nameRule ?? nameRules[r.kind] ?? isDNS1123Subdomain));
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
const tooLong = (field: string, max: number) => fieldCause(field, 'FieldValueTooLong', `Too long: may not be more than ${max} bytes`);

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

function portRange(field: string, v: number | undefined): Causes {
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

/** ValidatePodUpdate: only images, activeDeadlineSeconds and added tolerations may change. */
function validatePodUpdate(obj: KubeObject, old: KubeObject): Causes {
  const next = structuredClone(obj.spec ?? {}) as PodSpec;
  const prev = old.spec as PodSpec;
  if (!prev) return [];
  next.containers?.forEach((c, i) => { if (prev.containers?.[i]) c.image = prev.containers[i].image; });
  next.initContainers?.forEach((c, i) => { if (prev.initContainers?.[i]) c.image = prev.initContainers[i].image; });
  next.activeDeadlineSeconds = prev.activeDeadlineSeconds;
  const oldTols = prev.tolerations ?? [];
  if (oldTols.every((t) => (next.tolerations ?? []).some((n) => isDeepStrictEqual({ ...n, tolerationSeconds: undefined }, { ...t, tolerationSeconds: undefined })))) {
    next.tolerations = prev.tolerations;
  }
  const clean = (s: PodSpec) => JSON.parse(JSON.stringify(s));
  if (isDeepStrictEqual(clean(next), clean(prev))) return [];
  return [forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)')];
}

// ---- workloads ----

const intOrPercent = /^(\d+)%$/;

function validateIntOrPercent(field: string, v: number | string | undefined): Causes {
  if (v === undefined || v === null) return [];
  if (typeof v === 'number') return v < 0 ? [invalid(field, v, 'must be greater than or equal to 0')] : [];
  const m = intOrPercent.exec(v);
  if (!m) return [invalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  return Number(m[1]) > 100 ? [invalid(field, v, 'must not be greater than 100%')] : [];
}

const isZero = (v: number | string | undefined) => v === 0 || v === '0%';

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

function validateDeployment(obj: KubeObject): Causes {
  const out: Causes = [];
  const st = obj.spec?.strategy;
  if (st?.type === 'Recreate' && st.rollingUpdate) out.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  const ru = st?.rollingUpdate;
  if (ru) {
    out.push(...validateIntOrPercent('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable));
    out.push(...validateIntOrPercent('spec.strategy.rollingUpdate.maxSurge', ru.maxSurge));
    if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge)) out.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  const d = obj.spec ?? {};
  if (d.revisionHistoryLimit !== undefined && d.revisionHistoryLimit < 0) out.push(invalid('spec.revisionHistoryLimit', d.revisionHistoryLimit, 'must be greater than or equal to 0'));
  if (d.progressDeadlineSeconds !== undefined && d.progressDeadlineSeconds !== null && d.progressDeadlineSeconds <= (d.minReadySeconds ?? 0)) {
    out.push(invalid('spec.progressDeadlineSeconds', d.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  return out;
}

// ---- services ----

const ianaSvcName = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

function validateService(obj: KubeObject, old?: KubeObject): Causes {
  const out: Causes = [];
  const spec = obj.spec ?? {};
  const ports: { name?: string; port: number; protocol?: string; targetPort?: number | string; nodePort?: number }[] = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (spec.type === 'ExternalName') {
    if (!spec.externalName) out.push(required('spec.externalName'));
  } else if (!ports.length && !headless) out.push(required('spec.ports'));
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) out.push(required(`${f}.name`));
    if (p.name) {
      out.push(...checkName(`${f}.name`, p.name, isDNS1123Label));
      if (names.has(p.name)) out.push(duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    out.push(...portRange(`${f}.port`, p.port));
    if (typeof p.targetPort === 'number') out.push(...portRange(`${f}.targetPort`, p.targetPort));
    else if (typeof p.targetPort === 'string' && !ianaSvcName.test(p.targetPort)) out.push(invalid(`${f}.targetPort`, p.targetPort, 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'));
    if (p.nodePort) out.push(...portRange(`${f}.nodePort`, p.nodePort));
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (seen.has(key)) out.push(duplicate(f, `${p.port}/${p.protocol ?? 'TCP'}`));
    seen.add(key);
  });
  out.push(...validateLabels(spec.selector, 'spec.selector'));
  if (spec.sessionAffinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (t !== undefined && (t <= 0 || t > 86400)) out.push(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, 'must be greater than 0 and less than 86400'));
  }
  const oldIP = old?.spec?.clusterIP;
  if (oldIP && spec.clusterIP && spec.clusterIP !== oldIP && spec.type !== 'ExternalName') out.push(invalid('spec.clusterIPs[0]', spec.clusterIP, 'may not change once set'));
  return out;
}

// ---- the rest ----

const configKey = /^[-._a-zA-Z0-9]+$/;

/** core.MaxSecretSize, which ConfigMaps share: data and binaryData values together. */
const maxConfigMapBytes = 1024 * 1024;

function validateConfigMap(obj: KubeObject, old?: KubeObject): Causes {
  const out: Causes = [];
  let total = 0;
  for (const section of ['data', 'binaryData'] as const) {
    for (const [k, v] of Object.entries((obj[section] ?? {}) as Record<string, string>)) {
      if (!configKey.test(k) || k.length > 253) out.push(invalid(`${section}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
      if (section === 'data') {
        total += Buffer.byteLength(v ?? '');
        continue;
      }
      // binaryData is []byte: JSON carries it as base64, and what does not decode cannot be stored.
      const n = base64Length(v ?? '');
      if (typeof n === 'string') out.push(fieldCause(`binaryData[${k}]`, 'FieldValueInvalid', `Invalid value: "<value omitted>": ${n}`));
      else total += n;
    }
  }
  // The whole object is meant, so kube names no field.
  if (total > maxConfigMapBytes) out.push(tooLong('', maxConfigMapBytes));
  if (old?.immutable) {
    if (!isDeepStrictEqual(obj.data ?? {}, old.data ?? {})) out.push(forbidden('data', 'field is immutable when `immutable` is set'));
    if (!isDeepStrictEqual(obj.binaryData ?? {}, old.binaryData ?? {})) out.push(forbidden('binaryData', 'field is immutable when `immutable` is set'));
    if (!obj.immutable) out.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  }
  return out;
}

// ---- secrets ----

/** What a message shows in place of a secret's value: upstream's wording, and no byte of the value. */
export const redactedSecret = '<secret contents redacted>';
const maxSecretSize = 1024 * 1024;
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

/** Go's json.Unmarshal into map[string]interface{}, with messages that carry no content of the value. */
function jsonObjectError(b64: string): string | undefined {
  let v: unknown;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  try {
    v = JSON.parse(text);
  } catch (e) {
    // V8's messages quote the input; only where it stopped is kept.
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    return /end of (JSON )?input/i.test(msg) || (at && Number(at[1]) >= text.trimEnd().length) ? 'unexpected end of JSON input' : 'invalid character looking for beginning of value';
  }
  if (v === null || (typeof v === 'object' && !Array.isArray(v))) return undefined;
  const t = Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v;
  return `json: cannot unmarshal ${t} into Go value of type map[string]interface {}`;
}

/** ValidateSecret and ValidateSecretUpdate (pkg/apis/core/validation), after stringData was merged into data. */
function validateSecret(obj: KubeObject, old?: KubeObject): Causes {
  const out: Causes = [];
  if (old) {
    if ((obj.type ?? '') !== (old.type ?? '')) out.push(invalid('type', obj.type ?? '', 'field is immutable'));
    if (old.immutable) {
      if (!obj.immutable) out.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
      if (!isDeepStrictEqual(obj.data ?? {}, old.data ?? {})) out.push(forbidden('data', 'field is immutable when `immutable` is set'));
    }
  }
  const data: Record<string, string> = obj.data ?? {};
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const msg of configKeyErrors(k)) out.push(invalid(`data[${k}]`, k, msg));
    const n = base64Length(v ?? '');
    if (typeof n === 'string') out.push(invalid(`data[${k}]`, redactedSecret, n));
    else total += n;
  }
  if (total > maxSecretSize) out.push(fieldCause('data', 'FieldValueTooLong', `Too long: may not be more than ${maxSecretSize} bytes`));
  const has = (k: string) => Object.prototype.hasOwnProperty.call(data, k);
  const jsonKey = (k: string) => {
    if (!has(k)) out.push(required(`data[${k}]`));
    else if (typeof base64Length(data[k]) === 'number') {
      const err = jsonObjectError(data[k]);
      if (err) out.push(invalid(`data[${k}]`, redactedSecret, err));
    }
  };
  switch (obj.type) {
    case 'kubernetes.io/service-account-token':
      // Only the name: the uid and the token itself may be added later by a controller.
      if (!obj.metadata.annotations?.['kubernetes.io/service-account.name']) out.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      break;
    case 'kubernetes.io/dockercfg':
      jsonKey('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      jsonKey('.dockerconfigjson');
      break;
    case 'kubernetes.io/basic-auth':
      // Either may be empty, but one of the two must be there.
      if (!has('username') && !has('password')) out.push(required('data[username]'), required('data[password]'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (!data['ssh-privatekey']) out.push(required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) out.push(required('data[tls.crt]'));
      if (!has('tls.key')) out.push(required('data[tls.key]'));
      break;
  }
  return out;
}

/** ValidateLeaseSpec. */
function validateLease(obj: KubeObject): Causes {
  const out: Causes = [];
  const d = obj.spec?.leaseDurationSeconds;
  if (typeof d === 'number' && d <= 0) out.push(invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
  const t = obj.spec?.leaseTransitions;
  if (typeof t === 'number' && t < 0) out.push(invalid('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
  return out;
}

function validateEndpoints(obj: KubeObject): Causes {
  const out: Causes = [];
  (obj.subsets ?? []).forEach((s: { ports?: { port: number }[] }, i: number) => {
    (s.ports ?? []).forEach((p, j) => out.push(...portRange(`subsets[${i}].ports[${j}].port`, p.port)));
  });
  return out;
}

function validateNode(obj: KubeObject): Causes {
  const out: Causes = [];
  const seen = new Set<string>();
  (obj.spec?.taints ?? []).forEach((t: { key: string; effect: string }, i: number) => {
    const ke = isQualifiedName(t.key ?? '');
    if (ke.length) out.push(invalid(`spec.taints[${i}].key`, t.key, ke.join(', ')));
    const k = `${t.key}:${t.effect}`;
    if (seen.has(k)) out.push(duplicate(`spec.taints[${i}]`, k));
    seen.add(k);
  });
  // ValidateNode: every capacity and allocatable is a non-negative quantity (ValidateResourceQuantityValue).
  for (const section of ['capacity', 'allocatable'] as const) {
    for (const [name, q] of Object.entries((obj.status?.[section] ?? {}) as Record<string, string | number>)) {
      // A malformed quantity is the schema's to report; only the sign is a rule.
      if (!quantityError(q) && parseQuantity(q) < 0) out.push(invalid(`status.${section}.${name}`, String(q), 'must be greater than or equal to 0'));
    }
  }
  return out;
}

// ---- discovery ----

const tooMany = (field: string, actual: number, max: number) => fieldCause(field, 'FieldValueTooMany', `Too many: ${actual}: must have at most ${max} items`);

/** IsFullyQualifiedDomainName: a DNS-1123 subdomain of at least two labels, a trailing dot allowed. */
function fqdnCauses(field: string, v: string): Causes {
  if (!v) return [required(field)];
  const name = v.endsWith('.') ? v.slice(0, -1) : v;
  const sub = isDNS1123Subdomain(name);
  if (sub.length) return [invalid(field, name, sub.join(','))];
  const labels = name.split('.');
  if (labels.length < 2) return [invalid(field, name, 'should be a domain with at least two segments separated by dots')];
  for (const l of labels) {
    const le = isDNS1123Label(l);
    if (le.length) return [invalid(field, l, le.join(','))];
  }
  return [];
}

/** ValidateEndpointSlice(Create|Update), pkg/apis/discovery/validation. */
function validateEndpointSlice(obj: KubeObject, old?: KubeObject): Causes {
  const out: Causes = [];
  const type: string = obj.addressType;
  const endpoints: { addresses?: string[]; hostname?: string; nodeName?: string }[] = obj.endpoints ?? [];
  if (endpoints.length > 1000) out.push(tooMany('endpoints', endpoints.length, 1000));
  else {
    endpoints.forEach((e, i) => {
      const f = `endpoints[${i}]`;
      const addrs = e.addresses ?? [];
      if (!addrs.length) out.push(required(`${f}.addresses`, 'must contain at least 1 address'));
      else if (addrs.length > 100) out.push(tooMany(`${f}.addresses`, addrs.length, 100));
      addrs.forEach((a, j) => {
        const af = `${f}.addresses[${j}]`;
        // Skiff does not apply upstream's ValidateNonSpecialIP: its own API server's endpoint is loopback.
        if (type === 'IPv4' && !net.isIPv4(a)) out.push(invalid(af, a, 'must be a valid IPv4 address'));
        else if (type === 'IPv6' && !net.isIPv6(a)) out.push(invalid(af, a, 'must be a valid IPv6 address'));
        else if (type === 'FQDN') out.push(...fqdnCauses(af, a));
      });
      if (e.nodeName !== undefined) {
        for (const msg of isDNS1123Subdomain(e.nodeName)) out.push(invalid(`${f}.nodeName`, e.nodeName, msg));
      }
      if (e.hostname !== undefined) out.push(...checkName(`${f}.hostname`, e.hostname, isDNS1123Label));
    });
  }
  const ports: { name?: string; appProtocol?: string }[] = obj.ports ?? [];
  if (ports.length > 100) out.push(tooMany('ports', ports.length, 100));
  else {
    const names = new Set<string>();
    ports.forEach((p, i) => {
      const f = `ports[${i}]`;
      const name = p.name ?? '';
      if (name) out.push(...checkName(`${f}.name`, name, isDNS1123Label));
      if (names.has(name)) out.push(duplicate(`${f}.name`, name));
      names.add(name);
      if (p.appProtocol !== undefined) {
        for (const msg of isQualifiedName(p.appProtocol)) out.push(invalid(`${f}.appProtocol`, p.appProtocol, msg));
      }
    });
  }
  if (old && old.addressType !== obj.addressType) out.push(invalid('addressType', obj.addressType, 'field is immutable'));
  return out;
}

// ---- rbac.authorization.k8s.io and authorization.k8s.io ----

const rbacGroupName = 'rbac.authorization.k8s.io';

/** ValidatePolicyRule: namespaced rules (Roles) cannot name non-resource URLs. */
function validatePolicyRules(rules: { verbs?: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }[] | undefined, namespaced: boolean): Causes {
  const out: Causes = [];
  (rules ?? []).forEach((rule, i) => {
    const f = `rules[${i}]`;
    if (!rule.verbs?.length) out.push(required(`${f}.verbs`, 'verbs must contain at least one value'));
    if (rule.nonResourceURLs?.length) {
      if (namespaced) out.push(invalid(`${f}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
      if (rule.apiGroups?.length || rule.resources?.length || rule.resourceNames?.length) out.push(invalid(`${f}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
      return;
    }
    if (!rule.apiGroups?.length) out.push(required(`${f}.apiGroups`, 'resource rules must supply at least one api group'));
    if (!rule.resources?.length) out.push(required(`${f}.resources`, 'resource rules must supply at least one resource'));
  });
  return out;
}

function validateAggregationRule(obj: KubeObject): Causes {
  const ar = obj.aggregationRule;
  if (!ar) return [];
  const out: Causes = [];
  const selectors: LabelSelector[] = ar.clusterRoleSelectors ?? [];
  if (!selectors.length) out.push(required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
  selectors.forEach((sel, i) => {
    const f = `aggregationRule.clusterRoleSelectors[${i}]`;
    out.push(...validateLabels(sel.matchLabels, `${f}.matchLabels`));
    try {
      selectorFromLabelSelector(sel);
    } catch (e) {
      out.push(invalid(f, sel, (e as Error).message));
    }
  });
  return out;
}

/** ValidateRoleBindingSubject. */
function validateSubjects(subjects: { kind?: string; apiGroup?: string; name?: string; namespace?: string }[] | undefined, namespaced: boolean): Causes {
  const out: Causes = [];
  (subjects ?? []).forEach((s, i) => {
    const f = `subjects[${i}]`;
    if (!s.name) out.push(required(`${f}.name`));
    switch (s.kind) {
      case 'ServiceAccount':
        if (s.name) for (const msg of isDNS1123Subdomain(s.name)) out.push(invalid(`${f}.name`, s.name, msg));
        if (s.apiGroup) out.push(notSupported(`${f}.apiGroup`, s.apiGroup, ['']));
        if (!namespaced && !s.namespace) out.push(required(`${f}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== rbacGroupName) out.push(notSupported(`${f}.apiGroup`, s.apiGroup ?? '', [rbacGroupName]));
        break;
      default:
        out.push(notSupported(`${f}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
  return out;
}

/** ValidateRoleBinding / ValidateClusterRoleBinding, and roleRef's immutability on update. */
function validateBinding(obj: KubeObject, old: KubeObject | undefined, namespaced: boolean): Causes {
  const out: Causes = [];
  const ref = obj.roleRef ?? {};
  if ((ref.apiGroup ?? '') !== rbacGroupName) out.push(notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [rbacGroupName]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) out.push(notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (!ref.name) out.push(required('roleRef.name'));
  else for (const msg of isValidPathSegmentName(ref.name)) out.push(invalid('roleRef.name', ref.name, msg));
  out.push(...validateSubjects(obj.subjects, namespaced));
  if (old?.roleRef) {
    const same = (a: any, b: any) => (a?.apiGroup ?? '') === (b?.apiGroup ?? '') && (a?.kind ?? '') === (b?.kind ?? '') && (a?.name ?? '') === (b?.name ?? '');
    if (!same(ref, old.roleRef)) {
      out.push(fieldCause('roleRef', 'FieldValueInvalid', `Invalid value: rbac.RoleRef{APIGroup:${JSON.stringify(ref.apiGroup ?? '')}, Kind:${JSON.stringify(ref.kind ?? '')}, Name:${JSON.stringify(ref.name ?? '')}}: cannot change roleRef`));
    }
  }
  return out;
}

/** ValidateSubjectAccessReviewSpec and its Self form (which names no user). */
function validateAccessReviewSpec(obj: KubeObject, self: boolean): Causes {
  const out: Causes = [];
  const spec = obj.spec ?? {};
  if (spec.resourceAttributes && spec.nonResourceAttributes) {
    out.push(fieldCause('spec.nonResourceAttributes', 'FieldValueInvalid', 'Invalid value: "null": cannot be specified in combination with resourceAttributes'));
  }
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
    out.push(fieldCause('spec.resourceAttributes', 'FieldValueInvalid', 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'));
  }
  if (!self && !spec.user && !spec.groups?.length) out.push(invalid('spec.user', spec.user ?? '', 'at least one of user or group must be specified'));
  return out;
}

/** Per-kind rules, after ObjectMeta; update-only rules get `old`. */
export function kindRules(r: ResourceInfo, obj: KubeObject, opts: { old?: KubeObject; subresource?: string }): Causes {
  // Nothing of an ephemeral kind is stored: its metadata needs no name (the access reviews send none).
  const out = r.ephemeral ? [] : validateMeta(r, obj, opts.old);
  // Status and other subresource writes keep the stored spec; only the main resource's spec rules apply on it.
  const mainWrite = !opts.subresource;
  switch (r.kind) {
    case 'Pod':
      out.push(...validatePodSpec(obj.spec, 'spec'));
      if (opts.old && mainWrite) out.push(...validatePodUpdate(obj, opts.old));
      if (!opts.old) out.push(...validateNoEphemeralOnCreate(obj.spec));
      if (opts.old && opts.subresource === 'ephemeralcontainers') out.push(...validateEphemeralContainersUpdate(obj, opts.old));
      break;
    case 'ReplicaSet':
      out.push(...validateSelectorAndTemplate(obj, mainWrite ? opts.old : undefined));
      break;
    case 'Deployment':
      out.push(...validateSelectorAndTemplate(obj, mainWrite ? opts.old : undefined), ...validateDeployment(obj));
      break;
    case 'Service':
      out.push(...validateService(obj, opts.old));
      break;
    case 'ConfigMap':
      out.push(...validateConfigMap(obj, opts.old));
      break;
    case 'Secret':
      out.push(...validateSecret(obj, opts.old));
      break;
    case 'Endpoints':
      out.push(...validateEndpoints(obj));
      break;
    case 'Node':
      out.push(...validateNode(obj));
      break;
    case 'Lease':
      out.push(...validateLease(obj));
      break;
    case 'EndpointSlice':
      out.push(...validateEndpointSlice(obj, opts.old));
      break;
    case 'Role':
      out.push(...validatePolicyRules(obj.rules, true));
      break;
    case 'ClusterRole':
      out.push(...validatePolicyRules(obj.rules, false), ...validateAggregationRule(obj));
      break;
    case 'RoleBinding':
      out.push(...validateBinding(obj, opts.old, true));
      break;
    case 'ClusterRoleBinding':
      out.push(...validateBinding(obj, opts.old, false));
      break;
    case 'SubjectAccessReview':
    case 'LocalSubjectAccessReview':
      out.push(...validateAccessReviewSpec(obj, false));
      break;
    case 'SelfSubjectAccessReview':
      out.push(...validateAccessReviewSpec(obj, true));
      break;
    case 'CertificateSigningRequest':
      out.push(...validateCSR(obj, opts.old, opts.subresource));
      break;
  }
  const own = kindOf(r).validate;
  if (own) out.push(...own(obj, opts));
  return out;
}

// ---- certificates.k8s.io (pkg/apis/certificates/validation) ----

const bytesValue = '[]byte{...}';
const decodeB64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : '');
const approvalTypes = ['Approved', 'Denied'];

function validateCSR(obj: KubeObject, old: KubeObject | undefined, subresource?: string): Causes {
  const out: Causes = [];
  const spec = obj.spec ?? {};
  if (!old) {
    if (!spec.request) out.push(required('spec.request'));
    else {
      try { parseCSR(decodeB64(spec.request)); } catch (e) { out.push(invalid('spec.request', bytesValue, (e as Error).message)); }
    }
    const signer: string = spec.signerName ?? '';
    if (!signer) out.push(required('spec.signerName'));
    else {
      const [domain, ...path] = signer.split('/');
      if (!path.length || !path.join('/')) out.push(invalid('spec.signerName', signer, 'must be a fully qualified domain and path of the form \'example.com/signer-name\''));
      else if (isDNS1123Subdomain(domain).length || !domain.includes('.')) out.push(invalid('spec.signerName', signer, 'should be a domain with at least two segments separated by dots'));
    }
    if (spec.expirationSeconds != null && spec.expirationSeconds < 600) out.push(invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
    const usages: string[] = spec.usages ?? [];
    if (!usages.length) out.push(required('spec.usages', 'usages must be provided'));
    const seen = new Set<string>();
    usages.forEach((u, i) => {
      if (!knownKeyUsages.includes(u)) out.push(notSupported(`spec.usages[${i}]`, u, knownKeyUsages));
      if (seen.has(u)) out.push(duplicate(`spec.usages[${i}]`, u));
      seen.add(u);
    });
  }
  const conditions: { type?: string; status?: string }[] = obj.status?.conditions ?? [];
  const types = new Set<string>();
  conditions.forEach((c, i) => {
    const f = `status.conditions[${i}]`;
    if (!c.type) out.push(required(`${f}.type`));
    if (!c.status) out.push(required(`${f}.status`));
    else if (!['True', 'False', 'Unknown'].includes(c.status)) out.push(notSupported(`${f}.status`, c.status, ['False', 'True', 'Unknown']));
    else if (['Approved', 'Denied', 'Failed'].includes(c.type ?? '') && c.status !== 'True') out.push(notSupported(`${f}.status`, c.status, ['True']));
    if (c.type && ['Approved', 'Denied', 'Failed'].includes(c.type)) {
      if (types.has(c.type)) out.push(duplicate(`${f}.type`, c.type));
      types.add(c.type);
    }
  });
  if (types.has('Approved') && types.has('Denied')) out.push(invalid('status.conditions', 'Approved', 'Approved and Denied conditions are mutually exclusive'));
  const cert = obj.status?.certificate;
  if (cert) {
    const text = decodeB64(cert);
    if (!text.includes('-----BEGIN CERTIFICATE-----')) out.push(invalid('status.certificate', '<certificate data>', 'must contain at least one CERTIFICATE PEM block'));
  }
  if (old) {
    const oldCert = old.status?.certificate;
    if (oldCert && cert !== oldCert) out.push(invalid('status.certificate', '<certificate data>', 'updates may not modify existing certificate content'));
    if (subresource === 'approval') {
      for (const t of approvalTypes) {
        if ((old.status?.conditions ?? []).some((c: { type?: string }) => c.type === t) && !types.has(t)) out.push(forbidden('status.conditions', `updates may not remove a condition of type "${t}"`));
      }
    }
  }
  return out;
}
