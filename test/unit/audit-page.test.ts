import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAuditPage } from '../../lib/clickhouse/raw';

describe('audit pages', () => {
  const extents = [
    { sensor: 7, points: 400 },
    { sensor: 1, points: 600 },
    { sensor: 3, points: 300 },
    { sensor: 9, points: 1200 },
  ];

  it('whole sensors in order from the cursor, at most maxRows rows a page, next where the following page starts', () => {
    expect(planAuditPage(extents, 0, 1000)).toEqual({ ok: true, from: 1, to: 3, next: 7 });
    expect(planAuditPage(extents, 7, 1000)).toEqual({ ok: true, from: 7, to: 7, next: 9 });
    expect(planAuditPage(extents, 2, 10_000)).toEqual({ ok: true, from: 3, to: 9, next: null });
    expect(planAuditPage(extents, 10, 1000)).toBeNull();
  });

  it('a sensor holding more than a page alone is named, not cut', () => {
    expect(planAuditPage(extents, 9, 1000)).toEqual({ ok: false, sensor: 9, points: 1200 });
  });

  it('following next visits every sensor once, each page within the bound', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 5000 }),
        (sensors, maxRows) => {
          const list = sensors.map((sensor, i) => ({ sensor, points: 1 + ((i * 7919) % maxRows) }));
          const seen: number[] = [];
          for (let cursor: number | null = 0; cursor !== null; ) {
            const page = planAuditPage(list, cursor, maxRows);
            if (page === null) break;
            expect(page.ok).toBe(true);
            if (!page.ok) return;
            const inPage = list.filter((e) => e.sensor >= page.from && e.sensor <= page.to).sort((a, b) => a.sensor - b.sensor);
            expect(inPage.reduce((n, e) => n + e.points, 0)).toBeLessThanOrEqual(maxRows);
            seen.push(...inPage.map((e) => e.sensor));
            cursor = page.next;
          }
          expect(seen).toEqual([...sensors].sort((a, b) => a - b));
        },
      ),
      { numRuns: 300 },
    );
  });
});
