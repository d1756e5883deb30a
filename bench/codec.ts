import { decodeBatch } from '../lib/batch/decode';
import { encodeBatch } from '../lib/batch/encode';
import type { RegularBatch } from '../lib/batch/types';
import { sensorValues } from '../generator/signal';

/** Median of `runs` timings of `fn`, in ms. */
function median(runs: number, fn: () => void): number {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(runs / 2)]!;
}

/** Micro-benchmark of the hot pure paths: batch codec and signal generation (JSON on stdout). */
export async function benchCodec(): Promise<number> {
  const T0 = Date.UTC(2026, 0, 1);
  const batch: RegularBatch = { kind: 'regular', sensor: 1, start: T0, periodMs: 1, values: sensorValues(1, 1, T0, 1, 1000) };
  const frame = encodeBatch(batch);
  median(5, () => sensorValues(1, 1, T0, 1, 1_000_000));
  const decode = median(9, () => {
    for (let i = 0; i < 1000; i++) decodeBatch(frame);
  });
  const encode = median(9, () => {
    for (let i = 0; i < 1000; i++) encodeBatch(batch);
  });
  const signal = median(9, () => sensorValues(1, 2, T0, 1, 1_000_000));
  process.stdout.write(
    `${JSON.stringify({
      batch_bytes_per_point: frame.length / 1000,
      decode_points_per_s: Math.round(1e6 / (decode / 1000)),
      encode_points_per_s: Math.round(1e6 / (encode / 1000)),
      signal_points_per_s: Math.round(1e6 / (signal / 1000)),
      runs: 9,
      statistic: 'median',
    })}\n`,
  );
  return 0;
}
