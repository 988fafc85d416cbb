// CronJob schedules as kube reads them (robfig/cron's ParseStandard): five
// fields, the @yearly/@monthly/@weekly/@daily/@midnight/@hourly descriptors,
// an optional CRON_TZ= or TZ= prefix; the time zone is spec.timeZone, else
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

/** Parse a schedule; throws an Error with a message saying why it cannot be used. */
export function parseSchedule(schedule: string, timeZone?: string | null): Schedule {
  let expr = schedule.trim();
  let tz = timeZone ?? undefined;
  const m = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(expr);
  if (m) {
    tz ??= m[1];
    expr = m[2].trim();
  }
  if (tz) {
    const err = timeZoneError(tz);
    if (err) throw new Error(err);
  }
  if (expr.startsWith('@')) {
    const d = descriptors[expr];
    if (!d) throw new Error(`unrecognized descriptor: ${expr}`);
    expr = d;
  }
  const fields = expr.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: ${expr}`);
  // Parsed once up front so a bad field fails here rather than at the first next().
  CronExpressionParser.parse(expr, { tz: tz ?? 'UTC', currentDate: new Date(0) });
  return {
    next(t: Date): Date {
      return CronExpressionParser.parse(expr, { tz: tz ?? 'UTC', currentDate: t }).next().toDate();
    },
  };
}
