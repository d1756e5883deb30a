import type { DeadLetter } from '../batch/dead-letter';

/**
 * A newcomer for a (sensor, ts) that already holds another value: stored
 * before, or offered earlier in the same write (a lower offset, an earlier
 * line). The first value stays; the newcomer is reported, never dropped
 * silently (dead-lettered as `conflicting_value`, counted).
 */
export interface Conflict {
  sensor: number;
  ts: number;
  /** The value that stays. */
  stored: number;
  offered: number;
  /** Quality codes of the two (lib/model/quality.ts): a point differing only in quality conflicts too. */
  storedQuality: number;
  offeredQuality: number;
}

/** A conflict with the Kafka record that offered the newcomer. */
export interface OffsetConflict extends Conflict {
  offset: number;
}

/**
 * Bit identity of two finite doubles (values are Float64 end to end): for
 * finite values Object.is is exactly that (it tells -0 from 0, unlike ===).
 */
export function sameValue(a: number, b: number): boolean {
  return Object.is(a, b);
}

/** A stored or offered point's content: an identical newcomer (same value bits, same quality) is a re-send, deduplicated silently. */
export interface PointContent {
  value: number;
  quality: number;
}

export function samePoint(a: PointContent, b: PointContent): boolean {
  return sameValue(a.value, b.value) && a.quality === b.quality;
}

export const CONFLICT_CODE = 'conflicting_value';

/**
 * The Kafka header marking a record's points as corrections (`replace`):
 * set by POST /v1/ingest?on_conflict=replace, read by decodeChunk.
 */
export const ON_CONFLICT_HEADER = 'on-conflict';

/** Suffix of the dead-letter key of a record's conflicts: the record's own dead letter (poison) keeps the bare key. */
export const CONFLICT_KEY_SUFFIX = '/conflicting_value';

/**
 * One dead letter per record that offered conflicting points, naming every
 * conflicting (ts, stored, offered) of it as JSON. Built only from the
 * record's offset and the conflicts, so a retried chunk that finds them again
 * publishes the same key and value: a consumer keyed by it sees one record.
 */
export function conflictLetters(conflicts: readonly OffsetConflict[], keyOf: (offset: number) => Buffer | null): DeadLetter[] {
  const byOffset = new Map<number, OffsetConflict[]>();
  for (const c of conflicts) {
    let list = byOffset.get(c.offset);
    if (!list) byOffset.set(c.offset, (list = []));
    list.push(c);
  }
  return [...byOffset.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([offset, list]) => {
      const sorted = [...list].sort((a, b) => a.sensor - b.sensor || a.ts - b.ts);
      const first = sorted[0]!;
      const body = { sensor: first.sensor, conflicts: sorted.map(letterEntry) };
      return {
        offset,
        key: keyOf(offset),
        value: Buffer.from(JSON.stringify(body)),
        keySuffix: CONFLICT_KEY_SUFFIX,
        error: {
          code: CONFLICT_CODE,
          message:
            `${sorted.length} point(s) of sensor ${first.sensor} already hold another value; the first value stays ` +
            `(first: ts ${first.ts}, stored ${first.stored}, offered ${first.offered})`,
          field: 'values',
        },
      };
    });
}

/** A conflict in a letter; quality codes only where a point is not good, so all-good letters read as before quality. */
function letterEntry(c: Conflict): object {
  const quality =
    c.storedQuality !== 0 || c.offeredQuality !== 0 ? { stored_quality: c.storedQuality, offered_quality: c.offeredQuality } : {};
  return { ts: c.ts, stored: c.stored, offered: c.offered, ...quality };
}
