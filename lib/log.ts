// Structured, leveled logging for every component (winston). Logs are JSON
// lines on stderr so that `skiff up` can keep them per component under
// $SKIFF_HOME/logs and tools can filter them; set SKIFF_LOG_FORMAT=text for
// human-readable lines and SKIFF_LOG_LEVEL (or --v) for the level.

import winston from 'winston';

export type Logger = winston.Logger;

const level = process.env.SKIFF_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info');

// winston runs the logger's format on every line and only its transports
// compare levels, so a disabled debug line would still get a timestamp and a
// JSON serialisation. Dropping it first makes an unguarded debug call cheap.
// (Symbol.for('level') is triple-beam's LEVEL, winston's own key for the level.)
const LEVEL = Symbol.for('level');
const enabled = winston.format((info) => (root.isLevelEnabled((info as unknown as Record<symbol, string>)[LEVEL]!) ? info : false));

const format =
  process.env.SKIFF_LOG_FORMAT === 'text'
    ? winston.format.combine(enabled(), winston.format.timestamp(), winston.format.printf((i) => {
        const { timestamp, level, message, component, ...rest } = i;
        const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
        return `${timestamp} ${level} [${component}] ${message}${extra}`;
      }))
    : winston.format.combine(enabled(), winston.format.timestamp(), winston.format.json());

const root = winston.createLogger({
  level,
  format,
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
});

export function logger(component: string): Logger {
  return root.child({ component });
}

export function setLogLevel(l: string): void {
  root.level = l;
}
