import fs from 'node:fs';
import { round } from './round';

interface ChunkLine {
  time: number;
  partition: number;
  records: number;
  points: number;
  readMs: number;
  insertMs: number;
}

/**
 * The ingest worker's 'chunk ingested' log lines in [fromMs, toMs] (epoch):
 * how big the chunks were, where their time went (readMs = Kafka read +
 * decode; insertMs = merge, dedup look-up, ledger and the ClickHouse insert)
 * and how often each partition completed one (the cycle also holds the
 * awaitRecords wait and the Temporal round trips between activities).
 */
export function chunkStats(logFile: string | undefined, fromMs: number, toMs: number) {
  if (!logFile) return null;
  const chunks = readChunks(logFile, fromMs, toMs);
  if (chunks === null) return null;
  if (chunks.length === 0) return { count: 0 };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const cycles: number[] = [];
  const last = new Map<number, number>();
  for (const c of chunks) {
    const prev = last.get(c.partition);
    if (prev !== undefined) cycles.push((c.time - prev) / 1000);
    last.set(c.partition, c.time);
  }
  const points = chunks.reduce((n, c) => n + c.points, 0);
  const insertS = chunks.reduce((n, c) => n + c.insertMs, 0) / 1000;
  const readS = chunks.reduce((n, c) => n + c.readMs, 0) / 1000;
  return {
    count: chunks.length,
    records_mean: Math.round(mean(chunks.map((c) => c.records))),
    records_max: Math.max(...chunks.map((c) => c.records)),
    read_ms_mean: Math.round(mean(chunks.map((c) => c.readMs))),
    insert_ms_mean: Math.round(mean(chunks.map((c) => c.insertMs))),
    insert_ms_max: Math.max(...chunks.map((c) => c.insertMs)),
    cycle_s_mean: round(mean(cycles), 2),
    /** Points per second of the store stage alone (summed over partitions, as if serial). */
    store_points_per_s: insertS > 0 ? Math.round(points / insertS) : null,
    read_points_per_s: readS > 0 ? Math.round(points / readS) : null,
  };
}

/** The 'chunk ingested' lines of the log in [fromMs, toMs]; null when the log cannot be read. */
function readChunks(logFile: string, fromMs: number, toMs: number): ChunkLine[] | null {
  let text: string;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return null;
  }
  const chunks: ChunkLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"chunk ingested"')) continue;
    try {
      const c = JSON.parse(line) as ChunkLine;
      if (c.time >= fromMs && c.time <= toMs) chunks.push(c);
    } catch {
      // not a JSON line
    }
  }
  return chunks;
}
