import { setTimeout as sleep } from 'node:timers/promises';
import { runGenerator } from '../../generator/run';
import type { PlannedRecord } from '../../generator/upstream';
import { runUserLoad } from '../load/users';
import { formatUserLoad } from '../load/users-report';
import { mix32 } from '../../generator/signal';
import { summarizeDeadLetters } from '../verify/dead-letters';
import { createLogger } from '../../lib/log/logger';
import { drainCompaction, finalCheck, mergeExpected, seconds, type ScenarioContext, type ScenarioResult } from './common';
import { ingestThrough, OUTAGE_MS, outage, type Component } from './faults';
import { checkRandomLenses } from '../verify/lens-check';

const quiet = createLogger('scenario', process.env.LOG_LEVEL ?? 'warn');

/** Data starts on a whole minute so windows line up; realtime runs end near now. */
const startAligned = (durationS: number) => Math.floor((Date.now() - durationS * 1000) / 60_000) * 60_000;

/** 1000 sensors × 1 kHz published in real time for N minutes while 100 users explore lenses. */
export async function steady({ harness, opts, step }: ScenarioContext): Promise<ScenarioResult> {
  const sensors = opts.sensors ?? 1000;
  const durationS = Math.round(opts.minutes * 60);
  const startMs = Math.floor(Date.now() / 1000) * 1000;
  step(`publishing ${sensors} sensors × 1 kHz in real time for ${durationS} s while ${opts.users ?? 100} users query…`);
  // Users need something to look at: let the first seconds land before they arrive.
  const genP = runGenerator(harness.kafka, {
    topic: harness.config.kafka.topic,
    sensors,
    rateHz: 1000,
    durationS,
    startMs,
    seed: 101,
    lateFraction: 0,
    maxLateMs: 0,
    dupFraction: 0.01,
    reorder: true,
    corruptFraction: 0,
    realtime: true,
    onProgress: (p) =>
      step(
        `  published ${p.seconds}/${durationS} s (${(p.records / Math.max(1, p.elapsedMs / 1000)).toFixed(0)} records/s, behind real time by ${(p.elapsedMs / 1000 - p.seconds).toFixed(1)} s)`,
      ),
  });
  await sleep(5000);
  const lagSamples: number[] = [];
  let sampling = true;
  const lagP = (async () => {
    while (sampling) {
      const s = await harness.api.ingestStatus().catch(() => null);
      if (s?.lag != null) lagSamples.push(s.lag);
      await sleep(2000);
    }
  })();
  const users = await runUserLoad({
    baseUrl: harness.api.baseUrl,
    users: opts.users ?? 100,
    durationS: Math.max(5, durationS - 5),
    thinkMs: 1000,
    verifyFraction: 0.05,
    seed: 5,
  });
  const gen = await genP;
  const published = performance.now();
  step('waiting for ingest to catch up…');
  await harness.waitCaughtUp(1_800_000);
  sampling = false;
  await lagP;
  const catchUpS = seconds(performance.now() - published);
  const { outcome } = await finalCheck(harness, mergeExpected(gen.manifest), { from: startMs, to: startMs + durationS * 1000 });
  const pps = Math.round(gen.manifest.totals.generated_points / (gen.elapsedMs / 1000 + catchUpS));
  return {
    details: {
      sensors,
      duration_s: durationS,
      publish_s: seconds(gen.elapsedMs),
      behind_realtime_s: Number((gen.elapsedMs / 1000 - durationS).toFixed(1)),
      catch_up_after_publish_s: catchUpS,
      ingest_points_per_s: pps,
      max_lag_records: Math.max(0, ...lagSamples),
      users,
    },
    checks: { users_no_errors: users.errors === 0, users_no_mismatches: users.mismatches === 0 },
    outcome,
    lines: [
      `  ingest      ${gen.manifest.totals.generated_points.toLocaleString('en')} points in ${seconds(gen.elapsedMs)} s publishing + ${catchUpS} s catch-up = ${pps.toLocaleString('en')} points/s (target ${(sensors * 1000).toLocaleString('en')}); max lag ${Math.max(0, ...lagSamples)} records`,
      formatUserLoad(users),
    ],
  };
}

/** Batches held back until their windows are compacted, then delivered: lenses stay exact while re-aggregation is pending and after. */
export async function lateData({ harness, step }: ScenarioContext): Promise<ScenarioResult> {
  const sensors = 20;
  const durationS = 180;
  const startMs = startAligned(durationS + 3600);
  const held = (r: PlannedRecord) => r.kind !== 'garbage' && mix32(r.sensor * 100_003 + r.second) % 10 === 0;
  const base = {
    topic: harness.config.kafka.topic,
    sensors,
    rateHz: 1000,
    durationS,
    startMs,
    seed: 202,
    lateFraction: 0.05,
    maxLateMs: 120_000,
    dupFraction: 0.02,
    reorder: true,
    corruptFraction: 0.005,
    realtime: false,
  };
  step(`publishing ${sensors} sensors × ${durationS} s with 10 % of the batches held back…`);
  const first = await runGenerator(harness.kafka, { ...base, skip: held });
  await harness.waitCaughtUp();
  const compactS = await drainCompaction(harness);
  step(`windows compacted (${compactS} s); lenses before the late data:`);
  const dataTo = startMs + durationS * 1000;
  const before = await checkRandomLenses(harness.api.baseUrl, {
    sensors: Array.from({ length: sensors }, (_, i) => i + 1),
    dataFrom: startMs,
    dataTo,
    count: 40,
    seed: 1,
  });
  step(`delivering the held-back batches (${durationS}+ s late) into compacted windows…`);
  const second = await runGenerator(harness.kafka, { ...base, corruptFraction: 0, skip: (r) => r.kind !== 'garbage' && !held(r) });
  await harness.waitCaughtUp();
  // Right away, before re-compaction: dirty windows are read from raw.
  const dirty = await checkRandomLenses(harness.api.baseUrl, {
    sensors: Array.from({ length: sensors }, (_, i) => i + 1),
    dataFrom: startMs,
    dataTo,
    count: 40,
    seed: 2,
  });
  const recompactS = await drainCompaction(harness);
  const { outcome } = await finalCheck(harness, mergeExpected(first.manifest, second.manifest), { from: startMs, to: dataTo });
  const dlq = await summarizeDeadLetters(harness.kafka, harness.config.kafka.dlqTopic, quiet);
  return {
    details: {
      sensors,
      duration_s: durationS,
      held_back_batches: second.manifest.totals.batches,
      late_in_first_run: first.manifest.totals.late,
      compaction_s: compactS,
      recompaction_s: recompactS,
      lenses_before: before,
      lenses_while_dirty: dirty,
      dlq_records: dlq.records,
      garbage_records: first.manifest.totals.garbage,
    },
    checks: {
      before_exact: before.lens_mismatches === 0,
      dirty_exact: dirty.lens_mismatches === 0,
      dlq_matches_garbage: dlq.records === first.manifest.totals.garbage,
    },
    outcome,
    lines: [
      `  late        ${second.manifest.totals.batches} batches delivered after their windows were compacted (plus ${first.manifest.totals.late} late ≤ 2 min in the first run)`,
      `  lenses      before: ${before.lens_mismatches}/${before.lens_checks} differ; while dirty: ${dirty.lens_mismatches}/${dirty.lens_checks} differ; re-compaction took ${recompactS} s`,
      `  dead letter ${dlq.records} records for ${first.manifest.totals.garbage} garbage`,
    ],
  };
}

/** Heavy re-sending (30 %), then the whole stream replayed at new offsets. */
export async function duplicates({ harness, step }: ScenarioContext): Promise<ScenarioResult> {
  const sensors = 50;
  const durationS = 60;
  const startMs = startAligned(durationS + 600);
  const base = {
    topic: harness.config.kafka.topic,
    sensors,
    rateHz: 1000,
    durationS,
    startMs,
    seed: 303,
    lateFraction: 0.02,
    maxLateMs: 60_000,
    dupFraction: 0.3,
    reorder: true,
    corruptFraction: 0,
    realtime: false,
  };
  step(`publishing ${sensors} sensors × ${durationS} s with 30 % re-sent batches…`);
  const first = await runGenerator(harness.kafka, base);
  step('replaying the whole stream (every batch again, new offsets)…');
  const replay = await runGenerator(harness.kafka, base);
  await harness.waitCaughtUp();
  await drainCompaction(harness);
  const { outcome } = await finalCheck(harness, mergeExpected(first.manifest), { from: startMs, to: startMs + durationS * 1000 });
  return {
    details: {
      sensors,
      duration_s: durationS,
      records_published: first.records + replay.records,
      resent_batches: first.manifest.totals.resent,
      replayed_records: replay.records,
    },
    checks: { replay_same_manifest: replay.manifest.toJSON().sensors['1']?.checksum === first.manifest.toJSON().sensors['1']?.checksum },
    outcome,
    lines: [
      `  upstream    ${first.records} records with ${first.manifest.totals.resent} re-sent, then ${replay.records} replayed: each point sent ${((first.records + replay.records) / first.manifest.totals.batches).toFixed(2)}× on average`,
    ],
  };
}

/** Worker (kill -9), Kafka and Temporal each down for 60 s, one after another, during realtime ingest. */
export async function outages({ harness, step, clusterStateDir }: ScenarioContext): Promise<ScenarioResult> {
  const plan: Component[] = ['worker', 'kafka', 'temporal', ...(clusterStateDir ? (['replica'] as const) : [])];
  const durationS = 10 + plan.length * (OUTAGE_MS / 1000 + 20);
  const startMs = startAligned(durationS);
  const timeline: { component: Component; down_at_s: number; back_at_s: number }[] = [];
  const t0 = performance.now();
  step(`publishing 20 sensors × 1 kHz in real time for ${durationS} s; ${plan.join(', ')} each down for ${OUTAGE_MS / 1000} s…`);
  const run = await ingestThrough(
    harness,
    { sensors: 20, durationS, seed: 404, realtime: true, startMs, maxLateMs: 600_000 },
    async (h) => {
      await sleep(10_000);
      for (const c of plan) {
        const down = seconds(performance.now() - t0);
        step(`  ${c} down at ${down} s`);
        await outage(h, c, OUTAGE_MS, clusterStateDir);
        timeline.push({ component: c, down_at_s: down, back_at_s: seconds(performance.now() - t0) });
        step(`  ${c} back at ${timeline.at(-1)!.back_at_s} s`);
        await sleep(20_000);
      }
    },
  );
  const caughtUpS = seconds(performance.now() - t0);
  await drainCompaction(harness);
  const { outcome } = await finalCheck(harness, mergeExpected(run.generated.manifest), { from: startMs, to: startMs + durationS * 1000 });
  return {
    details: {
      sensors: 20,
      duration_s: durationS,
      outages: timeline,
      caught_up_at_s: caughtUpS,
      dlq_records: run.report.dlq_records,
      garbage_records: run.report.garbage_records,
    },
    checks: { dlq_matches_garbage: run.report.dlq_records === run.report.garbage_records },
    outcome,
    lines: [
      ...timeline.map((t) => `  outage      ${t.component.padEnd(8)} down ${t.down_at_s} s → back ${t.back_at_s} s`),
      `  caught up   ${caughtUpS} s after the start; dead letter ${run.report.dlq_records} for ${run.report.garbage_records} garbage`,
    ],
  };
}

/** The upstream goes silent (generator paused), then floods: the whole backlog at once. */
export async function burst({ harness, step }: ScenarioContext): Promise<ScenarioResult> {
  const sensors = 100;
  const liveS = 20;
  const silentS = 40;
  const startMs = Math.floor(Date.now() / 1000) * 1000;
  const common = {
    topic: harness.config.kafka.topic,
    sensors,
    rateHz: 1000,
    seed: 505,
    lateFraction: 0,
    maxLateMs: 0,
    dupFraction: 0.01,
    reorder: true,
    corruptFraction: 0,
  };
  step(`${sensors} sensors live for ${liveS} s…`);
  const live = await runGenerator(harness.kafka, { ...common, durationS: liveS, startMs, realtime: true });
  await harness.waitCaughtUp();
  step(`upstream silent for ${silentS} s…`);
  await sleep(silentS * 1000);
  step(`flood: ${silentS} s of backlog published at once…`);
  const f0 = performance.now();
  const flood = await runGenerator(harness.kafka, { ...common, durationS: silentS, startMs: startMs + liveS * 1000, realtime: false });
  const publishS = seconds(performance.now() - f0);
  const lensDuring = await checkRandomLenses(harness.api.baseUrl, {
    sensors: Array.from({ length: 10 }, (_, i) => i + 1),
    dataFrom: startMs,
    dataTo: startMs + (liveS + silentS) * 1000,
    count: 20,
    seed: 3,
  });
  await harness.waitCaughtUp();
  const drainS = seconds(performance.now() - f0);
  await drainCompaction(harness);
  const { outcome } = await finalCheck(harness, mergeExpected(live.manifest, flood.manifest), {
    from: startMs,
    to: startMs + (liveS + silentS) * 1000,
  });
  const backlog = flood.manifest.totals.generated_points;
  return {
    details: {
      sensors,
      live_s: liveS,
      silent_s: silentS,
      backlog_points: backlog,
      flood_publish_s: publishS,
      flood_stored_s: drainS,
      flood_points_per_s: Math.round(backlog / drainS),
      lenses_during_flood: lensDuring,
    },
    checks: { lenses_during_flood_exact: lensDuring.lens_mismatches === 0 },
    outcome,
    lines: [
      `  flood       ${backlog.toLocaleString('en')} points published in ${publishS} s, all stored ${drainS} s after the flood began (${Math.round(backlog / drainS).toLocaleString('en')} points/s)`,
      `  lenses      during the flood: ${lensDuring.lens_mismatches}/${lensDuring.lens_checks} differ, p50 ${lensDuring.lens_p50_ms} ms, p99 ${lensDuring.lens_p99_ms} ms`,
    ],
  };
}
