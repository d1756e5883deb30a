import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../log/logger';
import type { OffsetWatcher } from './offsets';
import { PartitionReader } from './range-reader';
import type { TopicSpec } from './topics';

/**
 * Durable ingest checkpoints outside Temporal. After each stored chunk the
 * ingest activity publishes the partition's next offset to a compacted topic,
 * keyed `<topic>/<partition>` (the way Kafka Connect keeps source offsets); a
 * new ingest workflow (its predecessor terminated, or Temporal's history lost)
 * starts there instead of at offset 0.
 *
 * A checkpoint is published only after its chunk is stored, so it never runs
 * ahead of stored data. It may lag (a crash between the insert and the
 * publish): the new workflow then re-reads records that exactly-once storage
 * drops as already stored.
 *
 * Not consumer-group offsets: kafkajs commits those only as a group member
 * (`admin.setOffsets` joins the group and waits out a fetch, seconds per call,
 * and fails while another call holds the group), too slow once a second per
 * partition.
 */
export class CheckpointStore {
  private producer: Promise<Producer> | null = null;

  constructor(
    private readonly kafka: Kafka,
    /** The compacted checkpoint topic (one partition). */
    readonly topic: string,
    private readonly offsets: OffsetWatcher,
    private readonly log: Logger,
  ) {}

  /** Records that every record of `sourceTopic`'s `partition` below `next` is stored (or dead-lettered, or expired). */
  async commit(sourceTopic: string, partition: number, next: number): Promise<void> {
    try {
      const producer = await this.connect();
      await producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key: checkpointKey(sourceTopic, partition), value: JSON.stringify({ next }) }],
      });
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** The latest checkpoint of each partition of `sourceTopic` that has one. */
  async load(sourceTopic: string): Promise<Map<number, number>> {
    const { low, high } = await this.offsets.partition(this.topic, 0);
    const reader = new PartitionReader(this.kafka, this.topic, 0, this.offsets, this.log);
    try {
      const { records } = await reader.read(low, high, 60_000);
      return latestCheckpoints(
        sourceTopic,
        records.map((r) => ({ key: r.key?.toString() ?? '', value: r.value.toString() })),
      );
    } finally {
      await reader.close();
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    const producer = await p?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
  }

  private connect(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      return producer;
    })();
    return this.producer;
  }
}

/** The checkpoint topic: compacted, so only each partition's latest checkpoint is kept, for ever; segments roll hourly so compaction can run. */
export function checkpointTopicSpec(topic: string): TopicSpec {
  return { topic, partitions: 1, config: { 'cleanup.policy': 'compact', 'segment.ms': String(3_600_000) } };
}

export function checkpointKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/**
 * Per partition of `sourceTopic`, the largest checkpoint among the records
 * (before compaction several are held; a late retry of an older chunk may
 * have been published after a newer one). Records that do not parse are ignored.
 */
export function latestCheckpoints(sourceTopic: string, records: { key: string; value: string }[]): Map<number, number> {
  const prefix = `${sourceTopic}/`;
  const out = new Map<number, number>();
  for (const r of records) {
    if (!r.key.startsWith(prefix)) continue;
    const partition = Number(r.key.slice(prefix.length));
    const next = parseNext(r.value);
    if (!Number.isSafeInteger(partition) || partition < 0 || next === null) continue;
    out.set(partition, Math.max(out.get(partition) ?? 0, next));
  }
  return out;
}

function parseNext(value: string): number | null {
  try {
    const next = (JSON.parse(value) as { next?: unknown }).next;
    return typeof next === 'number' && Number.isSafeInteger(next) && next >= 0 ? next : null;
  } catch {
    return null;
  }
}
