import type { BatchError, Decoded } from '../batch/types';
import { insertSeriesRows, latestSeriesRows, seriesRowsOfIds, type SeriesRow } from '../clickhouse/series';
import { bySensorShard, onEveryPart, onReachableShards, type Shards } from '../clickhouse/shards';
import { seriesIdOf, seriesNameProblem } from '../model/series-name';
import {
  defaultMeta,
  latestByName,
  matches,
  metaOf,
  nextVersion,
  owners,
  toRow,
  toView,
  type SeriesMeta,
  type SeriesQuery,
  type SeriesView,
  type ValueType,
} from './meta';

export interface SeriesCatalogDeps {
  /** A connection that may write; null while ClickHouse is not open. */
  shards(): Shards | null;
  now?: () => number;
}

/** A series a write names: created with these when new. */
export interface SeriesSpec {
  name: string;
  tags: Record<string, string>;
  valueType: ValueType;
}

/** Ids of the names a write may use, and the names refused with their reasons. */
export interface Ensured {
  ids: Map<string, number>;
  refused: Map<string, BatchError>;
}

export class CatalogUnavailable extends Error {
  override readonly name = 'CatalogUnavailable';
}

const collision = (name: string, owner: string, id: number): BatchError => ({
  code: 'series_id_collision',
  field: 'series',
  message:
    `series ${JSON.stringify(name)} hashes to id ${id}, which series ${JSON.stringify(owner)} already holds; ` +
    'names are never merged: rename the series (e.g. add a path segment)',
});

/**
 * The series catalog: names to ids (hashed, see lib/model/series-name.ts),
 * metadata versions, search. Names this process has seen owning their id
 * are cached: an id never changes owner once its first claim is stored.
 */
export class SeriesCatalog {
  private readonly owned = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly deps: SeriesCatalogDeps) {
    this.now = deps.now ?? Date.now;
  }

  private shards(): Shards {
    const shards = this.deps.shards();
    if (!shards) throw new CatalogUnavailable('ClickHouse is not open yet; retry shortly');
    return shards;
  }

  /** Every catalog row of the ids of these names, from each id's shard. */
  private async rowsOf(names: readonly string[]): Promise<SeriesRow[]> {
    const ids = [...new Set(names.map(seriesIdOf))];
    const parts = await onEveryPart(
      bySensorShard(this.shards(), ids, (id) => id),
      (p) => seriesRowsOfIds(p.store, p.items),
    );
    return parts.flat();
  }

  /**
   * The ids of the series a write names, creating the ones the catalog does
   * not know (with their tags and value type). A name that is no valid name,
   * or whose hash another name already holds, is refused with its reason.
   */
  async ensure(specs: readonly SeriesSpec[]): Promise<Ensured> {
    const ids = new Map<string, number>();
    const refused = new Map<string, BatchError>();
    const unknown: SeriesSpec[] = [];
    for (const s of specs) {
      const problem = seriesNameProblem(s.name);
      if (this.owned.has(s.name)) ids.set(s.name, this.owned.get(s.name)!);
      else if (problem) refused.set(s.name, { code: 'invalid_series_name', field: 'series', message: problem });
      else unknown.push(s);
    }
    if (unknown.length === 0) return { ids, refused };
    const rows = await this.rowsOf(unknown.map((s) => s.name));
    const known = latestByName(rows);
    const fresh = unknown.filter((s) => !known.has(s.name));
    if (fresh.length > 0) {
      const now = this.now();
      const claims = fresh.map((s) => toRow(s.name, seriesIdOf(s.name), defaultMeta(s.valueType, s.tags), now, now, 'write'));
      await this.insert(claims, `series-claim-${now}-${seriesIdOf(fresh[0]!.name)}`);
      // Read again: a writer elsewhere may have claimed a colliding name at the same moment.
      rows.push(...(await this.rowsOf(fresh.map((s) => s.name))));
    }
    const owner = owners(rows);
    for (const s of unknown) {
      const id = seriesIdOf(s.name);
      const holder = owner.get(id)!;
      if (holder !== s.name) refused.set(s.name, collision(s.name, holder, id));
      else {
        this.owned.set(s.name, id);
        ids.set(s.name, id);
      }
    }
    return { ids, refused };
  }

  private async insert(rows: SeriesRow[], token: string): Promise<void> {
    await onEveryPart(
      bySensorShard(this.shards(), rows, (r) => r.id),
      (p) => insertSeriesRows(p.store, p.items, token),
    );
  }

  /** The ids of named series that exist, or an error naming the first unknown or colliding one. */
  async resolve(names: readonly string[]): Promise<Decoded<Map<string, number>>> {
    const out = new Map<string, number>();
    const missing = names.filter((n) => !this.owned.has(n));
    for (const n of names) if (this.owned.has(n)) out.set(n, this.owned.get(n)!);
    if (missing.length === 0) return { ok: true, value: out };
    const rows = await this.rowsOf(missing);
    const owner = owners(rows);
    for (const n of missing) {
      const id = seriesIdOf(n);
      if (owner.get(id) !== n)
        return { ok: false, error: { code: 'unknown_series', field: 'series', message: `no series named ${JSON.stringify(n)}` } };
      this.owned.set(n, id);
      out.set(n, id);
    }
    return { ok: true, value: out };
  }

  /** A series' latest metadata and every version before it (oldest first); null when the catalog has no such name. */
  async get(name: string): Promise<{ series: SeriesView; versions: SeriesView[] } | null> {
    const rows = await this.rowsOf([name]);
    if (owners(rows).get(seriesIdOf(name)) !== name) return null;
    const mine = rows.filter((r) => r.name === name).sort((a, b) => a.version - b.version);
    return { series: toView(latestByName(mine).get(name)!), versions: mine.map(toView) };
  }

  /**
   * Creates a series or appends a version of its metadata: the latest one
   * with `change` over it. Earlier versions stay (GET /v1/series/{name}).
   */
  async put(name: string, change: Partial<SeriesMeta>): Promise<Decoded<{ series: SeriesView; created: boolean }>> {
    const problem = seriesNameProblem(name);
    if (problem) return { ok: false, error: { code: 'invalid_series_name', field: 'name', message: problem } };
    const id = seriesIdOf(name);
    const rows = await this.rowsOf([name]);
    const holder = owners(rows).get(id);
    if (holder !== undefined && holder !== name) return { ok: false, error: collision(name, holder, id) };
    const latest = latestByName(rows.filter((r) => r.name === name)).get(name);
    const now = this.now();
    const base: SeriesMeta = latest ? metaOf(toView(latest)) : defaultMeta(change.valueType ?? 'float');
    const meta: SeriesMeta = { ...base, ...change, tags: change.tags ?? base.tags };
    const row = toRow(name, id, meta, nextVersion(latest?.version ?? 0, now), latest?.created ?? now, 'put');
    await this.insert([row], `series-put-${id}-${row.version}`);
    if (!latest) {
      const again = owners(await this.rowsOf([name])).get(id);
      if (again !== name) return { ok: false, error: collision(name, again!, id) };
    }
    this.owned.set(name, id);
    return { ok: true, value: { series: toView(row), created: !latest } };
  }

  /** Latest metadata of the series matching every given criterion, by name. */
  async search(query: SeriesQuery, limit: number): Promise<SeriesView[]> {
    const rows = (await onReachableShards(this.shards(), latestSeriesRows)).flat();
    const owner = owners(rows);
    return rows
      .filter((r) => owner.get(r.id) === r.name)
      .map(toView)
      .filter((v) => matches(v, query))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(0, limit);
  }
}
