import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeAtomic, type FileProjection } from './atomicwriter.js';

const payload = (o: Record<string, string | [string, number]>) =>
  new Map<string, FileProjection>(Object.entries(o).map(([k, v]) => [k, { data: Buffer.from(Array.isArray(v) ? v[0] : v), mode: Array.isArray(v) ? v[1] : 0o644 }]));

describe('writeAtomic (kube\'s AtomicWriter)', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });
  const volume = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    dirs.push(d);
    return path.join(d, 'vol');
  };

  it('lays files out behind a ..data symlink to a timestamped directory, with their modes', () => {
    const v = volume();
    expect(writeAtomic(v, payload({ token: 'abc', 'ca.crt': ['CA', 0o600], 'sub/dir/file': 'deep' }))).toBe(true);
    const target = fs.readlinkSync(path.join(v, '..data'));
    expect(target).toMatch(/^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\./);
    expect(fs.readlinkSync(path.join(v, 'token'))).toBe('..data/token');
    expect(fs.readlinkSync(path.join(v, 'sub'))).toBe('..data/sub');
    expect(fs.readFileSync(path.join(v, 'token'), 'utf8')).toBe('abc');
    expect(fs.readFileSync(path.join(v, 'sub/dir/file'), 'utf8')).toBe('deep');
    expect(fs.statSync(path.join(v, 'ca.crt')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(v, 'token')).mode & 0o777).toBe(0o644);
    expect(fs.statSync(path.join(v, target)).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(v).sort()).toEqual([target, '..data', 'ca.crt', 'sub', 'token'].sort());
  });

  it('writes nothing when the payload is what the volume holds', () => {
    const v = volume();
    writeAtomic(v, payload({ a: '1', b: '2' }));
    const before = fs.readlinkSync(path.join(v, '..data'));
    expect(writeAtomic(v, payload({ a: '1', b: '2' }))).toBe(false);
    expect(fs.readlinkSync(path.join(v, '..data'))).toBe(before);
    // A mode change alone is a change.
    expect(writeAtomic(v, payload({ a: ['1', 0o400], b: '2' }))).toBe(true);
  });

  it('swaps the whole payload at once: a path opened before keeps the old content, the visible name shows the new', () => {
    const v = volume();
    writeAtomic(v, payload({ token: 'old-token', namespace: 'default' }));
    const oldData = fs.readlinkSync(path.join(v, '..data'));
    const fd = fs.openSync(path.join(v, 'token'), 'r');
    try {
      expect(writeAtomic(v, payload({ token: 'new-token', namespace: 'default' }))).toBe(true);
      expect(fs.readFileSync(path.join(v, 'token'), 'utf8')).toBe('new-token');
      expect(fs.readFileSync(fd, 'utf8')).toBe('old-token');
    } finally {
      fs.closeSync(fd);
    }
    // The old timestamped directory is gone; only the new one and the links remain.
    expect(fs.existsSync(path.join(v, oldData))).toBe(false);
    expect(fs.readdirSync(v).filter((f) => f.startsWith('..2'))).toHaveLength(1);
    expect(fs.existsSync(path.join(v, '..data_tmp'))).toBe(false);
  });

  it('removes names the new payload no longer has', () => {
    const v = volume();
    writeAtomic(v, payload({ keep: 'k', gone: 'g', 'dir/x': 'x' }));
    writeAtomic(v, payload({ keep: 'k2' }));
    expect(fs.readdirSync(v).filter((f) => !f.startsWith('..')).sort()).toEqual(['keep']);
    expect(fs.readFileSync(path.join(v, 'keep'), 'utf8')).toBe('k2');
    writeAtomic(v, payload({}));
    expect(fs.readdirSync(v).filter((f) => !f.startsWith('..'))).toEqual([]);
  });

  it('refuses paths that would leave the volume or shadow its own names', () => {
    const v = volume();
    for (const bad of ['../escape', '/etc/passwd', 'a/../../b', '..data', '..2020_01_01']) {
      expect(() => writeAtomic(v, payload({ [bad]: 'x' })), bad).toThrow(/invalid path/);
    }
    expect(fs.existsSync(path.join(path.dirname(v), 'escape'))).toBe(false);
  });
});
