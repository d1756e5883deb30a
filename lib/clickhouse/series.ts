import { SERIES_TABLE } from './schema';
import { int } from './sql';
import type { JsonInt64, Store } from './store';

/** One version of a series' metadata, as the catalog table holds it. */
export interface SeriesRow {
  name: string;
  id: number;
  version: number;
  created: number;
  unit: string;
  description: string;
  asset: string;
  /** [key, value] pairs sorted by key. */
  tags: [string, string][];
  valueType: string;
  interpolation: string;
  source: string;
}

/**
 * Text reaches SQL only hex-encoded (`unhex('…')`): no escaping rules to get
 * right, the same on every server version, whatever the text holds.
 */
const text = (s: string) => `unhex('${Buffer.from(s, 'utf8').toString('hex')}')`;

const rowSelect = (r: SeriesRow) =>
  `SELECT ${text(r.name)} AS name, toUInt32(${int(r.id)}) AS id, toUInt64(${int(r.version)}) AS version, toInt64(${int(r.created)}) AS created, ` +
  `${text(r.unit)} AS unit, ${text(r.description)} AS description, ${text(r.asset)} AS asset, ${text(JSON.stringify(r.tags))} AS tags, ` +
  `${text(r.valueType)} AS value_type, ${text(r.interpolation)} AS interpolation, ${text(r.source)} AS source`;

/** Rows per statement: keeps a statement well under the server's query size limit. */
const ROWS_PER_STATEMENT = 100;

/** Appends versions; rows of one call go to the store that holds their ids. */
export async function insertSeriesRows(store: Store, rows: readonly SeriesRow[], token: string): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const part = rows.slice(i, i + ROWS_PER_STATEMENT);
    await store.insert(`INSERT INTO ${store.table(SERIES_TABLE.name)} ${part.map(rowSelect).join(' UNION ALL ')}`, `${token}-${i}`);
  }
}

interface RowJson {
  name: string;
  id: number;
  version: JsonInt64;
  created: JsonInt64;
  unit: string;
  description: string;
  asset: string;
  tags: string;
  value_type: string;
  interpolation: string;
  source: string;
}

const COLUMNS = 'name, id, version, created, unit, description, asset, tags, value_type, interpolation, source';

const toRow = (r: RowJson): SeriesRow => ({
  name: r.name,
  id: Number(r.id),
  version: Number(r.version),
  created: Number(r.created),
  unit: r.unit,
  description: r.description,
  asset: r.asset,
  tags: JSON.parse(r.tags) as [string, string][],
  valueType: r.value_type,
  interpolation: r.interpolation,
  source: r.source,
});

/** Every version of every name whose id is one of `ids`: a name's rows and those of any name colliding with it. */
export async function seriesRowsOfIds(store: Store, ids: readonly number[]): Promise<SeriesRow[]> {
  if (ids.length === 0) return [];
  const rows = await store.rows<RowJson>(
    `SELECT ${COLUMNS} FROM ${store.table(SERIES_TABLE.name)} WHERE id IN (${ids.map(int).join(', ')}) ORDER BY id, name, version`,
  );
  return rows.map(toRow);
}

/** The latest version of every name, with the first claim's time of each (for ownership). */
export async function latestSeriesRows(store: Store): Promise<SeriesRow[]> {
  // Aggregates under other names: an alias equal to a column would stand for the column inside argMax.
  const others = COLUMNS.split(', ').filter((c) => c !== 'name' && c !== 'version' && c !== 'created');
  const rows = await store.rows<RowJson>(
    `SELECT name, l_version AS version, l_created AS created, ${others.map((c) => `l_${c} AS ${c}`).join(', ')} FROM (
       SELECT name, max(version) AS l_version, min(created) AS l_created, ${others.map((c) => `argMax(${c}, version) AS l_${c}`).join(', ')}
       FROM ${store.table(SERIES_TABLE.name)} GROUP BY name
     ) ORDER BY name`,
  );
  return rows.map(toRow);
}
