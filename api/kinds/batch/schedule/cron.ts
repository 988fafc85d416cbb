// CronJob schedules as kube reads them (robfig/cron's ParseStandard): five
// fields, the @yearly/@monthly/@weekly/@daily/@midnight/@hourly descriptors,
// @every <duration>, an optional CRON_TZ= or TZ= prefix, and robfig's error
// messages, which kube's validation passes on verbatim; the time zone is spec.timeZone, else
// the prefix, else the controller-manager's (UTC here, as kube's images run).
// cron-parser does the field arithmetic (Vixie semantics as robfig's, time
// zones through luxon). Shared by the CronJob kind (validation) and the
// cronjob controller. No default export: a helper of the group.

import { CronExpressionParser } from 'cron-parser';

const descriptors: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

export interface Schedule {
  /** The first scheduled time strictly after `t`. */
  next(t: Date): Date;
}

/** time.LoadLocation's verdict on an IANA name, as Intl knows them. */
export function timeZoneError(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `unknown time zone ${tz}`;
  }
}

interface Bounds { min: number; max: number; names?: Record<string, number> }
const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const bounds: Bounds[] = [
  { min: 0, max: 59 }, { min: 0, max: 23 }, { min: 1, max: 31 },
  { min: 1, max: 12, names: Object.fromEntries(months.map((m, i) => [m, i + 1])) },
  { min: 0, max: 6, names: Object.fromEntries(days.map((d, i) => [d, i])) },
];

/** strconv.Atoi's error, as robfig's mustParseInt wraps it. */
function mustParseInt(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr)) throw new Error(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number(expr);
  if (n < 0) throw new Error(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

/** robfig's getRange: the checks (and messages) of one comma-separated part of a field. */
function checkRange(expr: string, b: Bounds): void {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  let start: number;
  let end: number;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = b.min;
    end = b.max;
  } else {
    const num = (x: string) => b.names?.[x.toLowerCase()] ?? mustParseInt(x);
    start = num(lowAndHigh[0]);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = num(lowAndHigh[1]);
    else throw new Error(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]);
    if (lowAndHigh.length === 1) end = b.max;
  } else if (rangeAndStep.length > 2) throw new Error(`too many slashes: ${expr}`);
  if (start < b.min) throw new Error(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new Error(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new Error(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new Error(`step of range should be a positive number: ${expr}`);
}

/** time.ParseDuration for @every: "1h30m", "90s", "500ms". */
function parseDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let pos = 0;
  if (!s) return undefined;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]];
    pos = re.lastIndex;
  }
  return total;
}

/** Parse a schedule; throws with robfig/cron's message, which kube's validation shows as is. */
export function parseSchedule(schedule: string, timeZone?: string | null): Schedule {
  let expr = schedule;
  if (!expr.length) throw new Error('empty spec string');
  let tz = timeZone ?? undefined;
  if (expr.startsWith('TZ=') || expr.startsWith('CRON_TZ=')) {
    const i = expr.indexOf(' ');
    const name = expr.slice(expr.indexOf('=') + 1, i < 0 ? undefined : i);
    const err = timeZoneError(name);
    if (err) throw new Error(`provided bad location ${name}: ${err}`);
    tz ??= name;
    expr = i < 0 ? '' : expr.slice(i).trim();
  }
  if (tz) {
    const err = timeZoneError(tz);
    if (err) throw new Error(err);
  }
  if (expr.startsWith('@every ')) {
    const d = parseDuration(expr.slice('@every '.length).trim());
    if (d === undefined) throw new Error(`failed to parse duration ${expr}: time: invalid duration ${JSON.stringify(expr.slice('@every '.length).trim())}`);
    // robfig's ConstantDelaySchedule: at least a second, whole seconds.
    const delay = Math.max(1000, Math.floor(d / 1000) * 1000);
    return { next: (t: Date) => new Date(Math.floor(t.getTime() / 1000) * 1000 + delay) };
  }
  if (expr.startsWith('@')) {
    const d = descriptors[expr];
    if (!d) throw new Error(`unrecognized descriptor: ${expr}`);
    expr = d;
  }
  const fields = expr.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  fields.forEach((f, i) => f.split(',').forEach((part) => checkRange(part, bounds[i])));
  const cronExpr = fields.join(' ');
  // cron-parser does the arithmetic; parsed once here so anything it cannot handle fails validation, not the controller.
  CronExpressionParser.parse(cronExpr, { tz: tz ?? 'UTC', currentDate: new Date(0) });
  return {
    next(t: Date): Date {
      return CronExpressionParser.parse(cronExpr, { tz: tz ?? 'UTC', currentDate: t }).next().toDate();
    },
  };
}
