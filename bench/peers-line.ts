import { timestampAt, type SensorBatch } from '../lib/batch/types';

/** The batches as InfluxDB line protocol (measurement `signal`, tag `sensor`, field `value`, ms timestamps): what InfluxDB, QuestDB and VictoriaMetrics are all fed. */
export function lineProtocol(batches: SensorBatch[]): string {
  const out: string[] = [];
  for (const b of batches)
    for (let i = 0; i < b.values.length; i++) out.push(`signal,sensor=${b.sensor} value=${b.values[i]} ${timestampAt(b, i)}`);
  return out.join('\n');
}
