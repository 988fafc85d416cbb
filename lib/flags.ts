// Command-line flags in Kubernetes' style: --name=value or --name value,
// booleans as --flag / --flag=false. Each component's main.ts declares its
// flags with defaults and gets them back typed.

export type FlagSpec = Record<string, string | number | boolean | string[]>;
export type Flags<S extends FlagSpec> = { [K in keyof S]: S[K] extends boolean ? boolean : S[K] extends number ? number : S[K] extends string[] ? string[] : string };

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Parse argv against a spec whose keys are camelCase flag names
 * (`etcdServers` is --etcd-servers). Unknown flags are an error, as with pflag.
 */
export function parseFlags<S extends FlagSpec>(spec: S, argv: string[] = process.argv.slice(2), usage?: string): Flags<S> & { _: string[] } {
  const out: Record<string, unknown> = { _: [] as string[] };
  for (const [k, v] of Object.entries(spec)) out[k] = Array.isArray(v) ? [...v] : v;
  // As pflag's string slices: the first use of a list flag replaces its default, later uses append.
  const listsGiven = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write((usage ? usage + '\n\n' : '') + 'Flags:\n' + Object.entries(spec).map(([k, v]) => `  --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} (default ${JSON.stringify(v)})`).join('\n') + '\n');
      process.exit(0);
    }
    if (!arg.startsWith('--')) {
      (out._ as string[]).push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = camel(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
    if (!(name in spec)) throw new Error(`unknown flag: ${arg.split('=')[0]}`);
    const def = spec[name];
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (typeof def === 'boolean') {
      out[name] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (value === undefined) value = argv[++i];
    if (value === undefined) throw new Error(`flag needs an argument: ${arg}`);
    if (typeof def === 'number') {
      const n = Number(value);
      if (Number.isNaN(n)) throw new Error(`invalid number for ${arg}: ${value}`);
      out[name] = n;
    } else if (Array.isArray(def)) {
      out[name] = [...(listsGiven.has(name) ? (out[name] as string[]) : []), ...value.split(',')];
      listsGiven.add(name);
    } else {
      out[name] = value;
    }
  }
  return out as Flags<S> & { _: string[] };
}

/** Durations as Kubernetes flags write them: 15s, 10m, 1h, 500ms, or bare seconds. */
export function parseDuration(s: string | number): number {
  if (typeof s === 'number') return s * 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`invalid duration: ${s}`);
  const n = Number(m[1]);
  switch (m[2]) {
    case 'ms': return n;
    case 'm': return n * 60_000;
    case 'h': return n * 3_600_000;
    default: return n * 1000;
  }
}
