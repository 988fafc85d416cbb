// The built-in kinds: every module directly in api/kinds/<group>/ whose
// default export is a KindDefinition (or a list of them, for a kind served at
// several versions). Modules are found by listing the folders, so adding a
// kind is adding its file: no list to edit. Loaded once, before anything
// reads the resource table (a top-level await; kind modules must therefore
// not import api/resources.ts at run time, only api/kind.ts and the shared
// helpers). Every process that reads the table loads these, so a group's
// heavy helpers (a CEL or cron parser) live in a sub-folder, which is not
// listed, and reach the kind through its load hook (KindDefinition.load).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { KindDefinition } from '../kind.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Under vitest the sources run as .ts; the built tree has .js beside them.
const ext = path.extname(fileURLToPath(import.meta.url));

function moduleFiles(dir: string, depth = 0): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (depth === 0) out.push(...moduleFiles(p, 1));
    } else if (depth === 1 && e.name.endsWith(ext) && !e.name.endsWith(`.test${ext}`) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

async function load(): Promise<KindDefinition[]> {
  const out: KindDefinition[] = [];
  for (const file of moduleFiles(here)) {
    const mod = (await import(pathToFileURL(file).href)) as { default?: KindDefinition | KindDefinition[] };
    // Helper modules beside the kinds (shared validation of a group) export no default.
    if (!mod.default) continue;
    out.push(...(Array.isArray(mod.default) ? mod.default : [mod.default]));
  }
  return out;
}

export const builtinKinds: readonly KindDefinition[] = await load();
