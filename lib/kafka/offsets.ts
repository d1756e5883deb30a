import type { Admin, Kafka } from 'kafkajs';
import type { PartitionOffsets } from './topics';

/** Watermarks of a topic's partitions through one long-lived admin connection. */
export class OffsetWatcher {
  private admin: Admin | null = null;
  private readonly polls = new Map<string, Promise<PartitionOffsets[]>>();

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
   * while it is under way (one request per topic however many partitions
   * poll at once). The fetch may have begun just before the call: for polls
   * that wait for records, not for a caller that needs offsets from after
   * its own write.
   */
  async polledPartition(topic: string, partition: number): Promise<PartitionOffsets> {
    let fetch = this.polls.get(topic);
    if (!fetch) {
      fetch = this.offsets(topic).finally(() => this.polls.delete(topic));
      this.polls.set(topic, fetch);
    }
    const found = (await fetch).find((o) => o.partition === partition);
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
