import { open, stat } from 'node:fs/promises';
import type { BatchLimits } from '../batch/types';
import type { Shards } from '../clickhouse/shards';
import { allocatePoints, appendPoint, type PointColumns } from '../model/points';
import { QUALITY } from '../model/quality';
import { CONFLICT_CODE, type Conflict } from '../ingest/conflicts';
import { storeOnShards, type OnConflict } from '../ingest/store-points';
import type { LinePoint, Rejection } from '../lineprotocol/points';
import { SeriesCatalog } from '../series/catalog';
import { parseLines, resolvePoints } from '../series/line-write';
import { mappedCsvParser, type CsvMapping } from './csv-mapping';
import { csvParser, ImportFileError, type ImportFormat, type InfluxPrecision } from './import-formats';

/** Import chunks end on line boundaries; each is stored by one activity. */
const CHUNK_BYTES = 32 * 1024 * 1024;

export interface ImportPlan {
  /** CSV header line (empty for line protocol). */
  header: string;
  /** Byte ranges [start, end) of whole lines. */
  chunks: { start: number; end: number }[];
  bytes: number;
  /** Line number of the first chunk's first line (2 after a CSV header). */
  firstLine: number;
}

/** A file that cannot be opened will not open on a retry either. */
const unreadable = (err: NodeJS.ErrnoException) => {
  throw new ImportFileError(`the file cannot be read (${err.code ?? err.message})`);
};

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const fh = await open(path, 'r').catch(unreadable);
  try {
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Splits a file into chunks at line ends (and takes the CSV header off the first). */
export async function planImport(path: string, format: ImportFormat, mapping?: CsvMapping): Promise<ImportPlan> {
  const file = await stat(path).catch(unreadable);
  if (!file.isFile()) throw new ImportFileError('the path is not a regular file');
  const size = file.size;
  let header = '';
  let pos = 0;
  if (format === 'csv') {
    const head = await readRange(path, 0, Math.min(size, 64 * 1024));
    const nl = head.indexOf(10);
    if (nl < 0 && size > head.length) throw new ImportFileError('the CSV header (line 1) is longer than 64 KiB');
    header = head
      .subarray(0, nl < 0 ? head.length : nl)
      .toString('utf8')
      .replace(/\r$/, '');
    // A header without the columns fails the import here, once.
    if (mapping) mappedCsvParser(header, mapping);
    else csvParser(header);
    pos = nl < 0 ? size : nl + 1;
  }
  const chunks: { start: number; end: number }[] = [];
  while (pos < size) {
    let end = Math.min(size, pos + CHUNK_BYTES);
    if (end < size) {
      const tail = await readRange(path, end, Math.min(size, end + 64 * 1024));
      const nl = tail.indexOf(10);
      end = nl < 0 ? Math.min(size, end + tail.length) : end + nl + 1;
    }
    chunks.push({ start: pos, end });
    pos = end;
  }
  return { header, chunks, bytes: size, firstLine: format === 'csv' ? 2 : 1 };
}

export interface ImportChunk {
  path: string;
  format: ImportFormat;
  precision: InfluxPrecision;
  /** CSV columns by header name; absent: the sensor, ts and value columns. */
  mapping?: CsvMapping;
  header: string;
  start: number;
  end: number;
  /** Line number of the chunk's first line in the file, for the examples of rejected lines. */
  firstLine: number;
  version: number;
  windowMs: number;
  name: string;
  onConflict?: OnConflict;
}

export interface ImportChunkResult {
  lines: number;
  /** Line breaks in the chunk: the next chunk starts at firstLine + newlines. */
  newlines: number;
  points: number;
  inserted: number;
  alreadyStored: number;
  /** Points whose (sensor, ts) is stored with another value: not stored, the first value stays. */
  conflicting: number;
  /** Points whose (sensor, ts) was stored with another value, replacing it (onConflict `replace`). */
  replaced: number;
  rejected: number;
  /** The first few rejected lines: line number and reason, never the line's content. */
  examples: string[];
  /** The first few conflicting points: sensor, timestamp, the value that stays and the one offered. */
  conflicts: string[];
}

/** The CSV lines of a chunk as points: by the mapping (series names or ids), or from sensor, ts and value columns. */
function csvPoints(chunk: ImportChunk, lines: string[], limits: BatchLimits) {
  const points: LinePoint[] = [];
  const rejected: Rejection[] = [];
  let count = 0;
  const parse = chunk.mapping ? mappedCsvParser(chunk.header, chunk.mapping) : csvParser(chunk.header);
  for (const [i, text] of lines.entries()) {
    const line = chunk.firstLine + i;
    const p = parse(text.replace(/\r$/, ''));
    if (p === null) continue;
    count++;
    if (!p.ok) {
      rejected.push({ line, reason: p.error });
      continue;
    }
    const series = 'series' in p ? p.series : String(p.sensor);
    const sensor = /^\d+$/.test(series) ? Number(series) : null;
    if (sensor !== null && sensor > limits.maxSensorId)
      rejected.push({ line, reason: `sensor id above ${limits.maxSensorId} (HERODOTUS_MAX_SENSOR_ID)` });
    else if (p.ts < limits.minTs || p.ts > limits.maxTs)
      rejected.push({
        line,
        reason: `timestamp outside ${new Date(limits.minTs).toISOString()} … ${new Date(limits.maxTs).toISOString()}`,
      });
    else {
      const quality = 'quality' in p && p.quality !== undefined ? { quality: p.quality } : {};
      points.push({
        line,
        name: sensor === null ? series : null,
        sensor,
        tags: {},
        valueType: 'float',
        ts: p.ts,
        value: p.value,
        ...quality,
      });
    }
  }
  return { lines: count, points, rejected };
}

/** Parses, validates and stores one chunk of an import file, exactly once; named series are created on first write. */
export async function importChunk(shards: Shards, chunk: ImportChunk, limits: BatchLimits): Promise<ImportChunkResult> {
  const text = (await readRange(chunk.path, chunk.start, chunk.end)).toString('utf8');
  const lines = text.split('\n');
  const { minTs, maxTs, maxSensorId } = limits;
  const parsed =
    chunk.format === 'csv'
      ? csvPoints(chunk, lines, limits)
      : parseLines(text, { precision: chunk.precision, now: null, minTs, maxTs, maxSensorId }, chunk.firstLine);
  const resolved = await resolvePoints(parsed.points, new SeriesCatalog({ shards: () => shards }));
  const rejected = [...parsed.rejected, ...resolved.rejected].sort((a, b) => a.line - b.line);
  const points = allocatePoints(resolved.points.length);
  for (const p of resolved.points) {
    const i = points.length++;
    points.sensor[i] = p.sensor;
    points.ts[i] = p.ts;
    points.value[i] = p.value;
    points.quality[i] = p.quality ?? QUALITY.good;
  }
  // resolvePoints refuses a line repeating an earlier line's (series, ts), with the reason: no repeat is left here.
  const sorted = sortUnique(points);
  const { version, windowMs, name, onConflict } = chunk;
  const stored = await storeOnShards(shards, { points: sorted, version, windowMs, name, ...(onConflict ? { onConflict } : {}) });
  const conflicts = stored.conflicts;
  return {
    lines: parsed.lines,
    newlines: lines.length - 1,
    points: sorted.length,
    inserted: stored.inserted,
    alreadyStored: stored.alreadyStored,
    conflicting: conflicts.length,
    replaced: stored.replaced,
    rejected: rejected.length,
    examples: rejected.slice(0, 10).map((r) => `line ${r.line}: ${r.field ? `field ${JSON.stringify(r.field)}: ` : ''}${r.reason}`),
    conflicts: conflicts.slice(0, 10).map(describeConflict),
  };
}

function describeConflict(c: Conflict): string {
  return `sensor ${c.sensor} at ${new Date(c.ts).toISOString()} (${c.ts}): stored ${c.stored}, offered ${c.offered} (${CONFLICT_CODE})`;
}

/** Sorted by (sensor, ts), first occurrence of a (sensor, ts) kept. */
function sortUnique(p: PointColumns): PointColumns {
  const idx = Array.from({ length: p.length }, (_, i) => i);
  idx.sort((a, b) => p.sensor[a]! - p.sensor[b]! || p.ts[a]! - p.ts[b]! || a - b);
  const out = allocatePoints(p.length);
  for (const i of idx) {
    const n = out.length;
    if (n > 0 && out.sensor[n - 1] === p.sensor[i] && out.ts[n - 1] === p.ts[i]) continue;
    appendPoint(out, p, i);
  }
  return out;
}
