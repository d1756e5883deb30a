import { randomUUID } from 'node:crypto';
import { AssignerProtocol, type Consumer, type IHeaders, type Kafka, type KafkaMessage, type PartitionAssigner } from 'kafkajs';
import type { Logger } from '../log/logger';
import type { OffsetWatcher } from './offsets';

export interface RangeRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Assigns one fixed partition to the group's only member. kafkajs has no
 * manual assignment (its issue #373), so each reader joins a private group
 * with this assigner and never commits: Temporal owns the offsets.
 */
function fixedPartitionAssigner(topic: string, partition: number): PartitionAssigner {
  const name = 'HerodotusFixedPartition';
  return () => ({
    name,
    version: 1,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? { [topic]: [partition] } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return { name, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = v.toString();
  return out;
}

/** What a read of [from, to) found: every offset of the range is either a record here or counted in `expired`. */
export interface RangeRead {
  records: RangeRecord[];
  /** Offsets of the range that Kafka's retention removed before they were read (skipped, logged). */
  expired: number;
  /** Where reading stopped: the range's end, or the first record past the byte budget. */
  end: number;
}

interface Pending {
  /** First offset of the range neither read nor counted as expired. */
  next: number;
  to: number;
  maxBytes: number;
  bytes: number;
  records: RangeRecord[];
  expired: number;
  resolve: (read: RangeRead) => void;
  reject: (err: Error) => void;
}

/** While a read waits, the partition's low watermark is checked this often (retention may pass the read position). */
const EXPIRY_CHECK_MS = 1000;

/**
 * Reads exact offset ranges [from, to) of one partition. One consumer stays
 * connected between reads; any failure closes it and the next read starts a
 * fresh one.
 */
export class PartitionReader {
  private consumer: Consumer | null = null;
  private pending: Pending | null = null;
  private starting: Promise<Consumer> | null = null;
  private checking = false;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    readonly partition: number,
    private readonly offsets: OffsetWatcher,
    private readonly log: Logger,
  ) {}

  /**
   * The records [from, to), or fewer: reading stops before the first record
   * that would take the values read past `maxBytes` (at least one record is
   * read). Records never change, so the same call stops at the same offset.
   */
  async read(from: number, to: number, timeoutMs: number, maxBytes = Number.POSITIVE_INFINITY): Promise<RangeRead> {
    if (to <= from) return { records: [], expired: 0, end: to };
    if (this.pending) throw new Error(`partition ${this.partition}: a read is already in progress`);
    const consumer = await this.start();
    const target = [{ topic: this.topic, partitions: [this.partition] }];
    let settle!: Pick<Pending, 'resolve' | 'reject'>;
    const result = new Promise<RangeRead>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A timeout or crash may reject it while the first expiry check is still awaited.
    result.catch(() => undefined);
    const p: Pending = { next: from, to, maxBytes, bytes: 0, records: [], expired: 0, ...settle };
    this.pending = p;
    const timer = setTimeout(
      () => this.fail(new Error(`partition ${this.partition}: range [${from}, ${to}) not read within ${timeoutMs} ms`)),
      timeoutMs,
    );
    // Retention can pass the read position at any time (a fetch below the low
    // watermark leaves the consumer at the latest offset): checked now and while waiting.
    const watch = setInterval(() => void this.skipExpired(0), EXPIRY_CHECK_MS);
    try {
      // The watermarks awaitRecords just read do for the first check: a low
      // watermark that moved since is caught by the next check, before any
      // record after it is taken (see connect).
      await this.skipExpired(EXPIRY_CHECK_MS);
      if (this.pending === p && p.next < p.to) {
        consumer.seek({ topic: this.topic, partition: this.partition, offset: String(p.next) });
        consumer.resume(target);
      }
      return await result;
    } finally {
      clearTimeout(timer);
      clearInterval(watch);
      this.pending = null;
      this.consumer?.pause(target);
    }
  }

  async close(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    this.starting = null;
    if (consumer) await consumer.disconnect().catch(() => undefined);
  }

  /**
   * Skips the offsets of the pending read that retention removed: below the
   * partition's low watermark nothing can be read any more. Counted, logged
   * with the offsets, and the read goes on from the low watermark.
   */
  private async skipExpired(maxAgeMs: number): Promise<void> {
    const p = this.pending;
    if (!p || this.checking) return;
    this.checking = true;
    let low: number;
    try {
      low = (await this.offsets.partition(this.topic, this.partition, maxAgeMs)).low;
    } catch {
      return; // Kafka unreachable: the read's own timeout decides
    } finally {
      this.checking = false;
    }
    // Records may have arrived while the watermarks were fetched: `p.next` is re-read here.
    if (this.pending !== p || low <= p.next) return;
    const skipTo = Math.min(low, p.to);
    this.log.warn(
      { topic: this.topic, partition: this.partition, expiredFrom: p.next, expiredTo: skipTo, low, offsets: skipTo - p.next },
      'offsets removed by Kafka retention before they were read; skipped',
    );
    p.expired += skipTo - p.next;
    p.next = skipTo;
    if (p.next >= p.to) p.resolve({ records: p.records, expired: p.expired, end: p.to });
    else this.consumer?.seek({ topic: this.topic, partition: this.partition, offset: String(p.next) });
  }

  private fail(err: Error): void {
    this.pending?.reject(err);
    this.pending = null;
    void this.close();
  }

  private start(): Promise<Consumer> {
    this.starting ??= this.connect().catch((err) => {
      this.starting = null;
      throw err;
    });
    return this.starting;
  }

  private async connect(): Promise<Consumer> {
    const consumer = this.kafka.consumer({
      groupId: `herodotus-reader.${this.topic}.${this.partition}.${randomUUID()}`,
      partitionAssigners: [fixedPartitionAssigner(this.topic, this.partition)],
      maxBytesPerPartition: 32 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      maxWaitTimeInMs: 200,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      retry: { retries: 2, restartOnFailure: async () => false },
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.log.warn({ partition: this.partition, err: e.payload.error?.message }, 'kafka reader crashed');
      this.fail(e.payload.error ?? new Error('kafka reader crashed'));
    });
    await consumer.connect();
    // Not fromBeginning: kafkajs answers an out-of-range fetch by resetting to the
    // latest offset, past every planned range, so no record after expired offsets
    // is taken before skipExpired has counted them.
    await consumer.subscribe({ topics: [this.topic] });
    await consumer.run({
      // Offsets are resolved so that the fetch position advances, but never committed.
      autoCommit: false,
      eachBatch: async ({ batch }) => this.onBatch(batch.messages),
    });
    consumer.pause([{ topic: this.topic, partitions: [this.partition] }]);
    this.consumer = consumer;
    return consumer;
  }

  private onBatch(messages: KafkaMessage[]): void {
    const p = this.pending;
    if (!p) return;
    for (const m of messages) {
      const offset = Number(m.offset);
      // Fetches in flight before a seek can deliver other offsets: keep only the range, once.
      if (offset < p.next || offset >= p.to) continue;
      const value = m.value ?? Buffer.alloc(0);
      if (p.records.length > 0 && p.bytes + value.length > p.maxBytes) {
        p.to = offset;
        break;
      }
      p.bytes += value.length;
      p.records.push({ offset, key: m.key, value, headers: textHeaders(m.headers) });
      p.next = offset + 1;
    }
    if (p.next >= p.to) p.resolve({ records: p.records, expired: p.expired, end: p.to });
  }
}
