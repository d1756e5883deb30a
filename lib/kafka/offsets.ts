import type { Admin, Kafka } from 'kafkajs';
import type { PartitionOffsets } from './topics';

/** A watermark fetch shared by polling callers, and when it completed (null: under way). */
interface Poll {
  fetch: Promise<PartitionOffsets[]>;
  doneAt: number | null;
}

/** How long a completed poll answers other polls: half of the pollers' own interval. */
const POLL_REUSE_MS = 50;

/** Watermarks of a topic's partitions through one long-lived admin connection. */
export class OffsetWatcher {
  private admin: Admin | null = null;
  private readonly polls = new Map<string, Poll>();

  constructor(private readonly kafka: Kafka) {}

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    const admin = await this.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async partition(topic: string, partition: number): Promise<PartitionOffsets> {
    const found = (await this.offsets(topic)).find((o) => o.partition === partition);
    if (!found) throw new Error(`topic ${topic} has no partition ${partition}`);
    return found;
  }

  /**
   * A partition's watermarks from a fetch shared with every caller that asks
   * while it is under way or within POLL_REUSE_MS after it completed (about
   * one request per topic and poll interval however many partitions poll).
   * The fetch may have begun before the call: for polls that wait for
   * records, not for a caller that needs offsets from after its own write.
   */
  async polledPartition(topic: string, partition: number): Promise<PartitionOffsets> {
    let poll = this.polls.get(topic);
    if (!poll || (poll.doneAt !== null && performance.now() - poll.doneAt > POLL_REUSE_MS)) {
      const fresh: Poll = { fetch: this.offsets(topic), doneAt: null };
      fresh.fetch.then(
        () => (fresh.doneAt = performance.now()),
        () => this.polls.delete(topic),
      );
      this.polls.set(topic, fresh);
      poll = fresh;
    }
    const found = (await poll.fetch).find((o) => o.partition === partition);
    if (!found) throw new Error(`topic ${topic} has no partition ${partition}`);
    return found;
  }

  async close(): Promise<void> {
    const a = this.admin;
    this.admin = null;
    await a?.disconnect().catch(() => undefined);
  }

  private async connect(): Promise<Admin> {
    if (this.admin) return this.admin;
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    return admin;
  }
}
