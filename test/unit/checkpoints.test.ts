import { describe, expect, test } from 'vitest';
import { checkpointKey, latestCheckpoints } from '../../lib/kafka/checkpoints';
import { startOffset } from '../../workers/ingest-control';

const rec = (topic: string, partition: number, next: unknown) => ({
  key: checkpointKey(topic, partition),
  value: JSON.stringify({ next }),
});

describe('durable ingest checkpoints', () => {
  test('per partition of the topic, the largest checkpoint held (an older chunk may be published after a newer one)', () => {
    const records = [
      rec('t', 0, 100),
      rec('t', 1, 40),
      rec('t', 0, 250),
      rec('t', 0, 200),
      rec('other', 0, 9999),
      rec('t.x', 2, 7),
      { key: 't/1', value: 'not json' },
      rec('t', 1, -3),
      rec('t', 3, 1.5),
      { key: 't/abc', value: JSON.stringify({ next: 5 }) },
    ];
    expect([...latestCheckpoints('t', records)].sort((a, b) => a[0] - b[0])).toEqual([
      [0, 250],
      [1, 40],
    ]);
  });

  test('a new workflow starts at the checkpoint; without one, or with one past the high watermark (topic made anew), at 0', () => {
    const offsets = { partition: 0, low: 50, high: 300 };
    expect(startOffset(250, offsets)).toBe(250);
    expect(startOffset(300, offsets)).toBe(300);
    // Below the low watermark: ingest counts [checkpoint, low) as expired.
    expect(startOffset(10, offsets)).toBe(10);
    expect(startOffset(undefined, offsets)).toBe(0);
    expect(startOffset(301, offsets)).toBe(0);
  });
});
