import type { Admin, Kafka } from 'kafkajs';
import type { PartitionOffsets } from './topics';

interface Reading {
  at: number;
  offsets: Promise<PartitionOffsets[]>;
}

/**
 * Watermarks of a topic's partitions through one long-lived admin connection.
 * Callers that accept a reading up to `maxAgeMs` old share one: the ingest
 * activities of every partition poll the same topic several times a second,
 * and one fetch answers them all (each fetch costs a metadata and two
 * ListOffsets round trips).
 */
export class OffsetWatcher {
  private admin: Admin | null = null;
  private readonly latest = new Map<string, Reading>();
  /** Per topic, the naps that this process's next publish to it ends. */
  private readonly napping = new Map<string, Set<() => void>>();

  constructor(private readonly kafka: Kafka) {}

  async offsets(topic: string, maxAgeMs = 0): Promise<PartitionOffsets[]> {
    const last = this.latest.get(topic);
    if (last && Date.now() - last.at <= maxAgeMs) return last.offsets;
    const reading: Reading = { at: Date.now(), offsets: this.fetch(topic) };
    this.latest.set(topic, reading);
    // A failed fetch is never shared afterwards.
    reading.offsets.catch(() => this.latest.get(topic) === reading && this.latest.delete(topic));
    return reading.offsets;
  }

  async partition(topic: string, partition: number, maxAgeMs = 0): Promise<PartitionOffsets> {
    const found = (await this.offsets(topic, maxAgeMs)).find((o) => o.partition === partition);
    if (!found) throw new Error(`topic ${topic} has no partition ${partition}`);
    return found;
  }

  /**
   * Told by this process's publisher that records were appended to `topic`:
   * the reading taken before is not shared any more, and every nap on the
   * topic ends at once, so that records written through this process are
   * seen without waiting out an idle poller's back-off.
   */
  published(topic: string): void {
    this.latest.delete(topic);
    const naps = this.napping.get(topic);
    this.napping.delete(topic);
    for (const wake of naps ?? []) wake();
  }

  /**
   * Resolves after `ms`, or earlier: with true when this process publishes
   * to `topic` meanwhile (published), with false when `signal` aborts.
   */
  nap(topic: string, ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      let naps = this.napping.get(topic);
      if (!naps) this.napping.set(topic, (naps = new Set()));
      const end = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        this.napping.get(topic)?.delete(wake);
        resolve(woken);
      };
      const wake = () => end(true);
      const aborted = () => end(false);
      const timer = setTimeout(() => end(false), ms);
      naps.add(wake);
      if (signal?.aborted) aborted();
      else signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  async close(): Promise<void> {
    const a = this.admin;
    this.admin = null;
    this.latest.clear();
    await a?.disconnect().catch(() => undefined);
  }

  private async fetch(topic: string): Promise<PartitionOffsets[]> {
    const admin = await this.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private async connect(): Promise<Admin> {
    if (this.admin) return this.admin;
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    return admin;
  }
}
