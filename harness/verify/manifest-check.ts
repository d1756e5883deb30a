import type { SensorAudit } from '../../lib/clickhouse/raw';

/** What a generator manifest says one sensor should have. */
export interface ExpectedSensor {
  points: number;
  checksum: number;
}

export interface SensorMismatch {
  sensor: number;
  expected_points: number;
  stored_points: number;
  distinct_points: number;
  expected_checksum: number;
  stored_checksum: number | null;
}

export interface StorageCheck {
  ok: boolean;
  generated_points: number;
  stored_points: number;
  lost_points: number;
  duplicate_points: number;
  /** Distinct points stored for sensors or timestamps the manifest does not know. */
  unexpected_points: number;
  mismatched_sensors: SensorMismatch[];
}

/**
 * Compares stored raw data with a manifest, sensor by sensor: distinct points
 * and the checksum of (ts, value) must match, and no point may be stored twice.
 */
export function checkStorage(expected: Map<number, ExpectedSensor>, audit: SensorAudit[]): StorageCheck {
  const stored = new Map(audit.map((a) => [a.sensor, a]));
  let generated = 0;
  let storedPoints = 0;
  let lost = 0;
  let duplicates = 0;
  let unexpected = 0;
  const mismatched: SensorMismatch[] = [];
  for (const [sensor, e] of expected) {
    generated += e.points;
    const a = stored.get(sensor);
    const distinct = a?.distinct_points ?? 0;
    lost += Math.max(0, e.points - distinct);
    unexpected += Math.max(0, distinct - e.points);
    if (!a || distinct !== e.points || a.checksum !== e.checksum) {
      mismatched.push({
        sensor,
        expected_points: e.points,
        stored_points: a?.points ?? 0,
        distinct_points: distinct,
        expected_checksum: e.checksum,
        stored_checksum: a?.checksum ?? null,
      });
    }
  }
  for (const a of audit) {
    storedPoints += a.points;
    duplicates += a.points - a.distinct_points;
    if (!expected.has(a.sensor)) unexpected += a.distinct_points;
  }
  return result(generated, storedPoints, lost, duplicates, unexpected, mismatched);
}

function result(
  generated: number,
  stored: number,
  lost: number,
  duplicates: number,
  unexpected: number,
  mismatched: SensorMismatch[],
): StorageCheck {
  return {
    ok: mismatched.length === 0 && duplicates === 0 && unexpected === 0,
    generated_points: generated,
    stored_points: stored,
    lost_points: lost,
    duplicate_points: duplicates,
    unexpected_points: unexpected,
    mismatched_sensors: mismatched,
  };
}

/** Above this many points a full audit of raw (GROUP BY sensor, ts) takes minutes: check the sensor extents instead. */
export const AUDIT_MAX_POINTS = 50_000_000;

/**
 * The quick check for large runs: points per sensor from the sensor extents
 * (a count of every row inserted into raw) against the manifest. A lost point
 * shows as too few, a point stored twice as too many; values are not compared.
 */
export function checkExtents(expected: Map<number, ExpectedSensor>, extents: { sensor: number; points: number }[]): StorageCheck {
  const stored = new Map(extents.map((e) => [e.sensor, e.points]));
  let generated = 0;
  let lost = 0;
  let duplicates = 0;
  const mismatched: SensorMismatch[] = [];
  for (const [sensor, e] of expected) {
    generated += e.points;
    const n = stored.get(sensor) ?? 0;
    lost += Math.max(0, e.points - n);
    duplicates += Math.max(0, n - e.points);
    if (n !== e.points)
      mismatched.push({
        sensor,
        expected_points: e.points,
        stored_points: n,
        distinct_points: Math.min(n, e.points),
        expected_checksum: e.checksum,
        stored_checksum: null,
      });
  }
  let storedPoints = 0;
  let unexpected = 0;
  for (const [sensor, n] of stored) {
    storedPoints += n;
    if (!expected.has(sensor)) unexpected += n;
  }
  return result(generated, storedPoints, lost, duplicates, unexpected, mismatched);
}
