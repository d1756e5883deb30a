import { Rng } from '../../generator/rng';
import { percentile } from './latency';
import type { LensResult } from '../../lib/lens/query';

export const LENS_PRESETS_MS = { '10s': 10_000, '1min': 60_000, '1h': 3_600_000, '1d': 86_400_000 } as const;

/** Bucket-by-bucket differences between a lens and the same lens aggregated from raw. */
export function lensDifferences(lens: LensResult, raw: LensResult): string[] {
  const out: string[] = [];
  lens.sensors.forEach((s, k) => {
    const r = raw.sensors[k]!;
    for (let i = 0; i < s.t.length; i++) {
      const exact = (['count', 'good', 'uncertain', 'bad', 'min', 'max', 'first', 'last'] as const).filter((f) => s[f][i] !== r[f][i]);
      const a = s.avg[i] ?? null;
      const b = r.avg[i] ?? null;
      const avgOk = a === b || (a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));
      if (exact.length > 0 || !avgOk)
        out.push(
          `sensor ${s.sensor} bucket ${new Date(s.t[i]!).toISOString()}: ${[...exact, ...(avgOk ? [] : ['avg'])].join(', ')} differ`,
        );
    }
  });
  return out;
}

export interface LensCheckReport {
  lens_checks: number;
  lens_mismatches: number;
  lens_p50_ms: number;
  lens_p99_ms: number;
  rows_read_per_point: number;
  examples: string[];
}

/**
 * Random lenses over the presets (random sensors and position within the
 * data), each compared with the same buckets aggregated from raw.
 */
export async function checkRandomLenses(
  baseUrl: string,
  opts: { sensors: number[]; dataFrom: number; dataTo: number; count: number; seed: number },
): Promise<LensCheckReport> {
  const random = new Rng(opts.seed);
  const next = () => random.next();
  const presets = Object.values(LENS_PRESETS_MS);
  const latencies: number[] = [];
  let mismatches = 0;
  let rowsRead = 0;
  let points = 0;
  const examples: string[] = [];
  for (let i = 0; i < opts.count; i++) {
    const span = presets[i % presets.length]!;
    const n = 1 + Math.floor(next() * Math.min(10, opts.sensors.length));
    const sensors = [...opts.sensors].sort(() => next() - 0.5).slice(0, n);
    const end = opts.dataFrom + Math.floor(next() * (opts.dataTo - opts.dataFrom + span));
    const q = `sensors=${sensors.join(',')}&from=${end - span}&to=${end}&points=2500`;
    const t0 = performance.now();
    const lens = await getLens(`${baseUrl}/v1/lens?${q}`);
    latencies.push(performance.now() - t0);
    const raw = await getLens(`${baseUrl}/v1/lens?${q}&source=raw`);
    const diff = lensDifferences(lens, raw);
    if (diff.length > 0) {
      mismatches++;
      examples.push(`${q}: ${diff[0]}`);
    }
    rowsRead += lens.plan.rows_read;
    points += lens.sensors.length * lens.sensors[0]!.t.length;
  }
  latencies.sort((a, b) => a - b);
  return {
    lens_checks: opts.count,
    lens_mismatches: mismatches,
    lens_p50_ms: percentile(latencies, 0.5),
    lens_p99_ms: percentile(latencies, 0.99),
    rows_read_per_point: Number((rowsRead / points).toFixed(3)),
    examples: examples.slice(0, 5),
  };
}

async function getLens(url: string): Promise<LensResult> {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body as LensResult;
}
