import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Topic settings beyond the defaults (e.g. cleanup.policy). */
  config?: Record<string, string>;
}

/** Creates the topics that are missing; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: 1,
          configEntries: Object.entries({ 'max.message.bytes': String(16 * 1024 * 1024), ...s.config }).map(([name, value]) => ({
            name,
            value,
          })),
        })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

export interface PartitionOffsets {
  partition: number;
  /** First offset still in the log. */
  low: number;
  /** Offset the next record will get. */
  high: number;
}

export async function topicOffsets(kafka: Kafka, topic: string): Promise<PartitionOffsets[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
  } finally {
    await admin.disconnect();
  }
}
