/**
 * Error codes and the one way both codecs (binary frames and JSON) build a
 * BatchError: errors are values, never thrown at the edge.
 */
import type { BatchError } from './types';

/** Every error code the binary and JSON codecs can return. Stable: clients match on them. */
export const BATCH_ERROR_CODES = [
  // binary framing
  'empty_input',
  'bad_magic',
  'unsupported_version',
  'unknown_kind',
  'truncated_frame',
  'count_mismatch',
  'varint_too_long',
  'varint_overflow',
  'varint_not_minimal',
  'checksum_mismatch',
  'trailing_bytes',
  'invalid_flags',
  // shared validation
  'invalid_batch',
  'invalid_sensor',
  'empty_batch',
  'too_many_points',
  'batch_too_large',
  'invalid_timestamp',
  'timestamp_out_of_range',
  'too_many_days',
  'future_timestamp',
  'invalid_period',
  'non_increasing_timestamps',
  'non_finite_value',
  'sub_millisecond_timestamp',
  'invalid_quality',
  // JSON only
  'invalid_json_batch',
] as const;
export type BatchErrorCode = (typeof BATCH_ERROR_CODES)[number];

/** The failing branch of Decoded<T> (and of any other ok/error result). */
export type Failed = { ok: false; error: BatchError };

export function batchError(code: BatchErrorCode, field: string, message: string): BatchError {
  return { code, field, message };
}

export function fail(code: BatchErrorCode, field: string, message: string): Failed {
  return { ok: false, error: batchError(code, field, message) };
}

/** Prefix an error's field with a container path, e.g. "frames[3]" + "count". */
export function prefixField(error: BatchError, prefix: string): BatchError {
  if (prefix === '') return error;
  const field = error.field === '' ? prefix : error.field.startsWith('[') ? prefix + error.field : `${prefix}.${error.field}`;
  return { ...error, field };
}
