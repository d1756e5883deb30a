import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../lib/config/config';
import { createLogger } from '../lib/log/logger';
import { backfillMonth } from '../harness/scenario/backfill-month';
import type { Outcome, ScenarioContext, ScenarioResult } from '../harness/scenario/common';
import { burst, duplicates, lateData, outages, steady } from '../harness/scenario/live';
import { stopAllChildren } from '../harness/stack/child';
import { clusterDown, clusterUp } from '../harness/stack/cluster';
import { Harness } from '../harness/stack/harness';
import { parseOptions, UsageError } from '../lib/config/args';

interface Scenario {
  summary: string;
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>;
}

const SCENARIOS: Record<string, Scenario> = {
  steady: { summary: '1000 sensors × 1 kHz realtime ingest while 100 users query, N minutes', run: steady },
  'late-data': { summary: 'batches held back until their windows are compacted, then delivered', run: lateData },
  duplicates: { summary: '30 % re-sent batches, then the whole stream replayed', run: duplicates },
  outage: {
    summary: 'worker kill -9, Kafka, Temporal (and with --cluster a replica, kill -9) each down for 60 s during realtime ingest',
    run: outages,
  },
  burst: { summary: 'upstream silent for 40 s, then the backlog published at once', run: burst },
  'backfill-month': { summary: '30 days × 2 sensors × 10 Hz through a backfill workflow, then lens checks', run: backfillMonth },
};

const HELP = `usage: herodotus scenario <name> [--json] [--cluster] [--minutes N] [--sensors N] [--users N]

Starts a fresh stack under <state dir>/scenarios/<name>, runs the scenario,
checks it and prints a report ending with lost and duplicate points (against
the generator's manifest) and lens exactness (random lenses vs raw). Exit code 1
if anything was lost, duplicated or inexact.

scenarios:
${Object.entries(SCENARIOS)
  .map(([n, s]) => `  ${n.padEnd(15)} ${s.summary}`)
  .join('\n')}

  --json         last line of stdout is the report as one JSON object
  --cluster      run on a local 2 shards × 2 replicas ClickHouse cluster of its
                 own (started in the state dir, stopped afterwards) instead of
                 embedded ClickHouse
  --minutes N    steady: minutes of ingest, default 1
  --sensors N    steady: sensors, default 1000
  --users N      steady: virtual users, default 100`;

const schema = z.object({
  json: z.boolean().default(false),
  cluster: z.boolean().default(false),
  minutes: z.coerce.number().min(0.1).max(1440).default(1),
  sensors: z.coerce.number().int().min(1).max(10_000).default(1000),
  users: z.coerce.number().int().min(1).max(10_000).default(100),
});

type ScenarioArgs = z.infer<typeof schema>;

export async function scenario(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const picked = pickScenario(first);
  if (picked === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const { name, s } = picked;
  const args = parseOptions(
    rest,
    {
      json: { type: 'boolean' },
      cluster: { type: 'boolean' },
      minutes: { type: 'string' },
      sensors: { type: 'string' },
      users: { type: 'string' },
    },
    schema,
    HELP,
  );
  const base = loadConfig();
  const stateDir = path.join(base.stateDir, 'scenarios', name);
  const step = (line: string) => process.stderr.write(`scenario ${name}: ${line}\n`);
  const t0 = performance.now();
  const harness = await startStack(stateDir, args, base.logLevel, step);
  try {
    step(`stack ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const r = await s.run({
      harness,
      clusterStateDir: args.cluster ? stateDir : undefined,
      opts: { minutes: args.minutes, sensors: args.sensors, users: args.users },
      step,
    });
    const failed = Object.entries(r.checks)
      .filter(([, ok]) => !ok)
      .map(([k]) => k);
    const ok = passed(r.outcome) && failed.length === 0;
    const report = {
      scenario: name,
      clickhouse: args.cluster ? 'cluster 2×2' : 'embedded',
      ok,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      ...r.details,
      checks: r.checks,
      ...r.outcome,
    };
    process.stdout.write(formatScenario(`${name} — ${s.summary}`, r, ok, failed));
    if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    return ok ? 0 : 1;
  } finally {
    step('stopping…');
    await harness.stop();
    await stopAllChildren();
    if (args.cluster) await clusterDown(stateDir);
  }
}

/** The scenario `name` names, or 'help' when that was asked for; a UsageError for anything else. */
function pickScenario(name: string | undefined): { name: string; s: Scenario } | 'help' {
  if (!name || name.startsWith('-')) {
    if (name === '--help' || name === '-h') return 'help';
    throw new UsageError(`name a scenario\n\n${HELP}`);
  }
  const s = SCENARIOS[name];
  if (!s) throw new UsageError(`unknown scenario '${name}'\n\n${HELP}`);
  return { name, s };
}

/** A fresh stack in stateDir: on embedded ClickHouse, or with `--cluster` on a local cluster of its own (stopped again if the rest fails to start). */
async function startStack(stateDir: string, args: ScenarioArgs, logLevel: string, step: (line: string) => void): Promise<Harness> {
  let env: Record<string, string> = {};
  if (args.cluster) {
    step(`starting the local ClickHouse cluster (fresh, in ${stateDir})…`);
    fs.rmSync(stateDir, { recursive: true, force: true });
    const up = await clusterUp({ stateDir, ports: 'free', database: null, progress: (line) => step(`  ${line}`) });
    env = { CLICKHOUSE_SHARDS: up.shards, CLICKHOUSE_CLUSTER: up.state.cluster };
  }
  step(`starting Kafka, Temporal and Herodotus (fresh state in ${stateDir})…`);
  return Harness.start({
    stateDir,
    fresh: !args.cluster,
    freePorts: true,
    env,
    log: createLogger('scenario', logLevel),
  }).catch(async (err: unknown) => {
    if (args.cluster) await clusterDown(stateDir);
    throw err;
  });
}

/** Nothing lost, duplicated, unexpected or inexact. */
function passed(o: Outcome): boolean {
  return (
    o.lost_points === 0 && o.duplicate_points === 0 && o.unexpected_points === 0 && o.mismatched_sensors === 0 && o.lens_mismatches === 0
  );
}

function formatScenario(title: string, r: ScenarioResult, ok: boolean, failed: string[]): string {
  const o = r.outcome;
  return [
    '',
    `Herodotus scenario ${title}`,
    ...r.lines,
    `  checks      ${
      Object.keys(r.checks).length === 0
        ? '—'
        : Object.entries(r.checks)
            .map(([k, v]) => `${k} ${v ? 'ok' : 'FAILED'}`)
            .join(', ')
    }`,
    `  generated   ${o.generated_points.toLocaleString('en')} distinct points; stored ${o.stored_points.toLocaleString('en')} (${o.storage_check === 'audit' ? 'full audit of raw' : 'points per sensor: too many points for a full audit'})`,
    `  lost        ${o.lost_points}`,
    `  duplicates  ${o.duplicate_points}${o.unexpected_points ? `; ${o.unexpected_points} unexpected` : ''}${o.mismatched_sensors ? `; ${o.mismatched_sensors} sensors differ from the manifest` : ''}`,
    `  lenses      ${o.lens_checks} random lenses vs raw: ${o.lens_mismatches} differ; p50 ${o.lens_p50_ms} ms, p99 ${o.lens_p99_ms} ms; ${o.rows_read_per_point} rows read per point`,
    ...o.lens_examples.map((e) => `              ${e}`),
    ok ? '  result      OK' : `  result      FAILED${failed.length ? ` (${failed.join(', ')})` : ''}`,
    '',
  ].join('\n');
}
