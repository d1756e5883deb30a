/**
 * The end of bench-ingest: what is stored checked against the generator's
 * manifests (a full audit of raw, or the per-sensor counts of the
 * sensor-extent view), timed and with the service's peak RSS meanwhile.
 */
import type { SensorAudit } from '../lib/clickhouse/raw';
import type { HerodotusApi } from '../harness/verify/api-client';
import { AUDIT_MAX_POINTS, checkExtents, checkStorage, type ExpectedSensor, type StorageCheck } from '../harness/verify/manifest-check';
import { summarize } from './ingest-cpu';
import { getJson } from './ingest-http';
import type { IngestOptions } from './ingest-options';
import { log } from './ingest-log';
import type { Sampler } from './ingest-sampler';
import { round } from './round';

/** The stored points against the manifests, by `mode`; stops the sampler once done. */
export async function verifyStored(
  api: HerodotusApi,
  sampler: Sampler,
  expected: Map<number, ExpectedSensor>,
  mode: IngestOptions['verify'],
  cores: number,
): Promise<Record<string, unknown>> {
  // Keep sampling through verification: its cost (a full scan of raw) is worth seeing too.
  const verifyFrom = sampler.tick().t;
  const generatedTotal = [...expected.values()].reduce((n, e) => n + e.points, 0);
  const method = mode === 'auto' ? (generatedTotal <= AUDIT_MAX_POINTS ? 'audit' : 'extents') : mode;
  const verified = await verify(api, expected, method);
  const verifyTo = sampler.tick().t;
  sampler.stop();
  verified.seconds = round((verifyTo - verifyFrom) / 1000, 1);
  verified.herodotus_rss_mb_max = summarize(sampler.samples, verifyFrom, verifyTo, cores).processes.herodotus.rss_mb_max;
  if (mode === 'auto' && method === 'extents') {
    verified.why = `${generatedTotal.toLocaleString('en')} points > ${AUDIT_MAX_POINTS.toLocaleString('en')}: a full audit of raw (GROUP BY sensor, ts) would take minutes; --verify audit forces it`;
  }
  return verified;
}

async function verify(
  api: HerodotusApi,
  expected: Map<number, ExpectedSensor>,
  method: 'audit' | 'extents' | 'none',
): Promise<Record<string, unknown>> {
  if (method === 'none') return { method };
  if (method === 'audit') {
    log('verifying: full audit of raw against the generator manifests…');
    try {
      const sensors: SensorAudit[] = [];
      for (let cursor: number | null = 0; cursor !== null; ) {
        const page: { sensors: SensorAudit[]; next: number | null } = await getJson(api, `/v1/audit?cursor=${cursor}`, 30 * 60_000);
        sensors.push(...page.sensors);
        cursor = page.next;
      }
      return summary(method, checkStorage(expected, sensors));
    } catch (err) {
      log(`  audit failed (${(err as Error).message}); checking the sensor extents instead`);
    }
  }
  log('verifying: points per sensor (sensor extents) against the generator manifests…');
  return summary('extents', checkExtents(expected, await getJson<{ sensor: number; points: number }[]>(api, '/v1/sensors', 5 * 60_000)));
}

function summary(method: 'audit' | 'extents', check: StorageCheck): Record<string, unknown> {
  return {
    method,
    ok: check.ok,
    generated: check.generated_points,
    stored: check.stored_points,
    lost: check.lost_points,
    duplicates: check.duplicate_points,
    unexpected: check.unexpected_points,
    mismatched_sensors: check.mismatched_sensors.length,
  };
}
