import { describe, expect, it } from 'vitest';
import { decodeMqttMessage } from '../../lib/mqtt/message';
import { topicMatches } from '../../lib/mqtt/topic';

const ctx = { minTs: Date.UTC(2000, 0, 1), maxTs: Date.UTC(2100, 0, 1) };
const decode = (v: unknown) => decodeMqttMessage(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), ctx);
const T = Date.UTC(2026, 0, 1, 12);

describe('MQTT messages', () => {
  it('reads one point with epoch ms or ISO 8601, quality kept', () => {
    expect(decode({ series: 'a/b', ts: T, value: 1.5, quality: 192 })).toEqual({
      points: [{ line: 1, name: 'a/b', sensor: null, tags: {}, valueType: 'float', ts: T, value: 1.5, quality: 0 }],
      rejected: [],
    });
    // OPC DA codes by their quality bits (64 uncertain, 0 and 24 bad, 216 good with limit bits), or quality words.
    const qualities = [64, 0, 24, 216, 'uncertain', 'bad', 'good'].map(
      (quality) => decode({ series: 'a', ts: T, value: 1, quality }).points[0]!.quality,
    );
    expect(qualities).toEqual([1, 2, 2, 0, 1, 2, 0]);
    expect(decode({ series: 'a', ts: T, value: 1, quality: 'fine' }).rejected[0]!.reason).toMatch(/quality must be/);
    expect(decode({ series: 'a/b', ts: '2026-01-01T13:00:00.250+01:00', value: 2 }).points[0]).toMatchObject({ ts: T + 250, value: 2 });
  });

  it('reads an array, refusing only the bad elements, each by position', () => {
    const r = decode([
      { series: 'a', ts: T, value: 1 },
      { series: 'a', ts: 'yesterday', value: 2 },
      { series: 'a', ts: T + 1, value: '3' },
      { series: 'a', ts: T + 2, value: 4, quality: 70_000 },
      { series: 'a', ts: T + 3, value: 5, unit: 'bar' },
      7,
      { series: 'a', ts: T + 0.0005, value: 6 },
      { series: 'a', ts: Date.UTC(2200, 0, 1), value: 8 },
    ]);
    expect(r.points.map((p) => [p.line, p.ts, p.value])).toEqual([[1, T, 1]]);
    expect(r.rejected.map((x) => x.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(r.rejected[0]!.reason).toMatch(/ISO 8601/);
    expect(r.rejected[1]!.reason).toBe('value must be a number');
    expect(r.rejected[3]!.reason).toMatch(/unknown field "unit"/);
    expect(r.rejected[5]!.reason).toMatch(/finer than a microsecond/);
    expect(r.rejected[6]!.reason).toMatch(/outside/);
  });

  it('refuses a message that is no JSON or an empty array whole', () => {
    expect(decode('{"series": ').rejected).toEqual([{ line: 0, reason: expect.stringMatching(/^not JSON/) }]);
    expect(decode([]).rejected).toEqual([{ line: 0, reason: 'an empty array holds no point' }]);
  });
});

describe('MQTT topic filters (which messages are corrections)', () => {
  it('matches + as one level and # as the rest, as brokers do', () => {
    const cases: [string, string, boolean][] = [
      ['herodotus/corrections/#', 'herodotus/corrections/plant1/pump3', true],
      ['herodotus/corrections/#', 'herodotus/corrections', true],
      ['herodotus/corrections/#', 'herodotus/plant1', false],
      ['herodotus/+/fix', 'herodotus/plant1/fix', true],
      ['herodotus/+/fix', 'herodotus/plant1/line2/fix', false],
      ['herodotus/+', 'herodotus/', true],
      ['herodotus/fix', 'herodotus/fix', true],
      ['herodotus/fix', 'herodotus/fix/more', false],
      ['herodotus/fix/more', 'herodotus/fix', false],
      ['#', '$SYS/broker/uptime', false],
      ['+/broker/uptime', '$SYS/broker/uptime', false],
      ['$SYS/#', '$SYS/broker/uptime', true],
    ];
    expect(cases.map(([f, t]) => [f, t, topicMatches(f, t)])).toEqual(cases);
  });
});
