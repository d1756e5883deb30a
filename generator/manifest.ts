/**
 * The manifest of what the generator published: per sensor, how many distinct
 * points and their order-independent checksum (lib/model/checksum.ts), plus
 * totals. The verifier compares it with what ClickHouse ended up storing.
 *
 * Each (sensor, second) batch is counted once however often it is re-sent.
 * "Seen" is a per-sensor bitset over seconds (450 bytes per sensor-hour), so
 * 1000 sensors × 3600 s stays small. The bitsets are not serialized: a manifest
 * read back from disk is a result to compare against, not one to keep feeding.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeBatch } from '../lib/batch/decode';
import type { RegularBatch } from '../lib/batch/types';
import { SensorChecksum } from '../lib/model/checksum';
import type { PlannedRecord } from './upstream';

export interface ManifestTotals {
  /** Distinct (sensor, second) batches. */
  batches: number;
  /** 'resend' records (identical copies of a batch). */
  resent: number;
  /** Batches that were held back. */
  late: number;
  /** Garbage records. */
  garbage: number;
  /** Distinct points over all sensors. */
  generated_points: number;
}

export interface ManifestJSON {
  version: 1;
  seed: number;
  sensors: Record<string, { points: number; checksum: number }>;
  totals: ManifestTotals;
}

interface SensorEntry {
  sum: SensorChecksum;
  seen: Uint8Array;
}

export class Manifest {
  readonly totals: ManifestTotals = { batches: 0, resent: 0, late: 0, garbage: 0, generated_points: 0 };
  private readonly sensors = new Map<number, SensorEntry>();

  constructor(readonly seed: number) {}

  /**
   * Account for one published record. The first time a (sensor, second) is
   * seen its points are added: from `batch` if given (saves a decode), else
   * from the record's own frame.
   */
  record(r: PlannedRecord, batch?: RegularBatch): void {
    if (r.kind === 'garbage') {
      this.totals.garbage++;
      return;
    }
    if (r.kind === 'resend') this.totals.resent++;
    else if (r.late) this.totals.late++;

    const e = this.entry(r.sensor);
    if (isSeen(e, r.second)) return;
    batch ??= decodeRegular(r);
    if (batch.sensor !== r.sensor) throw new Error(`Manifest.record: batch is for sensor ${batch.sensor}, record for ${r.sensor}`);
    markSeen(e, r.second);
    const { start, periodMs, values } = batch;
    for (let i = 0; i < values.length; i++) e.sum.add(start + i * periodMs, values[i]!);
    this.totals.batches++;
    this.totals.generated_points += values.length;
  }

  /** Per-sensor result, or undefined for a sensor never recorded. */
  sensor(id: number): { points: number; checksum: number } | undefined {
    const e = this.sensors.get(id);
    return e && { points: e.sum.points, checksum: e.sum.checksum };
  }

  toJSON(): ManifestJSON {
    const sensors: ManifestJSON['sensors'] = {};
    for (const id of [...this.sensors.keys()].sort((a, b) => a - b)) {
      const { points, checksum } = this.sensors.get(id)!.sum;
      sensors[String(id)] = { points, checksum };
    }
    return { version: 1, seed: this.seed, sensors, totals: { ...this.totals } };
  }

  static fromJSON(json: ManifestJSON): Manifest {
    if (json.version !== 1) throw new Error(`unsupported manifest version ${String(json.version)}`);
    const manifest = new Manifest(json.seed);
    Object.assign(manifest.totals, json.totals);
    for (const [id, s] of Object.entries(json.sensors)) {
      const e = manifest.entry(Number(id));
      e.sum.points = s.points;
      e.sum.checksum = s.checksum;
    }
    return manifest;
  }

  /** Write atomically (temp file + rename) so a reader never sees half a manifest. */
  writeFile(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.toJSON(), null, 2)}\n`);
    renameSync(tmp, path);
  }

  static readFile(path: string): Manifest {
    return Manifest.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as ManifestJSON);
  }

  private entry(id: number): SensorEntry {
    let e = this.sensors.get(id);
    if (!e) {
      e = { sum: new SensorChecksum(), seen: new Uint8Array(64) };
      this.sensors.set(id, e);
    }
    return e;
  }
}

function decodeRegular(r: PlannedRecord): RegularBatch {
  const d = decodeBatch(r.value);
  if (!d.ok) throw new Error(`Manifest.record: ${r.kind} for sensor ${r.sensor} second ${r.second} does not decode: ${d.error.code}`);
  if (d.value.kind !== 'regular') throw new Error(`Manifest.record: expected a regular batch for sensor ${r.sensor}`);
  return d.value;
}

function checkSecond(second: number): void {
  if (!Number.isInteger(second) || second < 0 || second > 0x7fffffff) throw new RangeError(`bad second ${second}`);
}

function isSeen(e: SensorEntry, second: number): boolean {
  checkSecond(second);
  const byte = second >> 3;
  return byte < e.seen.length && (e.seen[byte]! & (1 << (second & 7))) !== 0;
}

function markSeen(e: SensorEntry, second: number): void {
  const byte = second >> 3;
  if (byte >= e.seen.length) {
    const grown = new Uint8Array(Math.max(byte + 1, e.seen.length * 2));
    grown.set(e.seen);
    e.seen = grown;
  }
  e.seen[byte] = e.seen[byte]! | (1 << (second & 7));
}
