import type { SeriesRow } from '../clickhouse/series';

export const VALUE_TYPES = ['float', 'integer', 'unsigned', 'boolean'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
export const INTERPOLATIONS = ['linear', 'step'] as const;
export type Interpolation = (typeof INTERPOLATIONS)[number];

/** What a person may set on a series; every field optional in a change. */
export interface SeriesMeta {
  unit: string;
  description: string;
  asset: string;
  tags: Record<string, string>;
  valueType: ValueType;
  interpolation: Interpolation;
}

/** A series as the API shows it: its latest metadata, its id and version. */
export interface SeriesView extends SeriesMeta {
  name: string;
  id: number;
  version: number;
  /** Epoch ms of the first claim of the name. */
  created: number;
}

/**
 * Defaults of a series nobody described: a value type from its first write,
 * and interpolation to match (booleans and integers hold until the next
 * point; floats are drawn as lines).
 */
export function defaultMeta(valueType: ValueType, tags: Record<string, string> = {}): SeriesMeta {
  return { unit: '', description: '', asset: '', tags, valueType, interpolation: valueType === 'float' ? 'linear' : 'step' };
}

/** The metadata fields of a view, nothing else. */
export function metaOf(v: SeriesView): SeriesMeta {
  return { unit: v.unit, description: v.description, asset: v.asset, tags: v.tags, valueType: v.valueType, interpolation: v.interpolation };
}

export const sortedTags = (tags: Record<string, string>): [string, string][] =>
  Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

export function toRow(name: string, id: number, meta: SeriesMeta, version: number, created: number, source: string): SeriesRow {
  return { name, id, version, created, source, ...meta, tags: sortedTags(meta.tags) };
}

export function toView(row: SeriesRow): SeriesView {
  return {
    name: row.name,
    id: row.id,
    version: row.version,
    created: row.created,
    unit: row.unit,
    description: row.description,
    asset: row.asset,
    tags: Object.fromEntries(row.tags),
    valueType: row.valueType as ValueType,
    interpolation: row.interpolation as Interpolation,
  };
}

/**
 * The owner of each id among catalog rows: of the names claiming an id, the
 * one claimed first (smallest `created`, then the smaller name). Every
 * reader decides the same from the same rows, without coordination; a later
 * name with the same hash is refused, never merged.
 */
export function owners(rows: readonly SeriesRow[]): Map<number, string> {
  const first = new Map<number, { name: string; created: number }>();
  for (const r of rows) {
    const f = first.get(r.id);
    if (!f || r.created < f.created || (r.created === f.created && r.name < f.name)) first.set(r.id, { name: r.name, created: r.created });
  }
  return new Map([...first].map(([id, f]) => [id, f.name]));
}

/** Each name's latest row (highest version), names in order. */
export function latestByName(rows: readonly SeriesRow[]): Map<string, SeriesRow> {
  const out = new Map<string, SeriesRow>();
  for (const r of rows) {
    const cur = out.get(r.name);
    if (!cur || r.version > cur.version) out.set(r.name, { ...r, created: Math.min(r.created, cur?.created ?? r.created) });
    else if (r.created < cur.created) cur.created = r.created;
  }
  return out;
}

/** A version above `previous` and, clocks permitting, the time of the change. */
export const nextVersion = (previous: number, now: number) => Math.max(now, previous + 1);

export interface SeriesQuery {
  /** Names starting with this. */
  prefix?: string;
  /** Asset paths starting with this. */
  asset?: string;
  /** key=value tags, all of which a series carries. */
  tags?: [string, string][];
  /** Case-insensitive text in name, description, unit or asset. */
  q?: string;
}

export function matches(v: SeriesView, query: SeriesQuery): boolean {
  if (query.prefix && !v.name.startsWith(query.prefix)) return false;
  if (query.asset && !v.asset.startsWith(query.asset)) return false;
  if (query.tags?.some(([k, val]) => v.tags[k] !== val)) return false;
  if (query.q) {
    const q = query.q.toLowerCase();
    if (![v.name, v.description, v.unit, v.asset].some((s) => s.toLowerCase().includes(q))) return false;
  }
  return true;
}
