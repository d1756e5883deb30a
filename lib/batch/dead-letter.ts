import type { BatchError } from './types';

/**
 * A Kafka record that can never be stored, with the reason. It goes to the
 * dead-letter topic as it came (key and value untouched) so that nothing is
 * dropped without a reason someone can see, and its neighbours go on.
 */
export interface DeadLetter {
  offset: number;
  key: Buffer | null;
  value: Buffer;
  error: BatchError;
  /** Set when ClickHouse refused the record's points (error code storage_rejected). */
  clickhouseCode?: string;
}
