// Structured, leveled logging for every component (winston). Logs are JSON
// lines on stderr so that `skiff up` can keep them per component under
// $SKIFF_HOME/logs and tools can filter them; set SKIFF_LOG_FORMAT=text for
// human-readable lines and SKIFF_LOG_LEVEL (or --v) for the level.

import winston from 'winston';

export type Logger = winston.Logger;

const level = process.env.SKIFF_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info');

const format =
  process.env.SKIFF_LOG_FORMAT === 'text'
    ? winston.format.combine(winston.format.timestamp(), winston.format.printf((i) => {
        const { timestamp, level, message, component, ...rest } = i;
        const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
        return `${timestamp} ${level} [${component}] ${message}${extra}`;
      }))
    : winston.format.combine(winston.format.timestamp(), winston.format.json());

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
