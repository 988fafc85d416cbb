// Pod Security levels, versions and namespace policies
// (k8s.io/pod-security-admission/api) and the evaluator that runs a level's
// checks (policy/registry.go): baseline checks, then for restricted the
// restricted checks in place of the baseline ones they override.

import type { ObjectMeta, StatusCause } from '../../../api/types.js';
import { fieldCause } from '../../../api/errors.js';
import { baselineChecks, type Check } from './baseline.js';
import { goQuote, type CheckResult, type Spec } from './helpers.js';
import { restrictedChecks } from './restricted.js';

export type Level = 'privileged' | 'baseline' | 'restricted';
const levels: Level[] = ['privileged', 'baseline', 'restricted'];

/** A policy version: the minor of 1.x, or 'latest'. */
export type Version = number | 'latest';

export interface LevelVersion { level: Level; version: Version }
export interface Policy { enforce: LevelVersion; audit: LevelVersion; warn: LevelVersion }

export const labels = {
  enforce: 'pod-security.kubernetes.io/enforce',
  enforceVersion: 'pod-security.kubernetes.io/enforce-version',
  audit: 'pod-security.kubernetes.io/audit',
  auditVersion: 'pod-security.kubernetes.io/audit-version',
  warn: 'pod-security.kubernetes.io/warn',
  warnVersion: 'pod-security.kubernetes.io/warn-version',
} as const;

const privilegedLatest: LevelVersion = { level: 'privileged', version: 'latest' };
export const privilegedPolicy: Policy = { enforce: privilegedLatest, audit: privilegedLatest, warn: privilegedLatest };

export function versionString(v: Version): string {
  return v === 'latest' ? 'latest' : `v1.${v}`;
}

/** "baseline:latest", as kube prints a LevelVersion. */
export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${versionString(lv.version)}`;
}

export function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && a.version === b.version;
}

/** ParseLevel: an unknown level is an error and evaluates as restricted. */
export function parseLevel(s: string): { level: Level; error?: string } {
  if ((levels as string[]).includes(s)) return { level: s as Level };
  return { level: 'restricted', error: `must be one of ${levels.join(', ')}` };
}

/** ParseVersion: "latest" or "v1.<minor>"; anything else is an error and evaluates as latest. */
export function parseVersion(s: string): { version: Version; error?: string } {
  if (s === 'latest') return { version: 'latest' };
  const m = /^v1\.([0-9]|[1-9][0-9]*)$/.exec(s);
  if (!m) return { version: 'latest', error: 'must be "latest" or "v1.x"' };
  return { version: Number(m[1]) };
}

/** CompareLevels: -1, 0 or 1 as a is less, as or more strict than b. */
export function compareLevels(a: Level, b: Level): number {
  return Math.sign(levels.indexOf(a) - levels.indexOf(b));
}

/**
 * PolicyToEvaluate: the namespace's labels over the defaults. Invalid values
 * come back as causes (metadata.labels[...]); an invalid enforce level
 * evaluates as restricted, while audit and warn fail open to privileged.
 */
export function policyToEvaluate(nsLabels: Record<string, string> | undefined, defaults: Policy): { policy: Policy; causes: StatusCause[] } {
  const p: Policy = { enforce: { ...defaults.enforce }, audit: { ...defaults.audit }, warn: { ...defaults.warn } };
  const causes: StatusCause[] = [];
  if (!nsLabels) return { policy: p, causes };
  const invalid = (label: string, value: string, why: string) =>
    causes.push(fieldCause(`metadata.labels[${label}]`, 'FieldValueInvalid', `Invalid value: ${goQuote(value)}: ${why}`));
  for (const mode of ['enforce', 'audit', 'warn'] as const) {
    const level = nsLabels[labels[mode]];
    if (level !== undefined) {
      const r = parseLevel(level);
      p[mode].level = r.error && mode !== 'enforce' ? 'privileged' : r.level;
      if (r.error) invalid(labels[mode], level, r.error);
    }
    const versionLabel = labels[`${mode}Version`];
    const version = nsLabels[versionLabel];
    if (version !== undefined) {
      const r = parseVersion(version);
      p[mode].version = r.version;
      if (r.error) invalid(versionLabel, version, r.error);
    }
  }
  return { policy: p, causes };
}

export function fullyPrivileged(p: Policy): boolean {
  return p.enforce.level === 'privileged' && p.audit.level === 'privileged' && p.warn.level === 'privileged';
}

/** The newest minimum version of any check: "latest" and newer versions evaluate as this one. */
export const maxVersion = Math.max(...[...baselineChecks, ...restrictedChecks].flatMap((c) => c.versions.map((v) => v.minimumVersion)));

type Evaluate = (meta: ObjectMeta, spec: Spec) => CheckResult[];

/** The check functions of one level at one version, precomputed per minor like kube's registry. */
function checksAt(checks: Check[], minor: number) {
  const out = new Map<string, Check['versions'][number]>();
  for (const c of checks) {
    const active = c.versions.filter((x) => x.minimumVersion <= minor).pop();
    if (active) out.set(c.id, active);
  }
  return out;
}

const byId = (m: Map<string, { checkPod: (meta: ObjectMeta, spec: Spec) => CheckResult }>) => [...m.keys()].sort().map((id) => m.get(id)!.checkPod);

const evaluators = new Map<string, Evaluate>();
for (let minor = 0; minor <= maxVersion; minor++) {
  const baseline = checksAt(baselineChecks, minor);
  const restricted = checksAt(restrictedChecks, minor);
  const overridden = new Set(restrictedChecks.filter((c) => restricted.has(c.id)).flatMap((c) => c.overrides ?? []));
  const kept = new Map([...baseline].filter(([id]) => !overridden.has(id)));
  const baselineFns = byId(baseline);
  const restrictedFns = [...byId(kept), ...byId(restricted)];
  evaluators.set(`baseline:${minor}`, (meta, spec) => baselineFns.map((f) => f(meta, spec)));
  evaluators.set(`restricted:${minor}`, (meta, spec) => restrictedFns.map((f) => f(meta, spec)));
}

/** Evaluator.EvaluatePod: every check of the level at the version (capped at the newest); none for privileged. */
export function evaluatePod(lv: LevelVersion, meta: ObjectMeta | undefined, spec: Spec | undefined): CheckResult[] {
  if (lv.level === 'privileged') return [];
  const minor = lv.version === 'latest' ? maxVersion : Math.min(lv.version, maxVersion);
  return evaluators.get(`${lv.level}:${minor}`)!(meta ?? {}, spec ?? {});
}

export interface AggregateResult { allowed: boolean; reasons: string[]; details: string[] }

export function aggregate(results: CheckResult[]): AggregateResult {
  const reasons: string[] = [];
  const details: string[] = [];
  for (const r of results) {
    if (r.allowed) continue;
    reasons.push(r.forbiddenReason || 'unknown forbidden reason');
    details.push(r.forbiddenDetail ?? '');
  }
  return { allowed: reasons.length === 0, reasons, details };
}

/** "host ports, privileged": what a namespace-wide check reports per pod. */
export function forbiddenReason(a: AggregateResult): string {
  return a.reasons.join(', ');
}

/** "host ports (8080), privileged (container "a" must not ...)": what a single object's check reports. */
export function forbiddenDetail(a: AggregateResult): string {
  return a.reasons.map((r, i) => (a.details[i] ? `${r} (${a.details[i]})` : r)).join(', ');
}
