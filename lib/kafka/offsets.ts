import type { Admin, Kafka } from 'kafkajs';
import type { PartitionOffsets } from './topics';

/** Watermarks of a topic's partitions through one long-lived admin connection. */
export class OffsetWatcher {
  private admin: Admin | null = null;

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
