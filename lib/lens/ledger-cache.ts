import { dayLedgerIn, isClean, windowLedger, type LedgerRow, type ReadStats } from '../clickhouse/ledger';
import { watchLedger } from '../clickhouse/ledger-watch';
import type { Store } from '../clickhouse/store';
import { alignDown, MS } from '../model/ladder';
import type { LedgerView } from './planner';

export interface LedgerCacheOptions {
  /**
   * How long an entry may be served without a ledger write of this process
   * moving it: Infinity when this process is the only writer (embedded chdb
   * locks its path), else at most what the one-second promise allows (other
   * processes' writes are not told here).
   */
  maxAgeMs: number;
  /** Entries kept, least recently used dropped first. */
  maxEntries: number;
}

/** What the ledger says about one (sensor, day): its day row (null: nothing written) and, when not clean, its window rows. */
interface Entry {
  day: LedgerRow | null;
  windows: LedgerRow[];
  readAt: number;
}

const key = (db: string, sensor: number, day: number) => `${db}:${sensor}:${day}`;

/**
 * The ledger state lenses plan from, per (sensor, day), held in this process
 * so that a lens over clean days asks ClickHouse nothing about the ledger.
 *
 * Invariant: an entry is served only if no ledger write of this process to
 * its (sensor, day) committed after the read that filled it began, and (for
 * a store other processes write too) that read began less than `maxAgeMs`
 * ago. A write is told (ledger-watch.ts) after it committed: it drops the
 * entry, and a read in flight when it is told is not stored (sequence
 * numbers), since it may have missed the write.
 */
export class LedgerCache {
  private readonly entries = new Map<string, Entry>();
  /** Sequence number of the last write told, per key; reads remember the number they began at. */
  private readonly movedAt = new Map<string, number>();
  private seq = 0;
  /** Reads that began before this number are not stored: movedAt was cleared when it was told. */
  private floor = 0;
  private readonly unwatch: () => void;
  hits = 0;
  misses = 0;

  constructor(private readonly opts: LedgerCacheOptions) {
    this.unwatch = watchLedger((w) => {
      const n = ++this.seq;
      for (const u of w.units) {
        const k = key(w.db, u.sensor, u.day);
        this.entries.delete(k);
        this.movedAt.set(k, n);
      }
      // Bounded: forgetting which keys moved means no read in flight may be stored.
      if (this.movedAt.size > this.opts.maxEntries) {
        this.movedAt.clear();
        this.floor = n;
      }
    });
  }

  close(): void {
    this.unwatch();
  }

  /** Day rows of the sensors' days overlapping [from, to), and window rows of those that are not clean. */
  async view(store: Store, sensors: number[], from: number, to: number, stats: ReadStats): Promise<LedgerView> {
    const now = Date.now();
    const days: LedgerRow[] = [];
    const windows: LedgerRow[] = [];
    const missing: { sensor: number; from: number; to: number }[] = [];
    for (const sensor of sensors) {
      for (let day = alignDown(from, MS.day); day < to; day += MS.day) {
        const k = key(store.db, sensor, day);
        const e = this.entries.get(k);
        if (e && now - e.readAt < this.opts.maxAgeMs) {
          this.hits++;
          // Most recently used last.
          this.entries.delete(k);
          this.entries.set(k, e);
          if (e.day) days.push(e.day);
          windows.push(...e.windows);
          continue;
        }
        this.misses++;
        const last = missing[missing.length - 1];
        if (last && last.sensor === sensor && last.to === day) last.to = day + MS.day;
        else missing.push({ sensor, from: day, to: day + MS.day });
      }
    }
    if (missing.length === 0) return { days, windows };
    const read = await this.read(store, missing, stats);
    for (const e of read.values()) {
      if (e.day) days.push(e.day);
      windows.push(...e.windows);
    }
    return { days, windows };
  }

  /** Reads the ranges' day rows, then the window rows of the days not clean, and stores what no write moved meanwhile. */
  private async read(store: Store, ranges: { sensor: number; from: number; to: number }[], stats: ReadStats) {
    const began = this.seq;
    const readAt = Date.now();
    const dayRows = await dayLedgerIn(store, ranges, stats);
    const unclean = dayRows.filter((d) => !isClean(d)).map((d) => ({ sensor: d.sensor, from: d.start, to: d.start + MS.day }));
    const windowRows = await windowLedger(store, unclean, stats);
    const read = new Map<string, Entry>();
    for (const r of ranges)
      for (let day = r.from; day < r.to; day += MS.day) read.set(key(store.db, r.sensor, day), { day: null, windows: [], readAt });
    for (const d of dayRows) read.get(key(store.db, d.sensor, d.start))!.day = d;
    for (const w of windowRows) read.get(key(store.db, w.sensor, alignDown(w.start, MS.day)))!.windows.push(w);
    for (const [k, e] of read) {
      if (began < this.floor || (this.movedAt.get(k) ?? 0) > began) continue;
      this.entries.set(k, e);
    }
    while (this.entries.size > this.opts.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return read;
  }
}
