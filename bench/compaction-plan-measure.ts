/**
 * Measuring one planning round for bench/compaction-plan.ts: a store that
 * adds up ClickHouse's read statistics of every query made through it, the
 * process's CPU and RSS around a call, and the planner as main had it.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import type { ClickHouseClient, ResponseJSON } from '@clickhouse/client';
import { uncleanDays, windowLedger, type LedgerRow } from '../lib/clickhouse/ledger';
import { sensorExtents } from '../lib/clickhouse/raw';
import type { QuerySettings, Store } from '../lib/clickhouse/store';
import type { PointColumns } from '../lib/model/points';
import { MS } from '../lib/model/ladder';
import type { CompactionGroup, CompactionPolicy } from '../lib/rollup/compactor';
import { readProcess } from './process-stats';

/** A store that counts the rows ClickHouse read for every query made through it (its own statistics). */
export class CountingStore implements Store {
  rowsRead = 0;
  queries = 0;
  inserts = 0;
  constructor(private readonly inner: Store) {}
  get db() {
    return this.inner.db;
  }
  get shape() {
    return this.inner.shape;
  }
  get client() {
    return this.inner.client;
  }
  table(name: string): string {
    return this.inner.table(name);
  }
  /** Same rows as the inner store's, through FORMAT JSON, whose body ends with the read statistics. */
  async rows<T>(sql: string, settings: QuerySettings = {}): Promise<T[]> {
    const rs = await this.inner.client.query({ query: sql, format: 'JSON', clickhouse_settings: settings });
    const body = (await rs.json()) as ResponseJSON<T>;
    this.rowsRead += Number(body.statistics?.rows_read ?? 0);
    this.queries++;
    return body.data;
  }
  async queryWithStats<T extends readonly unknown[]>(sql: string, settings?: QuerySettings) {
    const r = await this.inner.queryWithStats<T>(sql, settings);
    this.rowsRead += r.rowsRead;
    this.queries++;
    return r;
  }
  awaitCaughtUp(): Promise<void> {
    return this.inner.awaitCaughtUp();
  }
  onEveryReplica<T>(call: (client: ClickHouseClient) => Promise<T>): Promise<T[]> {
    return this.inner.onEveryReplica(call);
  }
  insertPoints(points: PointColumns, token: string): Promise<void> {
    this.inserts++;
    return this.inner.insertPoints(points, token);
  }
  insert(sql: string, token: string): Promise<void> {
    this.inserts++;
    return this.inner.insert(sql, token);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface Measured<T> {
  ms: number;
  rows_read: number;
  queries: number;
  inserts: number;
  /** CPU seconds of the whole process (chdb's threads included) during the call. */
  cpu_s: number;
  rss_mb_before: number;
  /** Peak RSS during the call (VmHWM after resetting it), MB. */
  rss_mb_peak: number | null;
  result: T;
}

/** Resets the kernel's peak-RSS mark of this process (Linux: clear_refs 5). */
function resetPeak(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function peakMb(): number | null {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : null;
}

v8.setFlagsFromString('--expose-gc');
/** A full collection before each measurement: garbage of the round before (the old one parses millions of rows) is not this one's. */
const gc = runInNewContext('gc') as () => void;

export async function measured<T>(store: CountingStore, fn: () => Promise<T>): Promise<Measured<T>> {
  gc();
  // V8 finishes sweeping on helper threads after a full collection: let it, off the clock.
  await sleep(500);
  const before = readProcess(process.pid)!;
  const canPeak = resetPeak();
  const counts = { rows: store.rowsRead, queries: store.queries, inserts: store.inserts };
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  const after = readProcess(process.pid)!;
  return {
    ms: Math.round(ms * 10) / 10,
    rows_read: store.rowsRead - counts.rows,
    queries: store.queries - counts.queries,
    inserts: store.inserts - counts.inserts,
    cpu_s: Math.round((after.cpuS - before.cpuS) * 100) / 100,
    rss_mb_before: Math.round(before.rssMb),
    rss_mb_peak: canPeak ? peakMb() : null,
    result,
  };
}

/**
 * The planning round of main (2d8f751): every window of every unclean day
 * from the ledger, the dirty ones whose sensor's watermark or idle time says
 * complete, grouped by hour as planCompaction groups them.
 */
export async function oldPlanningRound(store: Store, policy: CompactionPolicy, now: number): Promise<CompactionGroup[]> {
  const days = await uncleanDays(store);
  const windows: LedgerRow[] = (
    await windowLedger(
      store,
      days.map((d) => ({ sensor: d.sensor, from: d.start, to: d.start + MS.day })),
    )
  ).filter((w) => w.pending > w.compacted && w.ingested > w.compacted);
  const extents = await sensorExtents(store, [...new Set(windows.map((w) => w.sensor))]);
  const ready = windows.filter((w) => {
    const watermark = extents.get(w.sensor)?.last ?? Number.NEGATIVE_INFINITY;
    return w.start + policy.ladder.windowMs + policy.graceMs <= watermark || w.touched * 1000 <= now - policy.idleMs;
  });
  const byGroup = new Map<number, Set<number>>();
  for (const w of ready) {
    const group = Math.floor(w.start / MS.hour) * MS.hour;
    byGroup.set(group, (byGroup.get(group) ?? new Set()).add(w.sensor));
  }
  return [...byGroup.keys()]
    .sort((a, b) => a - b)
    .map((from) => ({ from, to: from + MS.hour, sensors: [...byGroup.get(from)!].sort((a, b) => a - b) }));
}
