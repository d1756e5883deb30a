import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { type Admin, ConfigResourceTypes } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import { runGenerator } from '../../generator/run';
import { regularBatch } from '../../generator/signal';
import { waitFor } from '../../harness/stack/child';
import { Harness, type HarnessOptions } from '../../harness/stack/harness';
import { summarizeDeadLetters } from '../../harness/verify/dead-letters';
import { checkStorage } from '../../harness/verify/manifest-check';
import { expectedFromManifest } from '../../harness/verify/report';
import { encodeBatch } from '../../lib/batch/encode';
import { temporalAddress } from '../../lib/config/config';
import { topicOffsets } from '../../lib/kafka/topics';
import { createLogger } from '../../lib/log/logger';
import { SensorChecksum } from '../../lib/model/checksum';
import { connectClient } from '../../workers/ingest-control';
import { ingestWorkflowId, progressQuery } from '../../workflows/partition-ingest';
import { tempStateDir } from '../support/ingest-run';

/**
 * The offsets a partition's ingest works through, at their edges: records
 * that Kafka's retention removed before they were read, and an ingest
 * workflow that is terminated and started again.
 */
describe('ingest offsets', () => {
  let harness: Harness | null = null;
  let client: Client | null = null;
  let admin: Admin | null = null;
  let stateDir = '';
  const log = createLogger('test', process.env.LOG_LEVEL ?? 'warn');

  afterEach(async () => {
    await admin?.disconnect().catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    await harness?.stop();
    admin = null;
    client = null;
    harness = null;
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function start(name: string, opts: Partial<HarnessOptions> = {}): Promise<Harness> {
    stateDir = tempStateDir(name);
    harness = await Harness.start({ stateDir, freePorts: true, ...opts });
    client = await connectClient(temporalAddress(harness.config), harness.config.temporal.namespace);
    admin = harness.kafka.admin();
    await admin.connect();
    return harness;
  }

  /** AlterConfigs replaces a topic's whole configuration: everything it should keep is listed. */
  async function setTopicConfig(topic: string, config: Record<string, string>): Promise<void> {
    await admin!.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: Object.entries({ 'max.message.bytes': String(16 * 1024 * 1024), ...config }).map(([name, value]) => ({
            name,
            value,
          })),
        },
      ],
    });
  }

  /** Partition → high watermark (Kafka lists partitions in no particular order). */
  async function highWatermarks(topic: string): Promise<Map<number, number>> {
    return new Map((await topicOffsets(harness!.kafka, topic)).map((o) => [o.partition, o.high]));
  }

  /** The ingestRange ranges the partition's workflow has scheduled so far, in order. */
  async function scheduledRanges(handle: WorkflowHandle): Promise<{ from: number; to: number }[]> {
    const events = (await handle.fetchHistory()).events ?? [];
    return events
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a?.activityType?.name === 'ingestRange')
      .map((a) => JSON.parse(Buffer.from(a!.input!.payloads![0]!.data!).toString()) as { from: number; to: number });
  }

  test('retention removes the start of a planned range: the expired offsets are skipped, counted in /metrics and logged, nothing hangs', async () => {
    const h = await start('retention', { kafkaRetentionCheckMs: 1000, env: { HERODOTUS_PARTITIONS: '1' } });
    const { topic, dlqTopic } = h.config.kafka;
    const handle = client!.workflow.getHandle(ingestWorkflowId(topic, 0));
    // Every record below is one batch of about 8.1 kB (a version 2 frame of 1000
    // Float64 values is 8040 bytes): segments of 12000 bytes hold one each, so
    // that retention deletes record by record.
    const segment = { 'segment.bytes': '12000' };
    await setTopicConfig(topic, segment);
    // What holds a planned range back: without its dead-letter topic, a chunk
    // holding garbage fails and Temporal retries the same range until it is back.
    await admin!.deleteTopics({ topics: [dlqTopic] });

    // Offsets 0–4 carry timestamps two hours old (garbage at 0, then sensor 1),
    // offsets 5–9 current ones (sensor 2). One send each: one batch, one segment.
    const producer = h.kafka.producer();
    await producer.connect();
    const old = String(Date.now() - 2 * 3_600_000);
    const kept = new SensorChecksum();
    try {
      await producer.send({ topic, acks: -1, messages: [{ key: '1', value: Buffer.alloc(8040, 0xab), timestamp: old }] });
      for (let second = 0; second < 4; second++) {
        const batch = regularBatch(31, 1, Date.UTC(2026, 0, 1) + second * 1000, 1000);
        await producer.send({ topic, acks: -1, messages: [{ key: '1', value: encodeBatch(batch), timestamp: old }] });
      }
      for (let second = 0; second < 5; second++) {
        const batch = regularBatch(31, 2, Date.UTC(2026, 0, 1) + second * 1000, 1000);
        for (const [i, v] of batch.values.entries()) kept.add(batch.start + i * batch.periodMs, v);
        await producer.send({ topic, acks: -1, messages: [{ key: '2', value: encodeBatch(batch) }] });
      }
    } finally {
      await producer.disconnect();
    }

    // The range starting at offset 0 is planned (in history) and has failed at least once.
    await waitFor(
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        return pending.some((a) => a.activityType?.name === 'ingestRange' && (a.attempt ?? 0) >= 2);
      },
      { what: 'the chunk holding the garbage to be retried', timeoutMs: 60_000 },
    );
    const planned = await scheduledRanges(handle);
    expect(planned[0]?.from).toBe(0);

    // Retention now deletes everything older than an hour: offsets 0–4, the start of that planned range.
    await setTopicConfig(topic, { ...segment, 'retention.ms': String(3_600_000) });
    await waitFor(async () => (await topicOffsets(h.kafka, topic))[0]!.low === 5, {
      what: 'retention to delete offsets 0-4',
      timeoutMs: 60_000,
    });
    await admin!.createTopics({ waitForLeaders: true, topics: [{ topic: dlqTopic, numPartitions: 1, replicationFactor: 1 }] });

    await h.waitCaughtUp(120_000);
    const progress = await handle.query(progressQuery);
    expect(progress).toMatchObject({ next: 10, expired: 5, records: 5 });
    const metrics = await (await fetch(`${h.api.baseUrl}/metrics`)).text();
    expect(metrics).toContain('herodotus_expired_offsets_total{partition="0"} 5');
    const logged = fs
      .readFileSync(path.join(h.infra.logDir, 'herodotus.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('offsets removed by Kafka retention'))
      .map((l) => JSON.parse(l) as { expiredFrom: number; expiredTo: number });
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[0]!.expiredFrom).toBe(0);
    expect(Math.max(...logged.map((l) => l.expiredTo))).toBe(5);

    // Sensor 2 whole, sensor 1 (expired) absent, and the expired garbage never dead-lettered.
    const audit = await h.api.audit();
    expect(audit.map((a) => a.sensor)).toEqual([2]);
    expect(audit[0]).toMatchObject({ points: 5000, distinct_points: 5000, checksum: kept.checksum });
    expect((await summarizeDeadLetters(h.kafka, dlqTopic, log)).records).toBe(0);
  }, 300_000);

  test('a terminated ingest workflow is started again from its durable checkpoint, not offset 0', async () => {
    const h = await start('checkpoint');
    const { topic, dlqTopic, partitions } = h.config.kafka;
    const upstream = {
      topic,
      rateHz: 1000,
      startMs: Date.UTC(2026, 0, 1),
      lateFraction: 0.02,
      maxLateMs: 60_000,
      dupFraction: 0.02,
      reorder: true,
      corruptFraction: 0.01,
      realtime: false,
      sensors: 10,
      durationS: 10,
    };
    const first = await runGenerator(h.kafka, { ...upstream, firstSensor: 1, seed: 21 });
    await h.waitCaughtUp();
    const before = await highWatermarks(topic);

    const handles = Array.from({ length: partitions }, (_, p) => client!.workflow.getHandle(ingestWorkflowId(topic, p)));
    const oldRuns = await Promise.all(handles.map(async (hd) => (await hd.describe()).runId));
    for (const hd of handles) await hd.terminate('test: the ingest workflow is lost');

    // The service notices and starts each partition again, at its checkpoint: the high watermark it had stored up to.
    for (const [p, hd] of handles.entries()) {
      await waitFor(
        async () => {
          const d = await hd.describe();
          return d.status.name === 'RUNNING' && d.runId !== oldRuns[p];
        },
        { what: `a new ingest workflow for partition ${p}`, timeoutMs: 60_000 },
      );
      const started = (await hd.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
      const input = JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString()) as { next: number };
      expect(before.get(p)).toBeGreaterThan(0);
      expect(input.next).toBe(before.get(p));
    }

    const second = await runGenerator(h.kafka, { ...upstream, firstSensor: 11, seed: 22 });
    await h.waitCaughtUp();
    const after = await highWatermarks(topic);
    for (const [p, hd] of handles.entries()) {
      // The new workflows read only what came after their checkpoint.
      const progress = await hd.query(progressQuery);
      expect(progress).toMatchObject({ next: after.get(p), records: after.get(p)! - before.get(p)!, expired: 0 });
    }

    const expected = new Map([...expectedFromManifest(first.manifest), ...expectedFromManifest(second.manifest)]);
    const storage = checkStorage(expected, await h.api.audit());
    expect(storage.mismatched_sensors).toEqual([]);
    expect(storage).toMatchObject({ lost_points: 0, duplicate_points: 0, unexpected_points: 0 });
    expect(storage.stored_points).toBe(first.manifest.totals.generated_points + second.manifest.totals.generated_points);
    const garbage = first.manifest.totals.garbage + second.manifest.totals.garbage;
    expect(garbage).toBeGreaterThan(0);
    expect((await summarizeDeadLetters(h.kafka, dlqTopic, log)).records).toBe(garbage);
  }, 300_000);
});
