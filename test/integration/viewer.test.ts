// The web lens viewer end to end in real headless Chromium (Debian's
// chromium, driven by playwright-core) against the real stack: search and
// pick sensors, a preset, drag-zoom, shift-drag pan, setScale through the
// page, a bad free range, live mode following freshly ingested data, and
// bad and uncertain points marked, counted and, on request, averaged in.
// After each step the chart's data must equal what GET /v1/lens returns for
// the same query (and, once, the raw aggregates). Screenshots go to
// .herodotus/screenshots/ for a person to look at.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../lib/config/config';
import { createLogger } from '../../lib/log/logger';
import { stopAllChildren, waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { tempStateDir } from '../support/ingest-run';
import { expectExact, fetchRaw, type LensBody, type Points } from '../support/lens-reference';

const CHROMIUM = '/usr/bin/chromium';
const FROM = Date.UTC(2025, 6, 1, 9, 0, 0);
const TO = FROM + 3 * 3_600_000;
const SENSORS = [1, 2, 3, 12];
const SCREENSHOTS = path.join(PROJECT_ROOT, '.herodotus', 'screenshots');

interface LensState {
  seq: number;
  query: { sensors: number[]; from: number; to: number; points: number; quality: 'good' | 'any' };
  url: string;
  response: LensBody;
}

/** What the page exposes (evaluated in the browser, where these live on window). */
interface PageGlobals {
  __lens?: LensState;
  __viewer: {
    chart(): {
      data: (number | null)[][];
      setScale(key: string, r: { min: number; max: number }): void;
      scales: { x: { min: number; max: number } };
    } | null;
    marks(): { step: number; bad: number[]; uncertain: number[] } | null;
  };
  document: { body: { dataset: Record<string, string> } };
}

describe('web lens viewer', () => {
  let harness: Harness;
  let stateDir: string;
  let userDataDir: string;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  const api = (p: string, init?: RequestInit) => fetch(`${harness.api.baseUrl}${p}`, init);
  const json = async (p: string, init?: RequestInit) => (await (await api(p, init)).json()) as any;

  const lensSeq = () => page.evaluate(() => (globalThis as unknown as PageGlobals).__lens?.seq ?? 0);
  /** Waits for a lens newer than `after`, with this span, this many sensors, or this many points per sensor when given. */
  async function nextLens(after: number, want: { span?: number; sensors?: number; points?: number } = {}): Promise<LensState> {
    await page.waitForFunction(
      ([seq, w]) => {
        const G = globalThis as unknown as PageGlobals;
        const l = G.__lens;
        if (!l || l.seq <= seq || G.document.body.dataset.state !== 'ready') return false;
        if (w.span !== undefined && l.query.to - l.query.from !== w.span) return false;
        if (w.sensors !== undefined && l.query.sensors.length !== w.sensors) return false;
        if (w.points !== undefined && !l.response.sensors.every((s) => s.count.reduce((a, b) => a + b, 0) === w.points)) return false;
        return true;
      },
      [after, want] as const,
      { timeout: 60_000 },
    );
    return page.evaluate(() => (globalThis as unknown as PageGlobals).__lens!);
  }

  /**
   * The chart shows what the API answers for the same query, series by series.
   * The page's lens and the chart's data are read together (live mode may redraw at any time).
   */
  async function expectChartEqualsApi(): Promise<{ lens: LensState; body: LensBody }> {
    const { lens, data } = await page.evaluate(() => ({
      lens: (globalThis as unknown as PageGlobals).__lens!,
      data: (globalThis as unknown as PageGlobals).__viewer.chart()!.data,
    }));
    const q = lens.query;
    const res = await api(`/v1/lens?sensors=${q.sensors.join(',')}&from=${q.from}&to=${q.to}&points=${q.points}&quality=${q.quality}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as LensBody;
    // The decoded binary lens is the JSON one: counts per quality, avg, min, max, first, last.
    expect(lens.response.sensors).toEqual(body.sensors);
    expect(lens.response.quality).toBe(body.quality);
    expect([lens.response.from, lens.response.to, lens.response.step_ms]).toEqual([body.from, body.to, body.step_ms]);
    expect(data.length).toBe(1 + 3 * body.sensors.length);
    expect(data[0]).toEqual(body.sensors[0]!.t);
    body.sensors.forEach((s, i) => {
      expect(data[1 + 3 * i]).toEqual(s.min);
      expect(data[2 + 3 * i]).toEqual(s.max);
      expect(data[3 + 3 * i]).toEqual(s.avg);
    });
    return { lens, body };
  }

  const screenshot = async (name: string) => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path: file });
    fs.copyFileSync(file, path.join(stateDir, `${name}.png`));
    return file;
  };

  beforeAll(async () => {
    stateDir = tempStateDir('viewer');
    for (let attempt = 1; ; attempt++) {
      try {
        harness = await Harness.start({
          stateDir,
          fresh: true,
          freePorts: true,
          log: createLogger('viewer-test', process.env.LOG_LEVEL ?? 'warn'),
        });
        break;
      } catch (err) {
        await stopAllChildren({ timeoutMs: 30_000 });
        if (attempt === 3) throw err;
      }
    }
    const started = await json('/v1/backfill', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'generate', sensors: SENSORS, from: FROM, to: TO, rate_hz: 20, seed: 11 }),
    });
    await waitFor(async () => (await json(`/v1/backfill/${started.id}`)).state === 'completed', {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: 'backfill',
    });
    await waitFor(async () => (await json('/v1/compaction/status')).backlog_windows === 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'compaction',
    });

    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herodotus-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await harness?.stop();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('search, pick, preset: the chart shows exactly the lens of the API', async () => {
    await page.goto(`${harness.api.baseUrl}/`);
    await page.waitForSelector('#sensor-list input[data-sensor="12"]');
    expect(await page.locator('#sensor-list input').count()).toBe(SENSORS.length);

    await page.fill('#search', '2');
    expect(
      await page
        .locator('#sensor-list input')
        .evaluateAll((els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.sensor)),
    ).toEqual(['2', '12']);
    await page.check('#sensor-list input[data-sensor="2"]');
    const first = await nextLens(0);
    expect(first.query.sensors).toEqual([2]);
    // The first pick shows the last hour of the sensor's data.
    expect(first.query.to - first.query.from).toBe(3_600_000);
    const lasts = ((await json('/v1/sensors')) as { sensor: number; last: number }[]).filter((s) => s.sensor === 2).map((s) => s.last);
    expect(first.query.to).toBe(Math.ceil((lasts[0]! + 1) / 1000) * 1000);

    await page.fill('#search', '');
    let seq = await lensSeq();
    await page.check('#sensor-list input[data-sensor="1"]');
    await nextLens(seq, { sensors: 2 });
    seq = await lensSeq();
    await page.check('#sensor-list input[data-sensor="12"]');
    await nextLens(seq, { sensors: 3 });

    seq = await lensSeq();
    await page.click('#presets button[data-span="86400000"]');
    const day = await nextLens(seq, { span: 86_400_000 });
    expect(day.query.sensors).toEqual([2, 1, 12]);
    expect(day.query.points).toBeGreaterThan(500); // as many buckets as the chart is wide
    expect((await expectChartEqualsApi()).lens.seq).toBe(day.seq);

    seq = await lensSeq();
    await page.click('#presets button[data-span="3600000"]');
    const hour = await nextLens(seq, { span: 3_600_000 });
    const { body } = await expectChartEqualsApi();
    expect(body.plan.level_ms).not.toBeNull();
    // And the API's lens is the raw aggregate.
    const raw = new Map<number, Points>();
    for (const s of hour.query.sensors) raw.set(s, await fetchRaw(harness.api.baseUrl, s, body.from, body.to));
    expectExact(body, raw);
    // The plan is on the page, discreetly.
    const plan = await page.textContent('#plan');
    expect(plan).toMatch(/buckets of .* rows read · \d+ ms/);
    await screenshot('viewer-hour');
  });

  test('drag to zoom, shift-drag to pan, setScale: each re-queries at the new resolution', async () => {
    const before = (await page.evaluate(() => (globalThis as unknown as PageGlobals).__lens!))!;
    const box = (await page.locator('.u-over').boundingBox())!;
    const y = box.y + box.height / 2;

    // Drag across the middle fifth of the chart.
    let seq = await lensSeq();
    await page.mouse.move(box.x + box.width * 0.4, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.6, y, { steps: 5 });
    await page.mouse.up();
    const zoomed = await nextLens(seq);
    const span = zoomed.query.to - zoomed.query.from;
    expect(span).toBeGreaterThan(0.15 * 3_600_000);
    expect(span).toBeLessThan(0.25 * 3_600_000);
    expect(zoomed.query.from).toBeGreaterThan(before.query.from);
    expect(zoomed.query.to).toBeLessThan(before.query.to);
    expect(zoomed.response.step_ms).toBeLessThan(before.response.step_ms);
    await expectChartEqualsApi();
    const scale = await page.evaluate(() => (globalThis as unknown as PageGlobals).__viewer.chart()!.scales.x);
    expect([scale.min, scale.max]).toEqual([zoomed.query.from, zoomed.query.to]);
    await screenshot('viewer-zoomed');

    // Shift-drag a quarter of the width to the right: the same span, earlier.
    seq = await lensSeq();
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + box.width * 0.5, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75, y, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    const panned = await nextLens(seq);
    expect(panned.query.to - panned.query.from).toBeGreaterThan(span - 2);
    expect(panned.query.to - panned.query.from).toBeLessThan(span + 2);
    expect(panned.query.from).toBeLessThan(zoomed.query.from);
    await expectChartEqualsApi();

    // setScale through the page, down to a 20 s range: buckets finer than a second.
    seq = await lensSeq();
    const min = FROM + 3_600_000 + 1_234;
    await page.evaluate(
      ([a, b]) => (globalThis as unknown as PageGlobals).__viewer.chart()!.setScale('x', { min: a!, max: b! }),
      [min, min + 20_000],
    );
    const fine = await nextLens(seq);
    expect(fine.query.from).toBe(min);
    expect(fine.query.to).toBe(min + 20_000);
    expect(fine.response.step_ms).toBeLessThanOrEqual(50);
    await expectChartEqualsApi();
  });

  test('a bad free range is explained in plain words; the lens stays', async () => {
    const seq = await lensSeq();
    await page.fill('#from', '2025-07-01T12:00:00.000');
    await page.fill('#to', '2025-07-01T11:00:00.000');
    await page.click('#range button[type="submit"]');
    await expect.poll(() => page.textContent('#message')).toBe('The start of the range must be before its end.');
    expect(await lensSeq()).toBe(seq);

    await page.fill('#from', '2025-07-01T10:00:00.000');
    await page.fill('#to', '2025-07-01T10:30:00.000');
    await page.click('#range button[type="submit"]');
    const l = await nextLens(seq);
    expect([l.query.from, l.query.to]).toEqual([Date.UTC(2025, 6, 1, 10), Date.UTC(2025, 6, 1, 10, 30)]);
    expect(await page.isHidden('#message')).toBe(true);
    await expectChartEqualsApi();
  });

  test('live mode follows now and shows data as it is ingested', async () => {
    let seq = await lensSeq();
    await page.click('#presets button[data-span="60000"]');
    await nextLens(seq, { span: 60_000 });
    seq = await lensSeq();
    await page.check('#live');
    const live = await nextLens(seq, { span: 60_000 });
    expect(Math.abs(live.query.to - Date.now())).toBeLessThan(60_000);
    // It moves on by itself.
    seq = live.seq;
    const again = await nextLens(seq);
    expect(again.query.to).toBeGreaterThan(live.query.to);

    // Points ingested now show up in the live view without touching it.
    const start = Date.now() - 5_000;
    const ingest = await api('/v1/ingest', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        [1, 2, 12].map((sensor) => ({
          v: 1,
          sensor,
          start,
          period_ms: 10,
          values: Array.from({ length: 300 }, (_, i) => Math.sin(i / 30) + sensor),
        })),
      ),
    });
    expect(ingest.status).toBe(202);
    const shown = await nextLens(again.seq, { points: 300 });
    expect(shown.query.to).toBeGreaterThan(start);
    await expectChartEqualsApi();
    await screenshot('viewer-live');
    await page.uncheck('#live');
    expect(consoleErrors).toEqual([]);
  });

  test('series by name: opened from a link, searched by name, asset and tag, one y-axis per unit', async () => {
    const now = Date.now();
    const lines = Array.from(
      { length: 100 },
      (_, i) => `plant1/line2/pump3,site=north pressure=${4 + i / 64},voltage=${i / 1024} ${now - 100_000 + i * 1000}`,
    );
    expect((await api('/api/v2/write?bucket=b&precision=ms', { method: 'POST', body: lines.join('\n') })).status).toBe(204);
    const pressure = 'plant1/line2/pump3/site=north/pressure';
    const voltage = 'plant1/line2/pump3/site=north/voltage';
    for (const [name, unit] of [
      [pressure, 'bar'],
      [voltage, 'mV'],
    ])
      expect((await api(`/v1/series/${name}`, { method: 'PUT', body: JSON.stringify({ unit, asset: 'plant1/line2/pump3' }) })).status).toBe(
        200,
      );
    await harness.waitCaughtUp();
    await page.goto(`${harness.api.baseUrl}/?series=${encodeURIComponent(pressure)}&series=${encodeURIComponent(voltage)}`);
    const shown = await nextLens(0, { sensors: 2 });
    const ids = (await json(`/v1/series?prefix=plant1/line2/pump3`)).series.map((s: { id: number }) => s.id);
    expect(shown.query.sensors).toEqual(ids);
    await expectChartEqualsApi();
    // One axis for x and one per unit.
    expect(await page.evaluate(() => (globalThis as any).__viewer.chart().axes.length)).toBe(3);
    expect(await page.locator('#legend').textContent()).toContain(`${pressure} [bar]`);
    for (const q of ['pump3/site=north/volt', 'plant1/line2', 'site=north', 'mv']) {
      await page.fill('#search', q);
      const listed = await page.locator('#sensor-list label').allInnerTexts();
      expect(listed.length, q).toBeGreaterThan(0);
      expect(
        listed.every((t) => t.includes('plant1/line2/pump3')),
        q,
      ).toBe(true);
    }
    await screenshot('viewer-by-name');
    expect(consoleErrors).toEqual([]);
  });

  /** The canvas pixel in the marks' strip along the bottom of the plot, at the middle of each bucket, as [r, g, b, a]. */
  const stripPixels = (ts: number[]) =>
    page.evaluate((ts) => {
      const G = globalThis as any;
      const u = G.__viewer.chart();
      const step = G.__viewer.marks().step;
      const y = u.bbox.top + u.bbox.height - 2;
      return ts.map((t) => Array.from(u.ctx.getImageData(Math.floor(u.valToPos(t + step / 2, 'x', true)), y, 1, 1).data));
    }, ts);

  test('bad and uncertain points: marked on the chart, counted at the cursor, averaged in on request', async () => {
    // Sensor 40, 10 min at 10 Hz: a short bad run, 5 s of bad only (no good point: a gap), uncertain ones here and there.
    const sensor = 40;
    const quality = (i: number) =>
      (i >= 1000 && i < 1003) || (i >= 2000 && i < 2050) || i === 4444
        ? 'bad'
        : (i >= 3000 && i < 3010) || i % 450 === 7
          ? 'uncertain'
          : 'good';
    const n = 6000;
    const values = Array.from({ length: n }, (_, i) =>
      quality(i) === 'good' ? 20 + Math.sin(i / 50) : quality(i) === 'bad' ? 1000 + i : -500,
    );
    const batch = { v: 1, sensor, start: FROM, period_ms: 100, values, quality: Array.from({ length: n }, (_, i) => quality(i)) };
    const ingest = await api('/v1/ingest', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    expect(ingest.status).toBe(202);
    await harness.waitCaughtUp();
    // Compacted first: the viewer's lens and the test's must not straddle a rollup of this window.
    await waitFor(async () => (await json('/v1/compaction/status')).backlog_windows === 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'compaction',
    });
    await page.goto(`${harness.api.baseUrl}/#sensors=${sensor}&from=${FROM}&to=${FROM + n * 100}`);
    await nextLens(0, { sensors: 1 });
    const { body } = await expectChartEqualsApi();
    expect(body.quality).toBe('good');
    expectExact(body, new Map([[sensor, await fetchRaw(harness.api.baseUrl, sensor, body.from, body.to)]]));
    const s = body.sensors[0]!;
    const where = (pred: (i: number) => boolean) => s.t.filter((_, i) => pred(i));
    // A bucket of bad points only has no avg: the line has a gap there (the chart's avg series is the lens's, nulls included).
    expect(where((i) => s.count[i]! > 0 && s.good[i] === 0 && s.avg[i] === null).length).toBeGreaterThan(0);

    // Marked: exactly the buckets with a bad point, and those with an uncertain one but no bad.
    const marks = (await page.evaluate(() => (globalThis as unknown as PageGlobals).__viewer.marks()))!;
    expect(marks.step).toBe(body.step_ms);
    expect(marks.bad).toEqual(where((i) => s.bad[i]! > 0));
    expect(marks.uncertain).toEqual(where((i) => s.bad[i] === 0 && s.uncertain[i]! > 0));
    expect([marks.bad.length, marks.uncertain.length].every((k) => k > 2)).toBe(true);
    // And drawn: the strip in each mark's color, none where no bucket is marked. Probed only where no bucket
    // two on either side has another kind of mark: a mark is at least 2 px wide, a bucket here less.
    const kind = new Map<number, string>([
      ...marks.bad.map((t) => [t, 'bad'] as const),
      ...marks.uncertain.map((t) => [t, 'uncertain'] as const),
    ]);
    const lone = (k?: string) =>
      s.t
        .filter(
          (t) => t > body.from && kind.get(t) === k && [-2, -1, 1, 2].every((d) => [undefined, k].includes(kind.get(t + d * body.step_ms))),
        )
        .slice(0, 3);
    const [bad, uncertain, clean] = [lone('bad'), lone('uncertain'), lone(undefined)];
    expect(Math.min(bad.length, uncertain.length, clean.length)).toBeGreaterThan(1);
    const px = await stripPixels([...bad, ...uncertain, ...clean]);
    expect(px.slice(0, bad.length)).toEqual(bad.map(() => [179, 38, 30, 255]));
    expect(px.slice(bad.length, bad.length + uncertain.length)).toEqual(uncertain.map(() => [245, 159, 0, 255]));
    for (const p of px.slice(bad.length + uncertain.length))
      expect([
        [179, 38, 30, 255],
        [245, 159, 0, 255],
      ]).not.toContainEqual(p);

    // At the cursor, a bucket with bad points among good ones says how many of each.
    const mixed = s.t.findIndex((_, i) => s.good[i]! > 0 && s.bad[i]! > 0);
    const box = (await page.locator('.u-over').boundingBox())!;
    const x = await page.evaluate((t) => (globalThis as any).__viewer.chart().valToPos(t, 'x') as number, s.t[mixed]!);
    await page.mouse.move(box.x + x, box.y + box.height / 2);
    await expect
      .poll(() => page.locator('#legend').textContent())
      .toContain(`${new Date(s.t[mixed]!).toISOString().slice(0, 19).replace('T', ' ')}`);
    expect(await page.locator('#legend').textContent()).toContain(
      `pts (${s.good[mixed]} good, ${s.uncertain[mixed]} uncertain, ${s.bad[mixed]} bad)`,
    );
    await screenshot('viewer-quality');

    // "Include uncertain/bad" asks quality=any: every bucket with a point has an avg; a link keeps it.
    let seq = await lensSeq();
    await page.check('#any-quality');
    const any = await nextLens(seq);
    expect([any.query.quality, any.url.endsWith('&quality=any')]).toEqual(['any', true]);
    const anyBody = (await expectChartEqualsApi()).body;
    expect(anyBody.quality).toBe('any');
    expect(anyBody.sensors[0]!.avg.map((v) => v !== null)).toEqual(anyBody.sensors[0]!.count.map((c) => c > 0));
    await page.reload();
    expect((await nextLens(0)).query.quality).toBe('any');
    expect(await page.isChecked('#any-quality')).toBe(true);
    seq = await lensSeq();
    await page.uncheck('#any-quality');
    expect((await nextLens(seq)).response.quality).toBe('good');
    await expectChartEqualsApi();
    expect(consoleErrors).toEqual([]);
  });
});
