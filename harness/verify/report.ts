import type { Kafka } from 'kafkajs';
import type { Manifest } from '../../generator/manifest';
import type { Logger } from '../../lib/log/logger';
import type { HerodotusApi } from './api-client';
import { summarizeDeadLetters } from './dead-letters';
import { checkStorage, type ExpectedSensor, type StorageCheck } from './manifest-check';

export interface VerificationReport extends StorageCheck {
  dlq_records: number;
  dlq_by_code: Record<string, number>;
  garbage_records: number;
}

export function expectedFromManifest(manifest: Manifest): Map<number, ExpectedSensor> {
  const json = manifest.toJSON();
  return new Map(Object.entries(json.sensors).map(([id, s]) => [Number(id), s]));
}

/** Stored data against the manifest, and the dead-letter topic against the garbage the generator sent. */
export async function verifyAgainstManifest(
  api: HerodotusApi,
  kafka: Kafka,
  dlqTopic: string,
  manifest: Manifest,
  log: Logger,
): Promise<VerificationReport> {
  const storage = checkStorage(expectedFromManifest(manifest), await api.audit());
  const dlq = await summarizeDeadLetters(kafka, dlqTopic, log);
  return { ...storage, dlq_records: dlq.records, dlq_by_code: dlq.byCode, garbage_records: manifest.totals.garbage };
}
