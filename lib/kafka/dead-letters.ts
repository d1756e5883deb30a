import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { DeadLetter } from '../batch/dead-letter';
import type { BatchError } from '../batch/types';

/**
 * A message from outside Kafka (an MQTT message or one element of it)
 * refused before it became a batch: it goes to the dead-letter topic as it
 * came, the key naming its source so that a redelivered message is
 * recognisable as the same one.
 */
export interface ForeignDeadLetter {
  key: string;
  value: Buffer;
  error: BatchError;
  /** Where it came from (e.g. source-topic: mqtt:plant1/line2); a Buffer for a source record's key as it came. */
  headers: Record<string, string | Buffer>;
}

/**
 * Publishes records that could not be ingested, with the reason in headers.
 * The key names the source record, so a retried chunk that publishes a dead
 * letter twice is recognisable as one record.
 */
export class DeadLetterPublisher {
  private producer: Producer | null = null;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
  ) {}

  async publish(sourceTopic: string, partition: number, letters: DeadLetter[]): Promise<void> {
    await this.publishForeign(
      letters.map((l) => ({
        key: deadLetterKey(sourceTopic, partition, l.offset) + (l.keySuffix ?? ''),
        value: l.value,
        error: l.error,
        headers: {
          'source-topic': sourceTopic,
          'source-partition': String(partition),
          'source-offset': String(l.offset),
          ...(l.key ? { 'source-key': l.key } : {}),
          ...(l.clickhouseCode ? { 'clickhouse-code': l.clickhouseCode } : {}),
        },
      })),
    );
  }

  async publishForeign(letters: ForeignDeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const producer = await this.connect();
    await producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((l) => ({
        key: l.key,
        value: l.value,
        headers: { 'error-code': l.error.code, 'error-message': l.error.message, 'error-field': l.error.field, ...l.headers },
      })),
    });
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    await p?.disconnect().catch(() => undefined);
  }

  private async connect(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    this.producer = producer;
    return producer;
  }
}

export function deadLetterKey(topic: string, partition: number, offset: number): string {
  return `${topic}/${partition}/${offset}`;
}
