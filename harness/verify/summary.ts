import type { StorageCheck } from './manifest-check';
import type { LensCheckReport } from './lens-check';

/**
 * The fields of a storage check and a lens check that every report prints
 * (the scenario outcomes, the demo's report and their `--json` lines), under
 * these names. One projection, so a report cannot drop or rename one.
 */
export interface StorageSummary {
  generated_points: number;
  stored_points: number;
  lost_points: number;
  duplicate_points: number;
  unexpected_points: number;
  /** How many sensors differ from the manifest (the check itself lists them). */
  mismatched_sensors: number;
}

export type LensSummary = Omit<LensCheckReport, 'examples'>;

export function summarizeStorage(storage: StorageCheck): StorageSummary {
  return {
    generated_points: storage.generated_points,
    stored_points: storage.stored_points,
    lost_points: storage.lost_points,
    duplicate_points: storage.duplicate_points,
    unexpected_points: storage.unexpected_points,
    mismatched_sensors: storage.mismatched_sensors.length,
  };
}

export function summarizeLenses(lenses: LensCheckReport): LensSummary {
  return {
    lens_checks: lenses.lens_checks,
    lens_mismatches: lenses.lens_mismatches,
    lens_p50_ms: lenses.lens_p50_ms,
    lens_p99_ms: lenses.lens_p99_ms,
    rows_read_per_point: lenses.rows_read_per_point,
  };
}
