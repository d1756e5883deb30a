import { batchesOfPoints, type IdPoint } from '../batch/from-points';
import type { BatchLimits, IrregularBatch } from '../batch/types';
import { parseLine } from '../lineprotocol/parse';
import { linePoints, type LineContext, type LinePoint, type Rejection } from '../lineprotocol/points';
import type { SeriesCatalog, SeriesSpec } from './catalog';

/** What a body of line protocol comes to: batches ready for Kafka, and every refusal with its line. */
export interface LineWrite {
  lines: number;
  batches: IrregularBatch[];
  points: number;
  rejected: Rejection[];
}

/** Parses every line of `text`; line numbers start at `firstLine`. */
export function parseLines(text: string, ctx: LineContext, firstLine = 1): { lines: number; points: LinePoint[]; rejected: Rejection[] } {
  const points: LinePoint[] = [];
  const rejected: Rejection[] = [];
  let lines = 0;
  for (const [i, raw] of text.split('\n').entries()) {
    const parsed = parseLine(raw);
    if (parsed === null) continue;
    lines++;
    if (!parsed.ok) {
      rejected.push({ line: firstLine + i, reason: parsed.reason });
      continue;
    }
    const r = linePoints(parsed.line, firstLine + i, ctx);
    points.push(...r.points);
    rejected.push(...r.rejected);
  }
  return { lines, points, rejected };
}

/**
 * Points with their sensor ids: named series through the catalog (created
 * on first write), numbered ones as they are. A point repeating a
 * (series, timestamp) of an earlier one in the same input is refused: the
 * first is the one stored, as for any re-sent point.
 */
export async function resolvePoints(
  points: readonly LinePoint[],
  catalog: SeriesCatalog,
): Promise<{ points: (IdPoint & { line: number; quality?: number })[]; rejected: Rejection[] }> {
  const specs = new Map<string, SeriesSpec>();
  for (const p of points)
    if (p.name !== null && !specs.has(p.name)) specs.set(p.name, { name: p.name, tags: p.tags, valueType: p.valueType });
  const { ids, refused } = await catalog.ensure([...specs.values()]);
  const rejected: Rejection[] = [];
  const seen = new Map<string, number>();
  const out: (IdPoint & { line: number; quality?: number })[] = [];
  for (const p of points) {
    const sensor = p.name === null ? p.sensor! : ids.get(p.name);
    const field = p.name ?? `sensor ${p.sensor}`;
    if (sensor === undefined) {
      rejected.push({ line: p.line, field, reason: refused.get(p.name!)?.message ?? 'series refused' });
      continue;
    }
    const key = `${sensor}:${p.ts}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      rejected.push({
        line: p.line,
        field,
        reason: `line ${earlier} already gives this series a point at ${new Date(p.ts).toISOString()}`,
      });
      continue;
    }
    seen.set(key, p.line);
    out.push({ sensor, ts: p.ts, value: p.value, line: p.line, ...(p.quality === undefined ? {} : { quality: p.quality }) });
  }
  return { points: out, rejected };
}

/** A body of line protocol, parsed, resolved and cut into batches. */
export async function prepareLineWrite(text: string, ctx: LineContext, catalog: SeriesCatalog, limits: BatchLimits): Promise<LineWrite> {
  const parsed = parseLines(text, ctx);
  const resolved = await resolvePoints(parsed.points, catalog);
  const rejected = [...parsed.rejected, ...resolved.rejected].sort((a, b) => a.line - b.line);
  return {
    lines: parsed.lines,
    batches: batchesOfPoints(resolved.points, limits),
    points: resolved.points.length,
    rejected,
  };
}
