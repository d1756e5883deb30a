// Poison input never stops a partition: batches that break an ingest limit
// (days spanned, frame bytes, points, future timestamps) are a 400 over HTTP
// and dead letters when an upstream publishes them to Kafka directly; a chunk
// whose batches together span more days than one insert block may hold is
// stored in several blocks; chunks stop at their points and bytes budgets;
// and a record ClickHouse itself refuses for good is dead-lettered while its
// neighbours on the partition are stored. Every step waits for the lag to
// return to 0 and checks the stored points against the checksums of what was sent.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../lib/batch/encode';
import { timestampAt, type SensorBatch } from '../../lib/batch/types';
import { embeddedPath } from '../../lib/clickhouse/store-embedded';
import { PROJECT_ROOT } from '../../lib/config/config';
import { OffsetWatcher } from '../../lib/kafka/offsets';
import { PartitionReader } from '../../lib/kafka/range-reader';
import { topicOffsets } from '../../lib/kafka/topics';
import { createLogger } from '../../lib/log/logger';
import { SensorChecksum } from '../../lib/model/checksum';
import { Harness } from '../../harness/stack/harness';
import { tempStateDir } from '../support/ingest-run';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const CHUNK_MAX_POINTS = 2000;
const CHUNK_MAX_BYTES = 32 * 1024;
const MAX_BATCH_BYTES = 8 * 1024;
/** Every Kafka record of this file goes to one partition, so neighbours share its checkpoint. */
const PARTITION = 0;

let harness: Harness | undefined;
let producer: Producer | undefined;
let stateDir = '';
const log = createLogger('poison-test', process.env.LOG_LEVEL ?? 'warn');

beforeAll(async () => {
  stateDir = tempStateDir('poison');
  harness = await Harness.start({
    stateDir,
    freePorts: true,
    log,
    env: {
      HERODOTUS_CHUNK_MAX_POINTS: String(CHUNK_MAX_POINTS),
      HERODOTUS_CHUNK_MAX_BYTES: String(CHUNK_MAX_BYTES),
      HERODOTUS_MAX_BATCH_BYTES: String(MAX_BATCH_BYTES),
    },
  });
  producer = harness.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  try {
    await producer?.disconnect();
    await harness?.stop();
  } finally {
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

function h(): Harness {
  if (!harness) throw new Error('the stack did not start');
  return harness;
}

// ------------------------------------------------------------- helpers ---

function regular(sensor: number, start: number, periodMs: number, n: number, seed = sensor): SensorBatch {
  const values = Float64Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 104_729) % 20_011) / 8 - 1000);
  return { kind: 'regular', sensor, start, periodMs, values };
}

/**
 * Publishes the batches to the batches topic as an upstream would, bypassing
 * HTTP and its validation, all in one request to one partition (so one
 * planned range holds them all); returns the offset of each.
 */
async function publish(batches: SensorBatch[]): Promise<number[]> {
  const [meta] = await producer!.send({
    topic: h().config.kafka.topic,
    acks: -1,
    messages: batches.map((b) => ({ key: String(b.sensor), value: encodeBatch(b), partition: PARTITION })),
  });
  const base = Number(meta!.baseOffset);
  return batches.map((_, i) => base + i);
}

async function postJson(body: unknown): Promise<{ status: number; body: { error?: { code: string; message: string; field?: string } } }> {
  const res = await fetch(`${h().api.baseUrl}/v1/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as never };
}

function json(b: SensorBatch) {
  if (b.kind !== 'regular') throw new Error('regular batches only');
  return { v: 1, sensor: b.sensor, start: b.start, period_ms: b.periodMs, values: Array.from(b.values) };
}

/** The lag of every partition returns to 0 (generous: a bound for a stuck partition, not a timing). */
const caughtUp = () => h().waitCaughtUp(120_000);

/** What /v1/audit must show for the sensors of these batches (each stored once). */
function expectedAudit(batches: SensorBatch[]) {
  const bySensor = new Map<number, SensorChecksum>();
  for (const b of batches) {
    let sum = bySensor.get(b.sensor);
    if (!sum) bySensor.set(b.sensor, (sum = new SensorChecksum()));
    for (let i = 0; i < b.values.length; i++) sum.add(timestampAt(b, i), b.values[i]!);
  }
  return [...bySensor.entries()]
    .sort(([a], [b]) => a - b)
    .map(([sensor, sum]) => ({ sensor, points: sum.points, distinct_points: sum.points, checksum: sum.checksum }));
}

async function auditOf(sensors: number[]) {
  const wanted = new Set(sensors);
  return (await h().api.audit()).filter((a) => wanted.has(a.sensor));
}

/** Dead letters of this file's partition by source offset: error code and, for storage_rejected, the ClickHouse code. */
async function deadLetters(): Promise<Map<number, { code: string; clickhouseCode?: string }>> {
  const out = new Map<number, { code: string; clickhouseCode?: string }>();
  const topic = h().config.kafka.dlqTopic;
  const offsets = new OffsetWatcher(h().kafka);
  for (const { partition, low, high } of await topicOffsets(h().kafka, topic)) {
    const reader = new PartitionReader(h().kafka, topic, partition, offsets, log);
    try {
      for (const r of (await reader.read(low, high, 60_000)).records) {
        if (r.headers['source-partition'] !== String(PARTITION)) continue;
        const code = r.headers['error-code'] ?? 'unknown';
        const clickhouseCode = r.headers['clickhouse-code'];
        out.set(Number(r.headers['source-offset']), clickhouseCode ? { code, clickhouseCode } : { code });
      }
    } finally {
      await reader.close();
    }
  }
  await offsets.close();
  return out;
}

/** Chunks the partition's ingest workflow has run so far (its `progress` query, through /v1/ingest/status). */
async function chunksSoFar(): Promise<number> {
  const res = await fetch(`${h().api.baseUrl}/v1/ingest/status`);
  const status = (await res.json()) as { partitions: { partition: number; totals: { chunks: number } | null }[] };
  return status.partitions.find((p) => p.partition === PARTITION)?.totals?.chunks ?? 0;
}

// --------------------------------------------------------------- tests ---

describe('poison input', () => {
  // 200 daily points: a valid batch that spans 200 days.
  const poison = regular(900, T0, DAY, 200);

  it('over HTTP, a batch beyond an ingest limit is a 400 naming the limit', async () => {
    const days = await postJson(json(poison));
    expect(days).toMatchObject({ status: 400, body: { error: { code: 'too_many_days', field: 'ts[100]' } } });
    expect(days.body.error!.message).toMatch(/at most 100 UTC days.*200 days/);

    const future = await postJson(json(regular(901, Date.now() + 2 * DAY, 1000, 3)));
    expect(future).toMatchObject({ status: 400, body: { error: { code: 'future_timestamp', field: 'ts[0]' } } });
    expect(future.body.error!.message).toMatch(/at most 86400000 ms after now/);

    // 24 + 4·3000 + 4 bytes as a frame
    const bytes = await postJson(json(regular(902, T0, 1, 3000)));
    expect(bytes).toMatchObject({ status: 400, body: { error: { code: 'batch_too_large', field: 'values' } } });
    expect(bytes.body.error!.message).toMatch(new RegExp(`at most ${MAX_BATCH_BYTES} bytes.*got 24040 bytes`));

    const points = await postJson({ v: 1, sensor: 903, start: T0, period_ms: 1, values: new Array(100_001).fill(0) });
    expect(points).toMatchObject({ status: 400, body: { error: { code: 'too_many_points', field: 'values' } } });
    expect(points.body.error!.message).toMatch(/at most 100000 points/);
  });

  it('published to Kafka directly, such batches are dead-lettered with their reason and their neighbours are stored', async () => {
    const neighbours = [regular(910, T0, 1000, 100), regular(911, T0, 1000, 100), regular(912, T0, 10, 500), regular(913, T0, 1, 50)];
    const future = regular(901, Date.now() + 2 * DAY, 1000, 3);
    const large = regular(902, T0, 1, 3000);
    const offsets = await publish([neighbours[0]!, poison, neighbours[1]!, future, neighbours[2]!, large, neighbours[3]!]);
    await caughtUp();
    expect(await auditOf([900, 901, 902, 910, 911, 912, 913])).toEqual(expectedAudit(neighbours));
    const letters = await deadLetters();
    expect([1, 3, 5].map((i) => letters.get(offsets[i]!))).toEqual([
      { code: 'too_many_days' },
      { code: 'future_timestamp' },
      { code: 'batch_too_large' },
    ]);
    for (const i of [0, 2, 4, 6]) expect(letters.has(offsets[i]!)).toBe(false);
  });

  it('a chunk whose batches together span 150 days is stored exactly, in several insert blocks', async () => {
    // One day each, ten points at 1 s: 150 records, 1500 points, well inside one chunk's budgets.
    const days = Array.from({ length: 150 }, (_, i) => regular(920 + (i % 3), T0 + i * DAY, 1000, 10, i));
    const before = await chunksSoFar();
    await publish(days);
    await caughtUp();
    expect(await auditOf([920, 921, 922])).toEqual(expectedAudit(days));
    // One produce request appends the 150 records at once, so one planned range holds them: one chunk, one write.
    expect(await chunksSoFar()).toBe(before + 1);
  });

  it('a chunk stops at its points budget', async () => {
    // 10 records of 1000 points (4028 bytes each): the bytes budget alone would allow 4 per chunk, the points budget allows 2.
    const batches = Array.from({ length: 10 }, (_, i) => regular(930, T0 + i * 1000, 1, 1000, i));
    const before = await chunksSoFar();
    await publish(batches);
    await caughtUp();
    expect(await auditOf([930])).toEqual(expectedAudit(batches));
    expect((await chunksSoFar()) - before).toBeGreaterThanOrEqual(10 / (CHUNK_MAX_POINTS / 1000));
  });

  it('a chunk stops at its bytes budget', async () => {
    // 1200 one-point records of 48 bytes (frame version 2): 682 fit the bytes budget, all 1200 the points budget.
    const batches = Array.from({ length: 1200 }, (_, i) => regular(931, T0 + i * 1000, 1, 1, i));
    const before = await chunksSoFar();
    await publish(batches);
    await caughtUp();
    expect(await auditOf([931])).toEqual(expectedAudit(batches));
    expect((await chunksSoFar()) - before).toBeGreaterThanOrEqual(Math.ceil((1200 * 48) / CHUNK_MAX_BYTES));
  });

  it('a record ClickHouse refuses for good is dead-lettered storage_rejected with its code; its neighbours are stored', async () => {
    // A constraint stands for any rule the server enforces on values: 666 now never stores.
    await h().stopService();
    const path = embeddedPath(h().config);
    const script = `import { Session } from 'chdb';
      const s = new Session(${JSON.stringify(path)});
      s.query('ALTER TABLE ${h().config.clickhouse.database}.raw ADD CONSTRAINT poison CHECK value != 666');
      s.cleanup();`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: PROJECT_ROOT, stdio: 'inherit' });
    await h().startService();

    const refused: SensorBatch = { kind: 'regular', sensor: 941, start: T0, periodMs: 1000, values: Float64Array.of(1, 666, 3) };
    const neighbours = [regular(940, T0, 1000, 100), regular(942, T0, 1000, 100), regular(943, T0 + DAY, 1000, 100)];
    const offsets = await publish([neighbours[0]!, refused, neighbours[1]!, neighbours[2]!]);
    await caughtUp();
    expect(await auditOf([940, 941, 942, 943])).toEqual(expectedAudit(neighbours));
    const letters = await deadLetters();
    expect(letters.get(offsets[1]!)).toEqual({ code: 'storage_rejected', clickhouseCode: '469' });
    for (const i of [0, 2, 3]) expect(letters.has(offsets[i]!)).toBe(false);
  });
});
