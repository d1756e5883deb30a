import type { Kafka } from 'kafkajs';
import type { Ledger } from '../../generator/ledger';
import type { Logger } from '../../lib/log/logger';
import type { HerodotusApi } from './api-client';
import { summarizeDeadLetters } from './dead-letters';
import { checkStorage, type ExpectedSensor, type StorageCheck } from './ledger-check';

export interface VerificationReport extends StorageCheck {
  dlq_records: number;
  dlq_by_code: Record<string, number>;
  garbage_records: number;
}

export function expectedFromLedger(ledger: Ledger): Map<number, ExpectedSensor> {
  const json = ledger.toJSON();
  return new Map(Object.entries(json.sensors).map(([id, s]) => [Number(id), s]));
}

/** Stored data against the ledger, and the dead-letter topic against the garbage the generator sent. */
export async function verifyAgainstLedger(
  api: HerodotusApi,
  kafka: Kafka,
  dlqTopic: string,
  ledger: Ledger,
  log: Logger,
): Promise<VerificationReport> {
  const storage = checkStorage(expectedFromLedger(ledger), await api.audit());
  const dlq = await summarizeDeadLetters(kafka, dlqTopic, log);
  return { ...storage, dlq_records: dlq.records, dlq_by_code: dlq.byCode, garbage_records: ledger.totals.garbage };
}
