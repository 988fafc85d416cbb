// kube's AtomicWriter (pkg/volume/util/atomic_writer.go): the files of a
// configMap, secret, downwardAPI or projected volume change all at once, so a
// container never reads half an update (a new token beside an old CA, a
// truncated file). The payload is written into a fresh hidden directory
// (..<timestamp>.<random>), the ..data symlink is swapped to it by a rename
// (atomic), and each visible name is a symlink through ..data:
//
//   <volume>/token -> ..data/token
//   <volume>/..data -> ..2024_05_01_10_00_00.123456
//
// Nothing is written when the payload is what the volume already holds.

import fs from 'node:fs';
import path from 'node:path';

export interface FileProjection { data: Buffer; mode: number }

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** A payload path must stay inside the volume and not collide with the writer's own names. */
function cleanPath(p: string): string {
  if (!p || path.isAbsolute(p)) throw new Error(`invalid path: ${JSON.stringify(p)}: must be relative`);
  const clean = path.posix.normalize(p);
  if (clean.split('/').includes('..') || clean.startsWith('..')) throw new Error(`invalid path: ${JSON.stringify(p)}: must not contain '..' or start with '..'`);
  return clean.replace(/\/$/, '');
}

function timestampName(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.`;
}

/** Every file under dir, as paths relative to it. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out;
}

const topOf = (p: string) => p.split('/')[0];

/** Whether the current data directory holds exactly this payload, contents and modes. */
function sameAsCurrent(tsDir: string, payload: Map<string, FileProjection>, existing: string[]): boolean {
  if (existing.length !== payload.size) return false;
  for (const [p, f] of payload) {
    const file = path.join(tsDir, p);
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (!st?.isFile() || (st.mode & 0o7777) !== f.mode || st.size !== f.data.length) return false;
    if (!fs.readFileSync(file).equals(f.data)) return false;
  }
  return true;
}

/**
 * Make targetDir hold exactly the payload (paths relative to it). Returns
 * whether anything changed. Throws on a path that would leave the volume.
 */
export function writeAtomic(targetDir: string, input: Map<string, FileProjection>): boolean {
  const payload = new Map<string, FileProjection>();
  for (const [p, f] of input) payload.set(cleanPath(p), f);
  fs.mkdirSync(targetDir, { recursive: true, mode: 0o755 });

  const dataLink = path.join(targetDir, DATA);
  let oldTs: string | undefined;
  try {
    oldTs = fs.readlinkSync(dataLink);
  } catch {
    oldTs = undefined;
  }
  const oldTsDir = oldTs ? path.join(targetDir, oldTs) : undefined;
  const existing = oldTsDir && fs.existsSync(oldTsDir) ? filesUnder(oldTsDir) : [];
  const newTops = new Set([...payload.keys()].map(topOf));

  if (oldTsDir && existing.length + payload.size > 0 && sameAsCurrent(oldTsDir, payload, existing)) {
    createVisible(targetDir, newTops);
    return false;
  }
  if (oldTsDir && !existing.length && !payload.size) return false;

  const tsDir = fs.mkdtempSync(path.join(targetDir, timestampName()));
  // Group and others must be able to walk the tree whatever the kubelet's umask (the files' own modes decide the rest).
  fs.chmodSync(tsDir, 0o755);
  for (const [p, f] of payload) {
    const file = path.join(tsDir, p);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, f.data, { mode: f.mode });
    fs.chmodSync(file, f.mode);
  }
  createVisible(targetDir, newTops);

  // The swap: a new symlink renamed over the old one.
  const tmpLink = path.join(targetDir, DATA_TMP);
  fs.rmSync(tmpLink, { force: true });
  fs.symlinkSync(path.basename(tsDir), tmpLink);
  fs.renameSync(tmpLink, dataLink);

  // Visible names the new payload no longer has, then the old data.
  for (const top of new Set(existing.map(topOf))) {
    if (!newTops.has(top)) fs.rmSync(path.join(targetDir, top), { force: true, recursive: true });
  }
  if (oldTsDir && oldTsDir !== tsDir) fs.rmSync(oldTsDir, { recursive: true, force: true });
  return true;
}

/** A symlink <name> -> ..data/<name> for each top-level name, made once. */
function createVisible(targetDir: string, tops: Set<string>): void {
  for (const top of tops) {
    const visible = path.join(targetDir, top);
    if (fs.lstatSync(visible, { throwIfNoEntry: false })) continue;
    fs.symlinkSync(path.posix.join(DATA, top), visible);
  }
}
