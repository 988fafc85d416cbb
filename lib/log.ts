// Structured, leveled logging for every component (winston). Logs are JSON
// lines on stderr so that `skiff up` can keep them per component under
// $SKIFF_HOME/logs and tools can filter them; `--log-format=text` (kube's
// flag, each component's main.ts) gives human-readable lines, and
// SKIFF_LOG_LEVEL (or --v) sets the level. The format is a flag rather than
// an environment variable so that a process restarted from its command line
// (by the supervisor of `skiff up`, or by hand from `ps`) keeps it.

import winston from 'winston';

export type Logger = winston.Logger;
export type LogFormat = 'text' | 'json';

const level = process.env.SKIFF_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info');

// winston runs the logger's format on every line and only its transports
// compare levels, so a disabled debug line would still get a timestamp and a
// JSON serialisation. Dropping it first makes an unguarded debug call cheap.
// (Symbol.for('level') is triple-beam's LEVEL, winston's own key for the level.)
const LEVEL = Symbol.for('level');
const enabled = winston.format((info) => (root.isLevelEnabled((info as unknown as Record<symbol, string>)[LEVEL]!) ? info : false));

/** One log line in either format, for writers outside winston (the supervisor writes into a component's log). */
export function formatLine(format: LogFormat, entry: { timestamp: string; level: string; component: string; message: string; [k: string]: unknown }): string {
  if (format === 'json') return JSON.stringify(entry);
  const { timestamp, level: lvl, message, component, ...rest } = entry;
  const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
  return `${timestamp} ${lvl} [${component}] ${message}${extra}`;
}

const formats: Record<LogFormat, winston.Logform.Format> = {
  text: winston.format.combine(enabled(), winston.format.timestamp(), winston.format.printf((i) =>
    formatLine('text', i as unknown as Parameters<typeof formatLine>[1]))),
  json: winston.format.combine(enabled(), winston.format.timestamp(), winston.format.json()),
};

const root = winston.createLogger({
  level,
  format: formats.json,
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
});

export function logger(component: string): Logger {
  return root.child({ component });
}

export function setLogLevel(l: string): void {
  root.level = l;
}

/** --log-format: "text" or "json" (the default), as kube components' flag. Child loggers write through the root, so existing ones follow. */
export function setLogFormat(f: string): void {
  if (f !== 'text' && f !== 'json') throw new Error(`unrecognized log format "${f}": must be text or json`);
  root.format = formats[f];
}
