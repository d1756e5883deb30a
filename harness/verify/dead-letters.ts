import type { Kafka } from 'kafkajs';
import type { Logger } from '../../lib/log/logger';
import { OffsetWatcher } from '../../lib/kafka/offsets';
import { PartitionReader } from '../../lib/kafka/range-reader';
import { topicOffsets } from '../../lib/kafka/topics';

export interface DeadLetterSummary {
  /** Distinct source records in the dead-letter topic (a retried chunk may publish one twice). */
  records: number;
  byCode: Record<string, number>;
}

/** Reads the whole dead-letter topic and counts distinct source records by reason. */
export async function summarizeDeadLetters(kafka: Kafka, topic: string, log: Logger): Promise<DeadLetterSummary> {
  const seen = new Map<string, string>();
  const offsets = new OffsetWatcher(kafka);
  try {
    for (const { partition, low, high } of await topicOffsets(kafka, topic)) {
      const reader = new PartitionReader(kafka, topic, partition, offsets, log);
      try {
        for (const r of (await reader.read(low, high, 60_000)).records) {
          seen.set(r.key?.toString() ?? `offset:${r.offset}`, r.headers['error-code'] ?? 'unknown');
        }
      } finally {
        await reader.close();
      }
    }
  } finally {
    await offsets.close();
  }
  const byCode: Record<string, number> = {};
  for (const code of seen.values()) byCode[code] = (byCode[code] ?? 0) + 1;
  return { records: seen.size, byCode };
}
