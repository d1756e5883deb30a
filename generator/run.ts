import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { BatchPublisher, type KeyedRecord } from '../lib/kafka/batch-publisher';
import { Manifest } from './manifest';
import { publicationPlan, type PlannedRecord, type UpstreamOptions } from './upstream';

export interface GenerateOptions extends UpstreamOptions {
  topic: string;
  /** Pace publication at the sensors' own rate instead of as fast as Kafka accepts. */
  realtime: boolean;
  onProgress?: (p: GenerateProgress) => void;
  /** Told when Kafka refused a request that will be sent again. */
  onRetry?: (err: Error, attempt: number) => void;
  /** Records for which this returns true are neither published nor recorded (held back for a later run of the same plan). */
  skip?: (r: PlannedRecord) => boolean;
}

export interface GenerateProgress {
  /** Natural seconds of data published so far (of durationS). */
  seconds: number;
  records: number;
  bytes: number;
  elapsedMs: number;
}

export interface GenerateReport {
  manifest: Manifest;
  records: number;
  bytes: number;
  elapsedMs: number;
}

/** Records per Kafka request: large enough to amortise the round trip, small enough to stay well under 16 MiB. */
const SEND_RECORDS = 500;
const PROGRESS_MS = 2000;

/** How long the upstream keeps re-sending a request Kafka refuses before giving up. */
const GIVE_UP_MS = 5 * 60_000;

/**
 * Re-sends a request until Kafka takes it, as an upstream with a buffer
 * would. A request that landed but whose acknowledgement was lost lands
 * twice: the same batches at new offsets, which ingest deduplicates.
 */
async function publishPatiently(publisher: BatchPublisher, records: KeyedRecord[], onRetry?: (err: Error, attempt: number) => void) {
  const deadline = Date.now() + GIVE_UP_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await publisher.publish(records);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      onRetry?.(err as Error, attempt);
      await sleep(Math.min(500 * attempt, 5000));
    }
  }
}

/**
 * Publishes the upstream's plan to Kafka and keeps the manifest of what it
 * published. The next request is built while the previous one is in flight.
 */
export async function runGenerator(kafka: Kafka, opts: GenerateOptions): Promise<GenerateReport> {
  const publisher = new BatchPublisher(kafka, opts.topic);
  const manifest = new Manifest(opts.seed);
  const started = performance.now();
  let inFlight: Promise<void> = Promise.resolve();
  let pending: KeyedRecord[] = [];
  let records = 0;
  let bytes = 0;
  let seconds = 0;
  let lastProgress = started;
  const flush = async () => {
    const batch = pending;
    pending = [];
    await inFlight;
    inFlight = publishPatiently(publisher, batch, opts.onRetry);
    // Awaited at the next flush; marked handled now so a failure in between is not fatal.
    inFlight.catch(() => undefined);
  };
  try {
    for (const record of publicationPlan(opts)) {
      if (opts.skip?.(record)) continue;
      if (opts.realtime && record.kind === 'batch' && !record.late) {
        // A batch of second k exists only once second k has passed.
        const due = started + (record.second + 1) * 1000;
        const wait = due - performance.now();
        if (wait > 0) {
          await flush();
          await sleep(wait);
        }
      }
      manifest.record(record);
      pending.push({ key: record.key, value: record.value });
      records++;
      bytes += record.value.length;
      if (record.kind === 'batch') seconds = Math.max(seconds, record.second + 1);
      if (pending.length >= SEND_RECORDS) await flush();
      const now = performance.now();
      if (opts.onProgress && now - lastProgress >= PROGRESS_MS) {
        lastProgress = now;
        opts.onProgress({ seconds, records, bytes, elapsedMs: now - started });
      }
    }
    await flush();
    await inFlight;
  } finally {
    await publisher.close();
  }
  const elapsedMs = performance.now() - started;
  opts.onProgress?.({ seconds, records, bytes, elapsedMs });
  return { manifest, records, bytes, elapsedMs };
}
