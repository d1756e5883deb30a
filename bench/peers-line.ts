import type { RegularBatch } from '../lib/batch/types';

/** The batches as InfluxDB line protocol (measurement `signal`, tag `sensor`, field `value`, ms timestamps): what InfluxDB, QuestDB and VictoriaMetrics are all fed. */
export function lineProtocol(batches: RegularBatch[]): string {
  const out: string[] = [];
  for (const b of batches)
    for (let i = 0; i < b.values.length; i++) out.push(`signal,sensor=${b.sensor} value=${b.values[i]} ${b.start + i * b.periodMs}`);
  return out.join('\n');
}
