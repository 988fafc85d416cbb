// The layout rule: each top-level folder with a main.ts is one process, and
// its code imports shared code (api/, client/, lib/) but never another
// process's folder, so what two processes must agree on lives in one shared
// module (kube's component-helpers) rather than in one of them. The CLI
// starts the others and is the one exception.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const processes = fs.readdirSync(repo).filter((d) => d !== 'cli' && fs.existsSync(path.join(repo, d, 'main.ts')));

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('layout', () => {
  it('finds the process folders', () => {
    expect(processes).toEqual(expect.arrayContaining(['apiserver', 'controllers', 'kube-proxy', 'kubelet', 'scheduler']));
  });

  it.each(processes)('%s imports no other process\'s folder', (folder) => {
    const foreign: string[] = [];
    for (const file of sources(path.join(repo, folder))) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = path.relative(repo, path.resolve(path.dirname(file), m[1]!)).split(path.sep)[0]!;
        if (target !== folder && (processes.includes(target) || target === 'cli')) foreign.push(`${path.relative(repo, file)} -> ${m[1]}`);
      }
    }
    expect(foreign).toEqual([]);
  });
});
