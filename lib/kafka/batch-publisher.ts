import { Partitioners, type Kafka, type Producer } from 'kafkajs';

export interface KeyedRecord {
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

/**
 * An idempotent producer for the batches topic: a resend after a lost
 * acknowledgement does not write a record twice. Keys are sensor ids, so a
 * sensor's batches stay in one partition, in order.
 */
export class BatchPublisher {
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    /** Called once records are acknowledged: the process's idle pollers of the topic look at once (OffsetWatcher.published). */
    private readonly onPublished?: () => void,
  ) {}

  /** Resolves once every record is acknowledged by all in-sync replicas. */
  async publish(records: KeyedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const producer = await this.connect();
    try {
      await producer.send({ topic: this.topic, acks: -1, messages: records });
    } catch (err) {
      await this.close();
      throw err;
    }
    this.onPublished?.();
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    this.connecting = null;
    await p?.disconnect().catch(() => undefined);
  }

  private connect(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await producer.connect();
      } catch (err) {
        this.connecting = null;
        throw err;
      }
      this.producer = producer;
      return producer;
    })();
    return this.connecting;
  }
}
