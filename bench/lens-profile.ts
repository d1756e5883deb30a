/**
 * Where a lens's time goes, stage by stage, on the data an earlier bench-lens
 * left (the service must be stopped: chdb locks its path):
 *
 *   npx tsx bench/lens-profile.ts --state DIR [--sensors 10] [--days 1] [--lenses 20]
 *
 * For each preset, random lenses one at a time: the ledger read from
 * ClickHouse (what every lens did before) and from the process's cache, the
 * lens query with JSON rows (before) and with RowBinary rows, and the answer
 * as JSON text and as a binary lens. Medians in ms; JSON on the last line.
 */
import { dayLedger, SMALL_QUERY, windowLedger } from '../lib/clickhouse/ledger';
import { openStore } from '../lib/clickhouse/store-open';
import { loadConfig } from '../lib/config/config';
import { queryBuckets } from '../lib/lens/buckets';
import { LedgerCache } from '../lib/lens/ledger-cache';
import { encodeLensBinary } from '../lib/lens/lens-binary';
import { planLens, uncleanDayRanges } from '../lib/lens/planner';
import { lensSql, runLens } from '../lib/lens/query';
import { singleShard } from '../lib/clickhouse/shards';
import { alignDown, alignUp, makeLadder, MS, niceStep } from '../lib/model/ladder';
import { percentile } from '../harness/verify/latency';

const PRESETS: Record<string, number> = { '10s': 10_000, '1min': 60_000, '1h': 3_600_000, '1d': 86_400_000, '30d': 30 * 86_400_000 };

const arg = (argv: string[], name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};

async function timed<T>(into: number[], work: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const r = await work();
  into.push(performance.now() - t0);
  return r;
}

const median = (xs: number[]) =>
  Number(
    percentile(
      [...xs].sort((a, b) => a - b),
      0.5,
    ).toFixed(2),
  );

export async function main(argv: string[]): Promise<void> {
  const config = loadConfig({ ...process.env, HERODOTUS_STATE_DIR: arg(argv, 'state', '.herodotus/bench-lens') });
  const sensors = Array.from({ length: Number(arg(argv, 'sensors', '10')) }, (_, i) => i + 1);
  const days = Number(arg(argv, 'days', '1'));
  const lenses = Number(arg(argv, 'lenses', '20'));
  const to = Date.UTC(2026, 0, 1);
  const from = to - days * MS.day;
  const store = await openStore(config, { name: 'profile', maxExecutionMs: 60_000 });
  const ladder = makeLadder();
  const cache = new LedgerCache({ maxAgeMs: Number.POSITIVE_INFINITY, maxEntries: 100_000 });
  const out: Record<string, Record<string, number>> = {};
  try {
    for (const [name, span] of Object.entries(PRESETS)) {
      const t: Record<string, number[]> = {
        ledger_queries: [],
        ledger_cached: [],
        query_json: [],
        query_rowbinary: [],
        encode_json: [],
        encode_binary: [],
        whole_lens: [],
      };
      for (let i = 0; i < lenses; i++) {
        const end = from + span + Math.floor((i / lenses) * Math.max(0, to - from - span));
        const req = { sensors, from: end - span, to: end, stepMs: niceStep(end - span, end, 2500) };
        const gFrom = alignDown(req.from, req.stepMs);
        const gTo = alignUp(req.to, req.stepMs);
        const stats = { rowsRead: 0 };
        const view = await timed(t.ledger_queries!, async () => {
          const d = await dayLedger(store, sensors, gFrom, gTo, MS.day, stats);
          return { days: d, windows: await windowLedger(store, uncleanDayRanges(sensors, d, gFrom, gTo), stats) };
        });
        await cache.view(store, sensors, gFrom, gTo, stats);
        await timed(t.ledger_cached!, () => cache.view(store, sensors, gFrom, gTo, stats));
        const sql = lensSql(store, planLens(ladder, sensors, gFrom, gTo, req.stepMs, view));
        await timed(t.query_json!, () => store.queryWithStats(sql, SMALL_QUERY));
        await timed(t.query_rowbinary!, () => queryBuckets(store, sql, SMALL_QUERY));
        const lens = await timed(t.whole_lens!, () => runLens(singleShard(store), ladder, req, cache));
        await timed(t.encode_json!, () => JSON.stringify(lens));
        await timed(t.encode_binary!, () => encodeLensBinary(lens));
      }
      out[name] = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
      process.stderr.write(`lens-profile: ${name} ${JSON.stringify(out[name])}\n`);
    }
  } finally {
    cache.close();
    await store.close();
  }
  process.stdout.write(
    `${JSON.stringify({ bench: 'lens-profile', sensors: sensors.length, days, lenses_per_preset: lenses, median_ms: out })}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
