import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatLine, logger, setLogFormat, setLogLevel } from './log.js';

describe('logger', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    setLogLevel('warn');
  });

  it('writes JSON lines at or above the level and drops the rest before formatting', () => {
    const lines: string[] = [];
    // winston's Console transport writes to console._stderr (process.stderr outside a test runner).
    const stderr = (console as unknown as { _stderr: NodeJS.WriteStream })._stderr;
    vi.spyOn(stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    // The early filter must not call toJSON on what it drops.
    const toJSON = vi.fn(() => 'x');
    setLogLevel('info');
    const log = logger('unit');
    log.debug('dropped', { big: { toJSON } });
    log.info('kept', { pod: 'default/a' });
    setLogLevel('debug');
    log.debug('now kept');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p.message)).toEqual(['kept', 'now kept']);
    expect(parsed[0]).toMatchObject({ component: 'unit', level: 'info', pod: 'default/a' });
    expect(parsed[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(toJSON).not.toHaveBeenCalled();
  });

  it('--log-format=text switches loggers made before it, and refuses an unknown format', () => {
    const lines: string[] = [];
    const stderr = (console as unknown as { _stderr: NodeJS.WriteStream })._stderr;
    vi.spyOn(stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const log = logger('early');
    setLogLevel('info');
    setLogFormat('text');
    try {
      log.info('as text', { pod: 'default/a' });
    } finally {
      setLogFormat('json');
    }
    log.info('as json');
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+ info \[early\] as text \{"pod":"default\/a"\}\n?$/);
    expect(JSON.parse(lines[1]!)).toMatchObject({ component: 'early', message: 'as json' });
    expect(() => setLogFormat('xml')).toThrow(/must be text or json/);
  });

  it('formatLine writes what the winston formats write', () => {
    const e = { timestamp: '2026-01-01T00:00:00.000Z', level: 'warn', component: 'skiff-supervisor', message: 'restarting', restarts: 1 };
    expect(formatLine('text', e)).toBe('2026-01-01T00:00:00.000Z warn [skiff-supervisor] restarting {"restarts":1}');
    expect(JSON.parse(formatLine('json', e))).toEqual(e);
  });
});
