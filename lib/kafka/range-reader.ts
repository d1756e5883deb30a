import { randomUUID } from 'node:crypto';
import { AssignerProtocol, type Consumer, type IHeaders, type Kafka, type KafkaMessage, type PartitionAssigner } from 'kafkajs';
import type { Logger } from '../log/logger';

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

/** Records read from a range, and the offset where reading stopped (the range's end, or where the byte budget ran out). */
export interface RangeRead {
  records: RangeRecord[];
  end: number;
}

interface Pending {
  next: number;
  to: number;
  maxBytes: number;
  bytes: number;
  records: RangeRecord[];
  resolve: (read: RangeRead) => void;
  reject: (err: Error) => void;
}

/**
 * Reads exact offset ranges [from, to) of one partition. One consumer stays
 * connected between reads; any failure closes it and the next read starts a
 * fresh one.
 */
export class PartitionReader {
  private consumer: Consumer | null = null;
  private pending: Pending | null = null;
  private starting: Promise<Consumer> | null = null;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    readonly partition: number,
    private readonly log: Logger,
  ) {}

  /** The records [from, to). */
  async read(from: number, to: number, timeoutMs: number): Promise<RangeRecord[]> {
    return (await this.readWithin(from, to, timeoutMs, Number.POSITIVE_INFINITY)).records;
  }

  /**
   * The records [from, to), or fewer: reading stops before the first record
   * that would take the values read past `maxBytes` (at least one record is
   * read). Records never change, so the same call stops at the same offset.
   */
  async readWithin(from: number, to: number, timeoutMs: number, maxBytes: number): Promise<RangeRead> {
    if (to <= from) return { records: [], end: to };
    if (this.pending) throw new Error(`partition ${this.partition}: a read is already in progress`);
    const consumer = await this.start();
    const target = [{ topic: this.topic, partitions: [this.partition] }];
    const records = new Promise<RangeRead>((resolve, reject) => {
      this.pending = { next: from, to, maxBytes, bytes: 0, records: [], resolve, reject };
    });
    const timer = setTimeout(
      () => this.fail(new Error(`partition ${this.partition}: range [${from}, ${to}) not read within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      consumer.seek({ topic: this.topic, partition: this.partition, offset: String(from) });
      consumer.resume(target);
      return await records;
    } finally {
      clearTimeout(timer);
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
    if (p.next >= p.to) p.resolve({ records: p.records, end: p.to });
  }
}
