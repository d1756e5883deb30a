// What a correction (on_conflict=replace) costs against a plain write of the
// same few points: raw holds `sensors` sensors × `days` days at 1 Hz; each
// round stores 3 points of one sensor, once as new points and once as
// corrections of stored ones (ALTER … DELETE of the old rows, waited for,
// then the insert), on one day and spread over 3 days. Medians of `rounds`,
// wall ms and this process's CPU seconds (chdb runs in it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseOptions } from '../lib/config/args';
import { loadConfig } from '../lib/config/config';
import { migrate } from '../lib/clickhouse/migrate';
import { singleShard } from '../lib/clickhouse/shards';
import { openStore } from '../lib/clickhouse/store-open';
import { storeOnShards } from '../lib/ingest/store-points';
import { MS } from '../lib/model/ladder';
import { allocatePoints } from '../lib/model/points';

const HELP = 'bench-replace-cost [--sensors N] [--days N] [--rounds N]: a correction of 3 points vs a plain write of 3 points (JSON)';
const schema = z.object({
  sensors: z.coerce.number().int().min(1).default(10),
  days: z.coerce.number().int().min(3).default(10),
  rounds: z.coerce.number().int().min(1).default(5),
});
const T0 = Date.UTC(2025, 0, 1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function points(sensor: number, ts: number[], value: (ts: number) => number) {
  const p = allocatePoints(ts.length);
  for (const t of ts) {
    const i = p.length++;
    [p.sensor[i], p.ts[i], p.value[i]] = [sensor, t, value(t)];
  }
  return p;
}

export async function benchReplaceCost(argv: string[]): Promise<number> {
  const args = parseOptions(argv, { sensors: { type: 'string' }, days: { type: 'string' }, rounds: { type: 'string' } }, schema, HELP);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herodotus-bench-replace-'));
  const store = await openStore(loadConfig({ ...process.env, HERODOTUS_STATE_DIR: stateDir }), { name: 'bench-replace' });
  const shards = singleShard(store);
  try {
    await migrate(shards);
    let version = 1;
    const write = (p: ReturnType<typeof points>, name: string, replace = false) =>
      storeOnShards(shards, { points: p, version: version++, windowMs: MS.minute, name, ...(replace ? { onConflict: 'replace' } : {}) });
    const day = Array.from({ length: 86_400 }, (_, i) => i * 1000);
    for (let s = 1; s <= args.sensors; s++) {
      for (let d = 0; d < args.days; d++)
        await write(
          points(
            s,
            day.map((t) => T0 + d * MS.day + t),
            (t) => (t / 1000) % 977,
          ),
          `fill-${s}-${d}`,
        );
    }
    const measure = async (run: () => Promise<unknown>) => {
      const cpu = process.cpuUsage();
      const t = performance.now();
      await run();
      const used = process.cpuUsage(cpu);
      return { ms: performance.now() - t, cpu_s: (used.user + used.system) / 1e6 };
    };
    const rounds: Record<string, { ms: number; cpu_s: number }[]> = { plain: [], replace_1_day: [], replace_3_days: [] };
    for (let r = 0; r < args.rounds; r++) {
      const fresh = [1, 2, 3].map((k) => T0 + args.days * MS.day + (r * 3 + k) * 1000);
      const oneDay = [1, 2, 3].map((k) => T0 + (r * 3 + k) * 60_000);
      const threeDays = [0, 1, 2].map((d) => T0 + d * MS.day + (r + 1) * 7000);
      rounds.plain!.push(
        await measure(() =>
          write(
            points(1, fresh, () => r),
            `plain-${r}`,
          ),
        ),
      );
      rounds.replace_1_day!.push(
        await measure(() =>
          write(
            points(2, oneDay, () => -r - 0.5),
            `fix1-${r}`,
            true,
          ),
        ),
      );
      rounds.replace_3_days!.push(
        await measure(() =>
          write(
            points(3, threeDays, () => -r - 0.5),
            `fix3-${r}`,
            true,
          ),
        ),
      );
    }
    const summary = Object.fromEntries(
      Object.entries(rounds).map(([k, xs]) => [k, { ms: Math.round(median(xs.map((x) => x.ms))), cpu_s: median(xs.map((x) => x.cpu_s)) }]),
    );
    const result = {
      bench: 'replace-cost',
      engine: 'chdb (embedded)',
      raw_points: args.sensors * args.days * 86_400,
      rounds: args.rounds,
      median: summary,
      machine: { cores: os.cpus().length, load_1m: os.loadavg()[0] },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await store.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
