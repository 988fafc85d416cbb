import { describe, expect, it } from 'vitest';
import { parseDuration, parseFlags } from './flags.js';

describe('parseFlags', () => {
  const spec = { etcdServers: ['http://127.0.0.1:2379'], port: 6443, leaderElect: true, name: 'x' };

  it('types values and keeps defaults for flags not given', () => {
    const f = parseFlags(spec, ['--port=7000', '--leader-elect=false', '--name', 'y', 'extra']);
    expect(f).toMatchObject({ port: 7000, leaderElect: false, name: 'y', etcdServers: ['http://127.0.0.1:2379'], _: ['extra'] });
  });

  it('replaces a list default on first use and appends on later uses, as pflag', () => {
    expect(parseFlags(spec, ['--etcd-servers=a,b']).etcdServers).toEqual(['a', 'b']);
    expect(parseFlags(spec, ['--etcd-servers=a', '--etcd-servers', 'b']).etcdServers).toEqual(['a', 'b']);
    // The spec's default is not mutated by a parse.
    expect(spec.etcdServers).toEqual(['http://127.0.0.1:2379']);
  });

  it('rejects unknown flags, missing arguments and bad numbers', () => {
    expect(() => parseFlags(spec, ['--nope'])).toThrow(/unknown flag: --nope/);
    expect(() => parseFlags(spec, ['--name'])).toThrow(/needs an argument/);
    expect(() => parseFlags(spec, ['--port=x'])).toThrow(/invalid number/);
  });
});

describe('parseDuration', () => {
  it('reads kube-style durations into milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('15s')).toBe(15_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration(3)).toBe(3000);
    expect(() => parseDuration('soon')).toThrow();
  });
});
