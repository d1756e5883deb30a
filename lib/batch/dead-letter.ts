import type { BatchError } from './types';

/**
 * A Kafka record that can never be stored, with the reason. It goes to the
 * dead-letter topic as it came (key and value untouched) so that nothing is
 * dropped without a reason someone can see, and its neighbours go on. A
 * record whose points conflict with stored values goes as a description of
 * those points instead (lib/ingest/conflicts.ts): its other points are stored.
 */
export interface DeadLetter {
  offset: number;
  key: Buffer | null;
  value: Buffer;
  error: BatchError;
  /** Set when ClickHouse refused the record's points (error code storage_rejected). */
  clickhouseCode?: string;
  /**
   * Appended to the dead-letter key: set where the letter is not the record
   * itself but what became of some of its points (conflicting values), so
   * that it never shares a key with the record's own dead letter.
   */
  keySuffix?: string;
}
