// The catalog's pure rules: ids derived from names (stable, above every
// numbered sensor), which of two colliding names owns an id, the latest
// version of a name, and search.
import { describe, expect, it } from 'vitest';
import type { SeriesRow } from '../../lib/clickhouse/series';
import { isNamedSeriesId, NAMED_SERIES_BASE, seriesIdOf, seriesNameProblem } from '../../lib/model/series-name';
import { latestByName, matches, nextVersion, owners, toView } from '../../lib/series/meta';

const row = (name: string, id: number, version: number, created: number, unit = ''): SeriesRow => ({
  name,
  id,
  version,
  created,
  unit,
  description: '',
  asset: '',
  tags: [],
  valueType: 'float',
  interpolation: 'linear',
  source: 'put',
});

describe('series ids', () => {
  it('derives the same id from a name everywhere, in the named range', () => {
    const id = seriesIdOf('plant1/line2/pump3/discharge_pressure');
    // SHA-256 of the name: fixed for good (ids are stored).
    expect(id).toBe(seriesIdOf('plant1/line2/pump3/discharge_pressure'));
    expect(id).toBe(2_248_227_585); // 2^31 + (first 4 bytes of SHA-256 >>> 1), computed with Python's hashlib
    const ids = new Set(Array.from({ length: 10_000 }, (_, i) => seriesIdOf(`plant/s${i}`)));
    for (const x of ids) expect(isNamedSeriesId(x)).toBe(true);
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(NAMED_SERIES_BASE);
    expect(ids.size).toBeGreaterThan(9_990);
  });

  it('refuses names that are no paths', () => {
    expect(seriesNameProblem('plant1/line2/pump3')).toBeNull();
    expect(seriesNameProblem('my measurement/site=plant 1')).toBeNull();
    for (const bad of ['', '/a', 'a/', 'a//b', '17', 'a\nb', 'x'.repeat(513)]) expect(seriesNameProblem(bad), bad).not.toBeNull();
  });
});

describe('ownership and versions', () => {
  it('gives a contested id to the first claim and never merges', () => {
    const rows = [row('b', 7, 5, 100), row('a', 7, 9, 200), row('a', 7, 3, 200), row('c', 8, 1, 50)];
    expect(owners(rows)).toEqual(
      new Map([
        [7, 'b'],
        [8, 'c'],
      ]),
    );
    // The same claim time: the smaller name, whatever the row order.
    expect(owners([row('z', 1, 1, 10), row('y', 1, 1, 10)]).get(1)).toBe('y');
    expect(owners([row('y', 1, 1, 10), row('z', 1, 1, 10)]).get(1)).toBe('y');
  });

  it('keeps every version and shows the latest with the first claim time', () => {
    const latest = latestByName([row('a', 1, 10, 10, 'bar'), row('a', 1, 30, 30, 'kPa'), row('a', 1, 20, 20, 'psi')]).get('a')!;
    expect(latest).toMatchObject({ version: 30, unit: 'kPa', created: 10 });
    expect(nextVersion(30, 5)).toBe(31);
    expect(nextVersion(30, 100)).toBe(100);
  });

  it('searches by prefix, asset, tags and text', () => {
    const v = toView({ ...row('plant1/line2/pump3/p', 1, 1, 1, 'bar'), asset: 'plant1/line2/pump3', tags: [['site', 'a']] });
    expect(matches(v, { prefix: 'plant1/line2' })).toBe(true);
    expect(matches(v, { prefix: 'plant2' })).toBe(false);
    expect(matches(v, { asset: 'plant1/line2' })).toBe(true);
    expect(matches(v, { tags: [['site', 'a']] })).toBe(true);
    expect(matches(v, { tags: [['site', 'b']] })).toBe(false);
    expect(matches(v, { q: 'BAR' })).toBe(true);
    expect(matches(v, { q: 'volts' })).toBe(false);
  });
});
