import type { Shards } from '../clickhouse/shards';
import { sensorValues } from '../../generator/signal';
import { allocatePoints } from '../model/points';
import { storeOnShards, type OnConflict, type StoreCounts } from '../ingest/store-points';

export interface GenerateSpan {
  sensors: number[];
  /** Epoch ms, inclusive; a multiple of the period. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  rateHz: number;
  seed: number;
  version: number;
  windowMs: number;
  /** Names the write (insert tokens); the same span must get the same name. */
  name: string;
  onConflict?: OnConflict;
}

/**
 * Writes the generator's signal for [from, to) straight into raw, sensor by
 * sensor, exactly once: the same deterministic values the Kafka generator
 * would publish, without the round trip (for month-long histories).
 */
export async function generateSpan(shards: Shards, span: GenerateSpan, progress: () => void): Promise<StoreCounts> {
  const period = 1000 / span.rateHz;
  const first = Math.ceil(span.from / period) * period;
  const count = Math.max(0, Math.ceil((span.to - first) / period));
  const total: StoreCounts = { inserted: 0, alreadyStored: 0, conflicting: 0, replaced: 0 };
  if (count === 0) return total;
  for (const sensor of span.sensors) {
    const points = allocatePoints(count);
    points.value.set(sensorValues(span.seed, sensor, first, period, count));
    points.sensor.fill(sensor);
    for (let i = 0; i < count; i++) points.ts[i] = first + i * period;
    points.length = count;
    const r = await storeOnShards(shards, {
      points,
      version: span.version,
      windowMs: span.windowMs,
      name: `${span.name}-s${sensor}`,
      ...(span.onConflict ? { onConflict: span.onConflict } : {}),
    });
    total.inserted += r.inserted;
    total.alreadyStored += r.alreadyStored;
    total.conflicting += r.conflicting;
    total.replaced += r.replaced;
    progress();
  }
  return total;
}
