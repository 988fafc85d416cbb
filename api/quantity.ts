// Resource quantities (k8s.io/apimachinery/pkg/api/resource): "100m" CPU,
// "128Mi" memory, "1e3", "0.5". The scheduler and kubelet compare requests
// in millicores and bytes, so those are the two views offered; like
// Quantity.Value() and MilliValue(), fractions round up.

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const syntax = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** The error upstream's ParseQuantity returns. */
export const quantityFormatError = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** The quantity as a plain number ("100m" -> 0.1, "1Ki" -> 1024). Throws on bad syntax. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = syntax.exec(q.trim());
  if (!m) throw new Error(quantityFormatError);
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in binary) return n * binary[suffix];
  if (suffix in decimal) return n * decimal[suffix];
  return n * 10 ** Number(suffix.slice(1));
}

/**
 * The error for a Quantity that does not parse, or whose value a double
 * cannot hold ("1e1000" matches the syntax but is Infinity here: upstream
 * keeps it as a big decimal, Skiff's quantities are doubles, so it is refused
 * with upstream's parse error rather than stored and compared as Infinity).
 */
export function quantityError(q: unknown): string | undefined {
  if (typeof q !== 'string' && typeof q !== 'number') return undefined;
  try {
    return Number.isFinite(parseQuantity(q)) ? undefined : quantityFormatError;
  } catch {
    return quantityFormatError;
  }
}

export function isValidQuantity(q: string | number): boolean {
  try {
    parseQuantity(q);
    return true;
  } catch {
    return false;
  }
}

// Rounding to 1e-9 first keeps "0.1" * 1000 from becoming 100.00000000000001 and rounding up.
const ceil = (x: number) => Math.ceil(Math.round(x * 1e9) / 1e9);

/** Quantity.MilliValue(): CPU in millicores ("500m" -> 500, "2" -> 2000). */
export function milliValue(q: string | number | undefined): number {
  return q === undefined ? 0 : ceil(parseQuantity(q) * 1000);
}

/** Quantity.Value(): memory and storage in bytes ("128Mi" -> 134217728). */
export function value(q: string | number | undefined): number {
  return q === undefined ? 0 : ceil(parseQuantity(q));
}

/** Millicores as kubectl prints CPU ("250m", "2"). */
export function formatMilli(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Bytes in the largest binary unit that divides them ("128Mi", "1536Ki"). */
export function formatBytes(bytes: number): string {
  for (const unit of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
    if (bytes !== 0 && bytes % binary[unit] === 0) return `${bytes / binary[unit]}${unit}`;
  }
  return String(bytes);
}
