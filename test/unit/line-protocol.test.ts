// InfluxDB line protocol: the whole grammar of a line, the series-name
// mapping, precision, and every refusal with its line number and reason.
import { describe, expect, it } from 'vitest';
import { batchesOfPoints } from '../../lib/batch/from-points';
import { validateBatch } from '../../lib/batch/validate';
import { DEFAULT_BATCH_LIMITS } from '../../lib/batch/types';
import { parseLine } from '../../lib/lineprotocol/parse';
import { parsePrecision, seriesNameOf, type LineContext } from '../../lib/lineprotocol/points';
import { parseLines } from '../../lib/series/line-write';

const NOW = Date.UTC(2026, 0, 1, 12);
const ctx = (precision: LineContext['precision'] = 'ns'): LineContext => ({
  precision,
  now: NOW,
  minTs: DEFAULT_BATCH_LIMITS.minTs,
  maxTs: DEFAULT_BATCH_LIMITS.maxTs,
  maxSensorId: 999_999,
});
const T = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;

describe('line protocol grammar', () => {
  it('reads escapes in measurement, tag keys and values, and field keys', () => {
    const r = parseLine(`my\\ meas\\,urement,ta\\=g\\ k=v\\,a\\=l\\ ue fi\\=e\\ ld=1 ${ns(T)}`);
    expect(r).toEqual({
      ok: true,
      line: {
        measurement: 'my meas,urement',
        tags: [['ta=g k', 'v,a=l ue']],
        fields: [{ key: 'fi=e ld', value: { kind: 'float', value: 1 } }],
        timestamp: BigInt(T) * 1_000_000n,
      },
    });
  });

  it('reads floats, integers, unsigned, booleans and strings', () => {
    const r = parseLine('m a=-1.5e3,b=7i,c=18446744073709551615u,d=T,e=false,f="x, \\"y\\" = z",g=.5,h=3');
    expect(r?.ok && r.line.fields.map((f) => f.value)).toEqual([
      { kind: 'float', value: -1500 },
      { kind: 'integer', value: 7n },
      { kind: 'unsigned', value: 18446744073709551615n },
      { kind: 'boolean', value: true },
      { kind: 'boolean', value: false },
      { kind: 'string', value: 'x, "y" = z' },
      { kind: 'float', value: 0.5 },
      { kind: 'float', value: 3 },
    ]);
  });

  it('skips empty and comment lines and refuses malformed ones with a reason', () => {
    expect(parseLine('')).toBeNull();
    expect(parseLine('  # a comment')).toBeNull();
    const bad: [string, RegExp][] = [
      ['m', /no fields|space and the fields/],
      ['m,t= f=1', /empty value/],
      ['m,t f=1', /no "=value"/],
      ['m f=1 12abc', /not an integer/],
      ['m f=0x10', /not a float, integer/],
      ['m f=9223372036854775808i', /64-bit range/],
      ['m f="open', /no closing quote/],
      ['m f=1,f=2', /appears twice/],
      ['m,a=1,a=2 f=1', /appears twice/],
    ];
    for (const [line, reason] of bad) {
      const r = parseLine(line);
      expect(r?.ok, line).toBe(false);
      if (r && !r.ok) expect(r.reason, line).toMatch(reason);
    }
  });
});

describe('series names and points', () => {
  it('names a series by measurement, sorted tags and field (value left out)', () => {
    expect(seriesNameOf('plant1/line2/pump3', [], 'discharge_pressure')).toBe('plant1/line2/pump3/discharge_pressure');
    expect(
      seriesNameOf(
        'cpu',
        [
          ['z', '1'],
          ['host', 'a'],
        ],
        'usage_idle',
      ),
    ).toBe('cpu/host=a/z=1/usage_idle');
    expect(seriesNameOf('plant1/line2/pump3/discharge_pressure', [], 'value')).toBe('plant1/line2/pump3/discharge_pressure');
  });

  it('takes the nine lines of issue 14, refusing only the string field', () => {
    const text = [
      `my\\ measurement,site=a value=1.5 ${ns(T)}`,
      'nots,site=a value=2',
      `cpu,host=a usage_idle=99.5 ${ns(T + 1)}`,
      `m,site=plant\\ 1 value=3 ${ns(T + 2)}`,
      `m,site=b value=1,quality=192i ${ns(T + 3)}`,
      `vibration,sensor=8 value=4 ${ns(T + 4)}`,
      `ints,site=a n=5i,u=6u,ok=true ${ns(T + 5)}`,
      `strs,site=a s="text",x=7 ${ns(T + 6)}`,
      `neg,site=a value=-0.25 ${ns(T + 7)}`,
    ].join('\n');
    const r = parseLines(text, ctx());
    expect(r.lines).toBe(9);
    expect(r.rejected).toEqual([{ line: 8, field: 's', reason: 'string fields are not stored: a series holds numbers' }]);
    const got = r.points.map((p) => [p.line, p.name ?? `#${p.sensor}`, p.ts, p.value, p.valueType, p.quality]);
    expect(got).toEqual([
      [1, 'my measurement/site=a', T, 1.5, 'float', undefined],
      [2, 'nots/site=a', NOW, 2, 'float', undefined],
      [3, 'cpu/host=a/usage_idle', T + 1, 99.5, 'float', undefined],
      [4, 'm/site=plant 1', T + 2, 3, 'float', undefined],
      [5, 'm/site=b', T + 3, 1, 'float', 0],
      [6, '#8', T + 4, 4, 'float', undefined],
      [7, 'ints/site=a/n', T + 5, 5, 'integer', undefined],
      [7, 'ints/site=a/u', T + 5, 6, 'unsigned', undefined],
      [7, 'ints/site=a/ok', T + 5, 1, 'boolean', undefined],
      [8, 'strs/site=a/x', T + 6, 7, 'float', undefined],
      [9, 'neg/site=a', T + 7, -0.25, 'float', undefined],
    ]);
  });

  it('converts every precision exactly and refuses what milliseconds cannot hold', () => {
    expect(['n', 'ns', 'u', 'us', 'ms', 's'].map(parsePrecision)).toEqual(['ns', 'ns', 'us', 'us', 'ms', 's']);
    expect(parsePrecision('h')).toBeNull();
    const one = (line: string, p: LineContext['precision']) => parseLines(line, ctx(p));
    expect(one(`m v=1 ${T / 1000}`, 's').points[0]!.ts).toBe(T);
    expect(one(`m v=1 ${T}`, 'ms').points[0]!.ts).toBe(T);
    expect(one(`m v=1 ${T * 1000}`, 'us').points[0]!.ts).toBe(T);
    expect(one(`m v=1 ${ns(T)}`, 'ns').points[0]!.ts).toBe(T);
    const sub = one(`m v=1 ${T * 1000 + 1}`, 'us');
    expect(sub.points).toEqual([]);
    expect(sub.rejected[0]).toMatchObject({ line: 1, reason: expect.stringMatching(/sub-millisecond part/) });
    expect(one('m v=1 5', 's').rejected[0]!.reason).toMatch(/outside/);
    expect(one('m v=9007199254740993i', 'ns').rejected[0]).toMatchObject({ field: 'v', reason: expect.stringMatching(/2\^53/) });
    expect(one('m quality=1.5,v=1', 'ns').rejected[0]).toMatchObject({ field: 'quality' });
    expect(one('m quality=192i', 'ns').rejected[0]!.reason).toMatch(/only a quality field/);
  });
});

describe('batches of points', () => {
  it('cuts per sensor within the points, days and bytes ingest accepts', () => {
    const limits = { ...DEFAULT_BATCH_LIMITS, maxPoints: 1000, ingest: { maxDays: 2, maxBytes: 2000, futureSkewMs: 0 } };
    const points = [];
    for (let i = 0; i < 5000; i++) points.push({ sensor: 1 + (i % 2), ts: T + i * 3_600_000, value: i });
    const batches = batchesOfPoints(points, limits);
    expect(batches.reduce((n, b) => n + b.values.length, 0)).toBe(5000);
    for (const b of batches) expect(validateBatch(b, limits)).toBeNull();
    const back = batches.flatMap((b) => [...b.timestamps].map((ts, i) => `${b.sensor}:${ts}:${b.values[i]}`)).sort();
    expect(back).toEqual(points.map((p) => `${p.sensor}:${p.ts}:${p.value}`).sort());
  });
});
