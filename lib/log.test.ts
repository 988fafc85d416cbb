import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, setLogLevel } from './log.js';

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
});
