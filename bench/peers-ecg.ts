/**
 * The real recording in bench-peers: the MIT-BIH ECG the point-model tests
 * use (harness/verify/ecg.ts), in mV at 360 Hz on whole-ms times, written to
 * every system as one more sensor beside the generated ones, and asked one
 * lens per preset centred on it; each answer is compared bucket by bucket
 * with the recording's own points.
 */
import type { IrregularBatch } from '../lib/batch/types';
import { readEcg } from '../harness/verify/ecg';
import { bucketsOf } from './peers-exact';
import type { BucketRow } from './peers-peer';
import { centredLens, type EcgSeries, type Lens, type PresetWorkload } from './peers-workload';

/** Points per batch: inside every system's per-batch limits (Herodotus's is 100,000). */
const BATCH_POINTS = 10_000;

/** The recording as sensor `sensor`, starting at `t0`. */
export function ecgSeries(toolsDir: string, sensor: number, t0: number): EcgSeries {
  const ecg = readEcg(toolsDir, t0);
  return { sensor, times: ecg.times, values: ecg.millivolts };
}

/** The recording as batches of explicit timestamps, all written in one write. */
export function ecgBatches(ecg: EcgSeries): IrregularBatch[] {
  const out: IrregularBatch[] = [];
  for (let i = 0; i < ecg.values.length; i += BATCH_POINTS)
    out.push({
      kind: 'irregular',
      sensor: ecg.sensor,
      timestamps: ecg.times.subarray(i, i + BATCH_POINTS),
      values: ecg.values.subarray(i, i + BATCH_POINTS),
    });
  return out;
}

/** One lens per preset over the ECG sensor, centred on the recording, about 2500 buckets each. */
export function ecgLenses(ecg: EcgSeries, workload: PresetWorkload[]): { name: string; lens: Lens }[] {
  const mid = (ecg.times[0]! + ecg.times[ecg.times.length - 1]!) / 2;
  return workload.map((p) => ({ name: p.name, lens: centredLens(mid, p.span, [ecg.sensor], 2500) }));
}

/** The exact buckets of a lens over the ECG sensor. */
export function ecgBuckets(ecg: EcgSeries, lens: Lens): BucketRow[] {
  return bucketsOf(ecg.sensor, ecg.times, ecg.values, lens);
}
