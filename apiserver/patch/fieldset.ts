// Sets of field paths as structured-merge-diff keeps them, and their FieldsV1
// encoding in metadata.managedFields: "f:<field>", "k:<json of key fields>"
// for items of keyed lists, "v:<json>" for items of sets, "." for a node that
// is itself a member besides having children.

const none: ReadonlyMap<string, FieldSet> = new Map();

export class FieldSet {
  self = false;
  // Made on a node's first child: most nodes of a set are leaves, and every write builds sets of whole objects.
  private kids?: Map<string, FieldSet>;

  get children(): ReadonlyMap<string, FieldSet> {
    return this.kids ?? none;
  }

  child(pe: string): FieldSet {
    let c = this.kids?.get(pe);
    if (!c) {
      c = new FieldSet();
      this.setChild(pe, c);
    }
    return c;
  }

  setChild(pe: string, c: FieldSet): void {
    (this.kids ??= new Map()).set(pe, c);
  }

  removeChild(pe: string): void {
    this.kids?.delete(pe);
  }

  insert(path: string[]): void {
    let n: FieldSet = this;
    for (const pe of path) n = n.child(pe);
    n.self = true;
  }

  /** The node at path, member or not. */
  at(path: string[]): FieldSet | undefined {
    let n: FieldSet | undefined = this;
    for (const pe of path) n = n?.children.get(pe);
    return n;
  }

  has(path: string[]): boolean {
    return this.at(path)?.self ?? false;
  }

  empty(): boolean {
    if (this.self) return false;
    for (const c of this.children.values()) if (!c.empty()) return false;
    return true;
  }

  union(o: FieldSet): FieldSet {
    const out = this.clone();
    out.add(o);
    return out;
  }

  /** Makes this set the union of itself and o (sharing none of o's nodes). */
  add(o: FieldSet): this {
    this.self ||= o.self;
    for (const [pe, c] of o.children) this.child(pe).add(c);
    return this;
  }

  /** Members of this set that are not members of o. */
  difference(o: FieldSet | undefined): FieldSet {
    const out = new FieldSet();
    out.self = this.self && !o?.self;
    for (const [pe, c] of this.children) {
      const d = c.difference(o?.children.get(pe));
      if (!d.empty()) out.setChild(pe, d);
    }
    return out;
  }

  intersection(o: FieldSet | undefined): FieldSet {
    const out = new FieldSet();
    if (!o) return out;
    out.self = this.self && o.self;
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      if (!oc) continue;
      const d = c.intersection(oc);
      if (!d.empty()) out.setChild(pe, d);
    }
    return out;
  }

  clone(): FieldSet {
    const out = new FieldSet();
    out.self = this.self;
    for (const [pe, c] of this.children) out.setChild(pe, c.clone());
    return out;
  }

  equals(o: FieldSet): boolean {
    return this.difference(o).empty() && o.difference(this).empty();
  }

  /** Member paths in structured-merge-diff's order. */
  paths(prefix: string[] = []): string[][] {
    const out: string[][] = [];
    if (this.self) out.push(prefix);
    for (const pe of sortedElements(this.children.keys())) out.push(...this.children.get(pe)!.paths([...prefix, pe]));
    return out;
  }

  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    if (!v || typeof v !== 'object' || Array.isArray(v)) return s;
    for (const [k, c] of Object.entries(v as Record<string, unknown>)) {
      if (k === '.') {
        s.self = true;
        continue;
      }
      const child = FieldSet.fromFieldsV1(c);
      if (c && typeof c === 'object' && Object.keys(c).length === 0) child.self = true;
      s.setChild(k, child);
    }
    return s;
  }

  toFieldsV1(): Record<string, unknown> {
    return this.encode() ?? {};
  }

  /** FieldsV1 of this node, undefined when it holds no member; one pass, not an empty() per level. */
  private encode(): Record<string, unknown> | undefined {
    if (!this.kids) return this.self ? {} : undefined;
    const out: Record<string, unknown> = {};
    if (this.self) out['.'] = {};
    let kids = 0;
    for (const pe of sortedElements(this.kids.keys())) {
      const v = this.kids.get(pe)!.encode();
      if (v) {
        out[pe] = v;
        kids++;
      }
    }
    if (kids) return out;
    return this.self ? {} : undefined;
  }
}

const rank: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** Field names, then keys, then values, then indexes; each lexically (fieldpath.PathElement.Less). */
function sortedElements(pes: Iterable<string>): string[] {
  return [...pes].sort((a, b) => (rank[a[0]!] ?? 9) - (rank[b[0]!] ?? 9) || (a < b ? -1 : a > b ? 1 : 0));
}

/** A path as fieldpath.Path.String prints it: .spec.containers[name="main"].image */
export function pathString(path: string[]): string {
  return path.map((pe) => {
    const body = pe.slice(2);
    switch (pe[0]) {
      case 'f': return `.${body}`;
      case 'k': {
        const key = JSON.parse(body) as Record<string, unknown>;
        return `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
      }
      case 'v': return `[=${body}]`;
      case 'i': return `[${body}]`;
      default: return pe;
    }
  }).join('');
}
