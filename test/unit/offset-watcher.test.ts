import type { Kafka } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { OffsetWatcher } from '../../lib/kafka/offsets';

/** A Kafka whose admin answers fetchTopicOffsets with the next of `answers` (an Error is thrown), counting the calls. */
function fakeKafka(answers: (number | Error)[]) {
  const calls = { fetches: 0 };
  const kafka = {
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicOffsets: async () => {
        const a = answers[calls.fetches++]!;
        if (a instanceof Error) throw a;
        return [{ partition: 0, low: '0', high: String(a), offset: String(a) }];
      },
    }),
  } as unknown as Kafka;
  return { kafka, calls };
}

describe('OffsetWatcher', () => {
  test('callers that accept an older reading share one fetch; a fresh reading is fetched again', async () => {
    const { kafka, calls } = fakeKafka([10, 20]);
    const w = new OffsetWatcher(kafka);
    const shared = await Promise.all([w.partition('t', 0, 1000), w.partition('t', 0, 1000), w.offsets('t', 1000)]);
    expect(shared.map((r) => ('high' in r ? r.high : r[0]!.high))).toEqual([10, 10, 10]);
    expect(calls.fetches).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    expect((await w.partition('t', 0)).high).toBe(20);
    expect(calls.fetches).toBe(2);
  });

  test('a failed fetch is not shared afterwards', async () => {
    const { kafka, calls } = fakeKafka([new Error('broker down'), 30]);
    const w = new OffsetWatcher(kafka);
    await expect(w.partition('t', 0, 1000)).rejects.toThrow('broker down');
    expect((await w.partition('t', 0, 1000)).high).toBe(30);
    expect(calls.fetches).toBe(2);
  });

  test('a nap ends after its time, at once when this process publishes to its topic, or when aborted', async () => {
    const { kafka, calls } = fakeKafka([10, 20]);
    const w = new OffsetWatcher(kafka);
    expect(await w.nap('t', 5)).toBe(false);
    await w.partition('t', 0, 60_000);
    const t0 = performance.now();
    const naps = [w.nap('t', 60_000), w.nap('t', 60_000), w.nap('other', 20)];
    w.published('t');
    expect(await Promise.all(naps)).toEqual([true, true, false]);
    expect(performance.now() - t0).toBeLessThan(1000);
    // The reading taken before the publish is not shared afterwards.
    expect((await w.partition('t', 0, 60_000)).high).toBe(20);
    expect(calls.fetches).toBe(2);
    const abort = new AbortController();
    const aborted = w.nap('t', 60_000, abort.signal);
    abort.abort();
    expect(await aborted).toBe(false);
    expect(await w.nap('t', 60_000, abort.signal)).toBe(false);
  });
});
