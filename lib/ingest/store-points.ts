import { classifyClickHouseError } from '../clickhouse/errors';
import { holdingClaim, type ClaimSpan } from '../clickhouse/claims';
import { dayLedgerIn, recordStage, versionAbove, windowLedger, type UnitVersion } from '../clickhouse/ledger';
import { deleteStoredPoints, sensorExtents, storedValues } from '../clickhouse/raw';
import { RAW_DAYS_PER_BLOCK } from '../clickhouse/schema';
import { onEveryPart, shardIndex, type Shards } from '../clickhouse/shards';
import type { Store } from '../clickhouse/store';
import { contentToken } from '../clickhouse/token';
import { unitRanges } from '../clickhouse/units';
import { MS } from '../model/ladder';
import type { SensorInterval } from '../model/interval';
import { samePoint, type Conflict, type PointContent } from './conflicts';
import { afterRawInsert } from './fault-hook';
import { blockStarts, splitByDays } from './day-blocks';
import { filterPoints, trimmed } from './merge';
import { allocatePoints, appendPoint, appendPoints, type PointColumns } from '../model/points';

export interface StoreRequest {
  /** Sorted by (sensor, ts), each (sensor, ts) once. */
  points: PointColumns;
  /** Least ledger version (the planner's); the write raises it above what the ledger holds for its units. */
  version: number;
  windowMs: number;
  /** Names this write (its claim, its ledger tokens); the retries of a write share its name, no other write has it. */
  name: string;
  /**
   * What a point whose (sensor, ts) is stored with another value does:
   * `keep` (the default) leaves the stored value and reports the newcomer as
   * a conflict; `replace` applies it as a correction (the stored row is
   * deleted, the new one inserted, its windows re-aggregated).
   */
  onConflict?: OnConflict;
}

export type OnConflict = 'keep' | 'replace';

/** What a write did with its points, as counts (what activities return). */
export interface StoreCounts {
  inserted: number;
  /** Points stored before with the same value (re-sent, retried): dropped silently. */
  alreadyStored: number;
  /** Points whose (sensor, ts) is stored with another value: not stored, the first value stays. */
  conflicting: number;
  /** Points whose (sensor, ts) was stored with another value, replaced by them (onConflict `replace`); counted in inserted too. */
  replaced: number;
}

export interface StoreResult extends StoreCounts {
  /** The conflicting points, one each, for the caller to report (dead letters, progress). */
  conflicts: Conflict[];
}

/**
 * Stores points that are not stored yet, exactly once: points whose
 * (sensor, ts) is in raw already are dropped — silently when raw holds the
 * same value (a re-send, a retry), as a conflict in the result when it holds
 * another (the first value stays; the caller reports it) — the ledger marks the touched
 * windows dirty before the insert (so lenses read raw there) and committed
 * after it (so compaction may cover them). Repeating a request stores nothing
 * new: the filter finds the points, and an identical block carries the same
 * token. Points spanning more than RAW_DAYS_PER_BLOCK days go in several
 * blocks, all between the same two ledger writes.
 *
 * Invariant: for any (sensor, window), at most one write is between its look-up
 * of stored points and its `ingested` ledger row at a time, in any process: the
 * whole step runs under a write claim on the windows it touches
 * (lib/clickhouse/claims.ts). So two writers of a sensor (a backfill and live
 * ingest, two backfills, the old and the new partition of a key) never both
 * find a point missing and both insert it, and no other write's version moves
 * under this one's ledger rows while it runs.
 */
export async function storePoints(store: Store, req: StoreRequest): Promise<StoreResult> {
  return (await storeWrites(store, [req]))[0]!;
}

/**
 * Stores several requests as one write (what the write coalescer gathers
 * from the partitions): one duplicate look-up, one `pending` ledger write,
 * one raw insert and one `ingested` ledger write for all of them, in that
 * order, under one claim, so the protocol of storePoints holds for every
 * request. The units get one version, chosen under the claim above every
 * request's and every version the ledger holds for them. The requests'
 * sensors must be disjoint: two requests holding the same (sensor, ts) would
 * both insert it (the coalescer never puts chunks sharing a sensor in one write).
 */
export async function storeWrites(store: Store, reqs: readonly StoreRequest[]): Promise<StoreResult[]> {
  const spans = reqs.map((r) => pointRuns(r.points, r.windowMs));
  const writeName = reqs.length === 1 ? reqs[0]!.name : coalescedName(reqs);
  const claimed = reqs.flatMap((r, k) => claimSpans(spans[k]!, r.windowMs));
  return holdingClaim(store, writeName, claimed, () => storeClaimed(store, reqs, spans, writeName));
}

async function storeClaimed(store: Store, reqs: readonly StoreRequest[], spans: SensorInterval[][], writeName: string) {
  const starts = blockStarts(
    reqs.map((r) => r.points),
    RAW_DAYS_PER_BLOCK,
  );
  const distinct = reqs.map((r) => r.points.length);
  const stored = await storedValues(store, await overlapWithStored(store, spans.flat()));
  const found = reqs.map((r) => (stored.size > 0 ? dropStored(r.points, stored, r.onConflict === 'replace') : []));
  const replacing = reqs.map((r, k) => (r.onConflict === 'replace' ? found[k]! : []));
  const conflicts = reqs.map((r, k) => (r.onConflict === 'replace' ? [] : found[k]!));
  const { version, windows, days } = await versionedUnits(store, spans.flat(), reqs);
  const name = `${writeName}-v${version}`;
  await recordStage(store, 'pending', windows, days, `${name}-pending`);
  // A correction: the windows are pending (lenses read raw there, compaction waits for `ingested`), so the
  // old rows go first and the new ones follow; raw never holds two rows for a (sensor, ts), no read needs FINAL.
  await deleteStoredPoints(store, replacing.flat(), name);
  // The token is the block's content alone: whoever builds the same rows (a retry, a second writer) inserts them
  // once. A correction's rows may equal rows inserted, then deleted, before: its token names the write as well.
  const tokenPrefix = replacing.some((r) => r.length > 0) ? `raw-${writeName}` : 'raw';
  const rows = joinPoints(reqs.map((r) => trimmed(r.points)));
  for (const block of splitByDays(rows, starts)) {
    await store
      .insertPoints(block, contentToken(tokenPrefix, [block.sensor, block.ts, block.value, block.quality]))
      .catch((err: unknown) => {
        throw classifyClickHouseError(err) === 'permanent' ? new PointsRefusedError(err) : err;
      });
  }
  // A no-op unless a test armed HERODOTUS_FAULT: the crash between raw and ledger that a retry must repair.
  afterRawInsert(rows.length);
  await recordStage(store, 'ingested', windows, days, `${name}-ingested`);
  return reqs.map((r, k) => ({
    inserted: r.points.length,
    alreadyStored: distinct[k]! - r.points.length - conflicts[k]!.length,
    conflicting: conflicts[k]!.length,
    replaced: replacing[k]!.length,
    conflicts: conflicts[k]!,
  }));
}

/**
 * Drops the points raw holds already, in place, and returns those it holds
 * with another value: dropped too, unless they replace the stored ones.
 */
function dropStored(points: PointColumns, stored: Map<number, Map<number, PointContent>>, replace: boolean): Conflict[] {
  const conflicts: Conflict[] = [];
  filterPoints(points, (i) => {
    const sensor = points.sensor[i]!;
    const ts = points.ts[i]!;
    const kept = stored.get(sensor)?.get(ts);
    if (kept === undefined) return true;
    const offered = { value: points.value[i]!, quality: points.quality[i]! };
    if (samePoint(kept, offered)) return false;
    conflicts.push({
      sensor,
      ts,
      stored: kept.value,
      offered: offered.value,
      storedQuality: kept.quality,
      offeredQuality: offered.quality,
    });
    return replace;
  });
  return conflicts;
}

/**
 * A coalesced write is named by the names of its requests: the same
 * requests together get the same ledger and insert tokens, different ones
 * never share a token (a shared token would drop a write as a repeat).
 */
function coalescedName(reqs: readonly StoreRequest[]): string {
  return contentToken(`c${reqs.length}`, [Buffer.from(reqs.map((r) => r.name).join('\n'))]);
}

/** The rows of several point sets as one, in their order; a single set as it is. */
function joinPoints(sets: readonly PointColumns[]): PointColumns {
  if (sets.length === 1) return sets[0]!;
  const out = allocatePoints(sets.reduce((n, p) => n + p.length, 0));
  for (const p of sets) appendPoints(out, p);
  return out;
}

/**
 * The touched units at the write's version, chosen now (under the claim), not
 * when the write was planned: above the request's version and above every
 * version the ledger holds for these units. Compaction covers a unit only at
 * an `ingested` version it read, and every version it could have read without
 * this write's points is below this one: the write leaves its units dirty
 * until a compaction that reads its points, however late it lands (a chunk
 * held back while its window was compacted at a later version included).
 */
async function versionedUnits(
  store: Store,
  spans: SensorInterval[],
  reqs: readonly StoreRequest[],
): Promise<{ version: number; windows: UnitVersion[]; days: UnitVersion[] }> {
  const windowMs = reqs[0]!.windowMs;
  const units = touchedUnits(spans, windowMs, 0);
  const rows = [
    ...(await windowLedger(store, unitRanges(units.windows, windowMs))),
    ...(await dayLedgerIn(store, unitRanges(units.days, MS.day))),
  ];
  const version = versionAbove(
    rows,
    reqs.reduce((v, r) => Math.max(v, r.version), 0),
  );
  const at = (u: UnitVersion) => ({ ...u, version });
  return { version, windows: units.windows.map(at), days: units.days.map(at) };
}

/** The windows a write claims: each run of points widened to whole windows. */
function claimSpans(runs: SensorInterval[], windowMs: number): ClaimSpan[] {
  return runs.map((r) => ({
    sensor: r.sensor,
    from: Math.floor(r.from / windowMs) * windowMs,
    to: (Math.floor(r.to / windowMs) + 1) * windowMs,
  }));
}

/**
 * ClickHouse refused to insert the points for what they hold (an error no
 * retry can fix). Only the raw insert raises it: a ledger write failing that
 * way is a fault of Herodotus, retried, never a reason to drop data.
 */
export class PointsRefusedError extends Error {
  constructor(override readonly cause: unknown) {
    super(`ClickHouse refused the points: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'PointsRefusedError';
  }
}

/**
 * Stores points on the shards that own their sensors, each shard's part on
 * its own (see storePoints); one shard down fails the call after the other
 * parts are stored, and the retry finds those already there.
 */
export async function storeOnShards(shards: Shards, req: StoreRequest): Promise<StoreResult> {
  return (await storeWritesOnShards(shards, [req]))[0]!;
}

/** storeWrites on the shards that own the requests' sensors: one write per shard for all requests. */
export async function storeWritesOnShards(shards: Shards, reqs: readonly StoreRequest[]): Promise<StoreResult[]> {
  if (shards.stores.length === 1) return storeWrites(shards.stores[0]!, reqs);
  const split = reqs.map((r) => splitByShard(r.points, shards.stores.length));
  const parts = shards.stores.flatMap((store, s) => {
    const owners = reqs.flatMap((_, k) => (split[k]![s]!.length > 0 ? [k] : []));
    return owners.length > 0 ? [{ store, owners, reqs: owners.map((k) => ({ ...reqs[k]!, points: split[k]![s]! })) }] : [];
  });
  const results = await onEveryPart(parts, (part) => storeWrites(part.store, part.reqs));
  const totals = reqs.map(emptyResult);
  for (const [p, part] of parts.entries()) {
    for (const [i, k] of part.owners.entries()) addResult(totals[k]!, results[p]![i]!);
  }
  return totals;
}

export function emptyResult(): StoreResult {
  return { inserted: 0, alreadyStored: 0, conflicting: 0, replaced: 0, conflicts: [] };
}

/** Adds one write's result to a total. */
export function addResult(total: StoreResult, r: StoreResult): void {
  total.inserted += r.inserted;
  total.alreadyStored += r.alreadyStored;
  total.conflicting += r.conflicting;
  total.replaced += r.replaced;
  for (const c of r.conflicts) total.conflicts.push(c);
}

/**
 * Closes the ledger units of points ClickHouse refused: `ingested` at a
 * version of now (as the stored write would have), but without an insert.
 * The failed attempt's `pending` mark then no longer leaves their windows
 * unclean for good: they are compacted from what raw holds, which is exact.
 * Under the write's claim, like the write: no other writer's pending version
 * can be taken for this one's.
 */
export async function closeRefused(shards: Shards, req: StoreRequest): Promise<void> {
  const parts = splitByShard(req.points, shards.stores.length);
  await onEveryPart(
    parts.flatMap((points, i) => (points.length > 0 ? [{ store: shards.stores[i]!, points }] : [])),
    async ({ store, points }) => {
      const spans = pointRuns(points, req.windowMs);
      await holdingClaim(store, req.name, claimSpans(spans, req.windowMs), async () => {
        const touched = await versionedUnits(store, spans, [req]);
        await recordStage(store, 'ingested', touched.windows, touched.days, `${req.name}-v${touched.version}-refused`);
      });
    },
  );
}

/** The points of each shard, order kept (so a repeated request yields byte-identical blocks). */
function splitByShard(p: PointColumns, shardCount: number): PointColumns[] {
  const counts = new Array<number>(shardCount).fill(0);
  for (let i = 0; i < p.length; i++) counts[shardIndex(p.sensor[i]!, shardCount)]!++;
  const parts = counts.map((n) => allocatePoints(n));
  for (let i = 0; i < p.length; i++) {
    appendPoint(parts[shardIndex(p.sensor[i]!, shardCount)]!, p, i);
  }
  return parts;
}

/**
 * A sensor's points as runs without a gap of a window or more: the ledger
 * marks, and the duplicate look-up reads, only stretches that hold points —
 * a sparse batch spanning days costs no more than its points.
 */
function pointRuns(p: PointColumns, windowMs: number): SensorInterval[] {
  const runs: SensorInterval[] = [];
  const { sensor, ts, length } = p;
  let last: SensorInterval | undefined;
  for (let i = 0; i < length; i++) {
    const s = sensor[i]!;
    const t = ts[i]!;
    if (last !== undefined && last.sensor === s && t - last.to < windowMs) last.to = t;
    else runs.push((last = { sensor: s, from: t, to: t }));
  }
  return runs;
}

/**
 * The parts of the spans that reach back to or before a sensor's last stored
 * point. Fresh data lies after it and needs no look-up, so in steady state
 * only late and re-sent batches cost a read of raw.
 */
async function overlapWithStored(store: Store, spans: SensorInterval[]): Promise<SensorInterval[]> {
  // The extents and raw read next must hold every point stored before this chunk (by any
  // process, on any replica): a replica still fetching them would let re-sent points in.
  await store.awaitCaughtUp();
  const extents = await sensorExtents(store, [...new Set(spans.map((s) => s.sensor))]);
  const bySensor = new Map<number, SensorInterval[]>();
  for (const span of spans) {
    const extent = extents.get(span.sensor);
    if (!extent || span.from > extent.last || span.to < extent.first) continue;
    let list = bySensor.get(span.sensor);
    if (!list) bySensor.set(span.sensor, (list = []));
    list.push({ sensor: span.sensor, from: Math.max(span.from, extent.first), to: Math.min(span.to, extent.last) });
  }
  return [...bySensor.values()].flatMap(mergeIntervals);
}

function mergeIntervals(list: SensorInterval[]): SensorInterval[] {
  const sorted = [...list].sort((a, b) => a.from - b.from);
  const out: SensorInterval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.from <= last.to + 1) last.to = Math.max(last.to, i.to);
    else out.push({ ...i });
  }
  return out;
}

/** Every (sensor, window) and (sensor, day) the spans touch. */
function touchedUnits(spans: SensorInterval[], windowMs: number, version: number): { windows: UnitVersion[]; days: UnitVersion[] } {
  const windows = new Map<string, UnitVersion>();
  const days = new Map<string, UnitVersion>();
  for (const { sensor, from, to } of spans) {
    for (let w = Math.floor(from / windowMs) * windowMs; w <= to; w += windowMs) {
      windows.set(`${sensor}:${w}`, { sensor, start: w, version });
      const day = Math.floor(w / MS.day) * MS.day;
      days.set(`${sensor}:${day}`, { sensor, start: day, version });
    }
  }
  return { windows: [...windows.values()], days: [...days.values()] };
}
