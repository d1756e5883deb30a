import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { DEFAULT_LEVELS_MS, MS } from '../../lib/model/ladder';
import { tempStateDir } from '../support/ingest-run';
import { expectExact, fetchRaw, type LensBody, type Points } from '../support/lens-reference';

const FROM = Date.UTC(2025, 5, 1, 23, 0, 0);
const TO = FROM + 2 * 3_600_000; // crosses midnight

describe('backfill', () => {
  let harness: Harness;
  let stateDir: string;
  /** The default HERODOTUS_IMPORT_DIR: <state dir>/imports. */
  let importDir: string;
  const uploads = () => fs.readdirSync(path.join(stateDir, 'uploads'));

  const api = (p: string, init?: RequestInit) => fetch(`${harness.api.baseUrl}${p}`, init);
  const json = async (p: string, init?: RequestInit) => {
    const res = await api(p, init);
    return { status: res.status, body: (await res.json()) as any };
  };
  const post = (body: unknown) =>
    json('/v1/backfill', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const finished = async (id: string) => {
    let last: any;
    await waitFor(async () => (last = (await json(`/v1/backfill/${id}`)).body).state !== 'running', {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: `backfill ${id}`,
    });
    return last;
  };
  const drained = () =>
    waitFor(async () => (await json('/v1/compaction/status')).body.backlog_windows === 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'compaction backlog to drain',
    });
  const lens = async (q: string) => {
    const r = await json(`/v1/lens?${q}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as LensBody;
  };

  beforeAll(async () => {
    stateDir = tempStateDir('backfill');
    harness = await Harness.start({ stateDir, freePorts: true });
    importDir = path.join(stateDir, 'imports');
    fs.mkdirSync(importDir, { recursive: true });
  });

  afterAll(async () => {
    await harness?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('generate: stored once, also when run again; lenses over it are exact', async () => {
    const req = { kind: 'generate', sensors: [1, 2], from: FROM, to: TO, rate_hz: 100, seed: 3 };
    const started = await post(req);
    expect(started.status).toBe(202);
    const done = await finished(started.body.id);
    expect(done.state).toBe('completed');
    expect(done.progress.inserted).toBe(2 * 7200 * 100);
    const again = await finished((await post(req)).body.id);
    expect(again.progress.inserted).toBe(0);
    expect(again.progress.alreadyStored).toBe(2 * 7200 * 100);
    await drained();
    const raw = new Map<number, Points>([
      [1, await fetchRaw(harness.api.baseUrl, 1, FROM, TO)],
      [2, await fetchRaw(harness.api.baseUrl, 2, FROM, TO)],
    ]);
    expect(raw.get(1)!.length).toBe(720_000);
    for (const q of ['points=2500', 'points=100', 'step=600000', 'step=3600000', 'step=86400000', 'step=20']) {
      const to = q === 'step=20' ? FROM + 60_000 : TO;
      const l = await lens(`sensors=1,2&from=${FROM}&to=${to}&${q}`);
      expect(l.plan.raw_windows).toBe(0);
      expectExact(l, raw);
    }
  });

  test('recompact: rewriting a range gives identical rollups at every level', async () => {
    // Levels up to a day: coarser ones are longer than the API's largest step.
    const levels = DEFAULT_LEVELS_MS.filter((l) => l <= MS.day);
    const snapshot = async () =>
      Promise.all(levels.map((step) => lens(`sensors=1&from=${FROM}&to=${step < 1000 ? FROM + 20_000 : TO}&step=${step}`)));
    const before = await snapshot();
    const started = await post({ kind: 'recompact', sensors: [1], from: FROM, to: TO });
    expect(started.status).toBe(202);
    const done = await finished(started.body.id);
    expect(done.state).toBe('completed');
    expect(done.progress.total).toBe(120);
    const after = await snapshot();
    for (let i = 0; i < before.length; i++) {
      expect(after[i]!.sensors).toEqual(before[i]!.sensors);
      expect(after[i]!.plan.raw_windows).toBe(0);
    }
  });

  test('import: CSV upload and line protocol from a path; bad lines rejected with the reason', async () => {
    const t0 = Date.UTC(2025, 2, 1);
    const csv = [
      'ts,sensor,value',
      ...Array.from({ length: 1000 }, (_, i) => `${t0 + i * 10},7,${i / 4}`),
      `${t0},7,not-a-number`,
      `${t0},7,99`,
    ].join('\n');
    const up = await json('/v1/backfill', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(up.status).toBe(202);
    const csvDone = await finished(up.body.id);
    expect(csvDone.state).toBe('completed');
    expect(csvDone.progress.inserted).toBe(1000);
    expect(csvDone.progress.rejected).toBe(2);
    // The header is line 1, the points lines 2 to 1001: the bad line is cited by number, never quoted;
    // a second point at a timestamp the file already gave the sensor is refused, the first one kept.
    expect(csvDone.progress.examples).toEqual([
      'line 1002: value is not a finite number',
      `line 1003: field "sensor 7": line 2 already gives this series a point at ${new Date(t0).toISOString()}`,
    ]);
    expect(uploads()).toEqual([]); // the upload is gone once its backfill ended

    fs.writeFileSync(
      path.join(importDir, 'import.lp'),
      Array.from({ length: 500 }, (_, i) => `vibration,sensor=8,line=A value=${i}.5 ${BigInt(t0 + i) * 1_000_000n}`).join('\n'),
    );
    // A path relative to the import directory.
    const lpDone = await finished((await post({ kind: 'import', format: 'influx', path: 'import.lp' })).body.id);
    expect(lpDone.progress.inserted).toBe(500);
    expect(fs.existsSync(path.join(importDir, 'import.lp'))).toBe(true); // a server file is the operator's: it stays
    await drained();
    const raw = new Map<number, Points>([
      [7, await fetchRaw(harness.api.baseUrl, 7, t0, t0 + 20_000)],
      [8, await fetchRaw(harness.api.baseUrl, 8, t0, t0 + 20_000)],
    ]);
    expect(raw.get(7)!.length).toBe(1000);
    // The first line for a (sensor, ts) wins: the later duplicate (value 99) is not stored.
    expect(raw.get(7)![0]).toEqual([t0, 0]);
    expectExact(await lens(`sensors=7,8&from=${t0}&to=${t0 + 20_000}&points=50`), raw);
  });

  test('server-side imports read only from the import directory: paths and links leading out are refused', async () => {
    const outside = path.join(stateDir, 'outside.csv');
    fs.writeFileSync(outside, 'ts,sensor,value\n1740787200000,9,1\n');
    fs.symlinkSync(outside, path.join(importDir, 'link.csv'));
    fs.symlinkSync(stateDir, path.join(importDir, 'state'));
    for (const p of [outside, '../outside.csv', 'link.csv', 'state/outside.csv', '/etc/passwd', importDir, `${importDir}/../outside.csv`]) {
      const r = await post({ kind: 'import', format: 'csv', path: p });
      expect(r.status, `${p}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.error.code, p).toBe('path_outside_import_dir');
      expect(r.body.error.field).toBe('path');
      expect(r.body.error.message).toContain('HERODOTUS_IMPORT_DIR');
    }
    const missing = await post({ kind: 'import', format: 'csv', path: 'no-such-file.csv' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('file_not_found');
    expect((await json('/v1/sensors')).body.map((s: { sensor: number }) => s.sensor)).not.toContain(9);
  });

  test('a file that cannot be imported fails its backfill with the reason, without its content; uploads are deleted', async () => {
    // A header without a value column: uploaded, and as a server file.
    const secret = 'ts,sensor,reading-of-secret-pump-7';
    const badUpload = await json('/v1/backfill', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `${secret}\n1,2,3\n` });
    expect(badUpload.status).toBe(202);
    fs.writeFileSync(path.join(importDir, 'bad.csv'), `${secret}\n1,2,3\n`);
    const badFile = await post({ kind: 'import', format: 'csv', path: 'bad.csv' });
    // Every line rejected: nothing of the file is importable.
    const garbage = await json('/v1/backfill', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x\ny z\n' });
    for (const [id, reason] of [
      [badUpload.body.id, 'the CSV header (line 1) must name the columns sensor, ts and value; it has no value column'],
      [badFile.body.id, 'the CSV header (line 1) must name the columns sensor, ts and value; it has no value column'],
      [garbage.body.id, 'no line of the file could be imported (2 rejected)'],
    ]) {
      const done = await finished(id);
      expect(done.state, JSON.stringify(done)).toBe('failed');
      expect(done.progress.stage).toBe('failed');
      expect(done.progress.error).toBe(reason);
      expect(JSON.stringify(done)).not.toContain('secret');
    }
    expect(uploads()).toEqual([]);
  });

  test('clear errors: bad requests, missing files, unknown ids', async () => {
    expect((await post({ kind: 'teleport' })).status).toBe(400);
    const backwards = await post({ kind: 'generate', sensors: [1], from: TO, to: FROM, rate_hz: 10 });
    expect(backwards.body.error.field).toBe('to');
    expect((await json('/v1/backfill/0badc0de')).status).toBe(404);
  });
});
