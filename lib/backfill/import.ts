import { open, stat } from 'node:fs/promises';
import type { BatchLimits } from '../batch/types';
import type { Shards } from '../clickhouse/shards';
import { allocatePoints, type PointColumns } from '../model/points';
import { storeOnShards } from '../ingest/store-points';
import { csvParser, ImportFileError, influxParser, type ImportFormat, type InfluxPrecision, type ParsedLine } from './import-formats';

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
export async function planImport(path: string, format: ImportFormat): Promise<ImportPlan> {
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
    csvParser(header); // a header without the columns fails the import here, once
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
  header: string;
  start: number;
  end: number;
  /** Line number of the chunk's first line in the file, for the examples of rejected lines. */
  firstLine: number;
  version: number;
  windowMs: number;
  name: string;
}

export interface ImportChunkResult {
  lines: number;
  /** Line breaks in the chunk: the next chunk starts at firstLine + newlines. */
  newlines: number;
  points: number;
  inserted: number;
  alreadyStored: number;
  rejected: number;
  /** The first few rejected lines: line number and reason, never the line's content. */
  examples: string[];
}

/** Parses, validates and stores one chunk of an import file, exactly once. */
export async function importChunk(shards: Shards, chunk: ImportChunk, limits: BatchLimits): Promise<ImportChunkResult> {
  const text = (await readRange(chunk.path, chunk.start, chunk.end)).toString('utf8');
  const parse: (line: string) => ParsedLine = chunk.format === 'csv' ? csvParser(chunk.header) : influxParser(chunk.precision);
  const lines = text.split('\n');
  const points = allocatePoints(lines.length);
  const result: ImportChunkResult = {
    lines: 0,
    newlines: lines.length - 1,
    points: 0,
    inserted: 0,
    alreadyStored: 0,
    rejected: 0,
    examples: [],
  };
  const reject = (n: number, why: string) => {
    result.rejected++;
    if (result.examples.length < 10) result.examples.push(`line ${chunk.firstLine + n}: ${why}`);
  };
  for (const [n, line] of lines.entries()) {
    const p = parse(line.replace(/\r$/, ''));
    if (p === null) continue;
    result.lines++;
    if (!p.ok) {
      reject(n, p.error);
      continue;
    }
    if (p.sensor > limits.maxSensorId) {
      reject(n, `sensor id above ${limits.maxSensorId} (HERODOTUS_MAX_SENSOR_ID)`);
      continue;
    }
    if (p.ts < limits.minTs || p.ts > limits.maxTs) {
      reject(n, `timestamp outside ${new Date(limits.minTs).toISOString()} … ${new Date(limits.maxTs).toISOString()}`);
      continue;
    }
    const i = points.length++;
    points.sensor[i] = p.sensor;
    points.ts[i] = p.ts;
    points.value[i] = p.value;
  }
  const sorted = sortUnique(points);
  result.points = sorted.length;
  const stored = await storeOnShards(shards, { points: sorted, version: chunk.version, windowMs: chunk.windowMs, name: chunk.name });
  result.inserted = stored.inserted;
  result.alreadyStored = stored.alreadyStored;
  return result;
}

/** Sorted by (sensor, ts), first occurrence of a (sensor, ts) kept. */
function sortUnique(p: PointColumns): PointColumns {
  const idx = Array.from({ length: p.length }, (_, i) => i);
  idx.sort((a, b) => p.sensor[a]! - p.sensor[b]! || p.ts[a]! - p.ts[b]! || a - b);
  const out = allocatePoints(p.length);
  for (const i of idx) {
    const n = out.length;
    if (n > 0 && out.sensor[n - 1] === p.sensor[i] && out.ts[n - 1] === p.ts[i]) continue;
    out.sensor[n] = p.sensor[i]!;
    out.ts[n] = p.ts[i]!;
    out.value[n] = p.value[i]!;
    out.length++;
  }
  return out;
}
