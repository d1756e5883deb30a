import type { Kafka } from 'kafkajs';
import { kafkaBrokers, type Config } from '../lib/config/config';
import { BatchPublisher } from '../lib/kafka/batch-publisher';
import { CheckpointStore, checkpointTopicSpec } from '../lib/kafka/checkpoints';
import { createKafka } from '../lib/kafka/client';
import { DeadLetterPublisher } from '../lib/kafka/dead-letters';
import { OffsetWatcher } from '../lib/kafka/offsets';
import { PartitionReader } from '../lib/kafka/range-reader';
import { ensureTopics } from '../lib/kafka/topics';
import type { Logger } from '../lib/log/logger';
import type { Health } from '../lib/telemetry/health';
import { untilDone } from './until-done';

/** The service's Kafka clients: created at once, connecting when first used. */
export interface KafkaClients {
  kafka: Kafka;
  offsets: OffsetWatcher;
  publisher: BatchPublisher;
  deadLetters: DeadLetterPublisher;
  checkpoints: CheckpointStore;
  /** The reader of one partition, created on first use and kept. */
  reader(topic: string, partition: number): PartitionReader;
  /** Closes the readers, then the producers and the offset watcher. */
  close(): Promise<void>;
}

export function kafkaClients(config: Config, log: Logger): KafkaClients {
  const kafka = createKafka(kafkaBrokers(config), 'herodotus', log);
  const offsets = new OffsetWatcher(kafka);
  const publisher = new BatchPublisher(kafka, config.kafka.topic, () => offsets.published(config.kafka.topic));
  const deadLetters = new DeadLetterPublisher(kafka, config.kafka.dlqTopic);
  const checkpoints = new CheckpointStore(kafka, config.kafka.checkpointTopic, offsets, log);
  const readers = new Map<number, PartitionReader>();
  return {
    kafka,
    offsets,
    publisher,
    deadLetters,
    checkpoints,
    reader: (topic, partition) => {
      let r = readers.get(partition);
      if (!r) readers.set(partition, (r = new PartitionReader(kafka, topic, partition, offsets, log)));
      return r;
    },
    async close() {
      await Promise.all([...readers.values()].map((r) => r.close()));
      await Promise.all([publisher.close(), deadLetters.close(), checkpoints.close(), offsets.close()]);
    },
  };
}

/** Waits for Kafka, creates the topics (the records', the dead letters' and the checkpoints'), then reports Kafka ready. */
export async function ensureKafka(clients: KafkaClients, config: Config, log: Logger, signal: AbortSignal, health: Health): Promise<void> {
  await untilDone('kafka', log, signal, () =>
    ensureTopics(clients.kafka, [
      { topic: config.kafka.topic, partitions: config.kafka.partitions },
      { topic: config.kafka.dlqTopic, partitions: 1 },
      checkpointTopicSpec(config.kafka.checkpointTopic),
    ]),
  );
  health.set('kafka', 'ready');
  health.probe('kafka', async () => void (await clients.offsets.offsets(config.kafka.topic)));
}
