import { Hono } from 'hono';
import { z } from 'zod';
import { auditRaw, planAuditPage, sensorExtents } from '../../lib/clickhouse/raw';
import { tableParts } from '../../lib/clickhouse/parts';
import { onEveryPart, type Shards } from '../../lib/clickhouse/shards';
import { compactionBacklog } from '../../lib/rollup/compactor';
import type { PartitionOffsets } from '../../lib/kafka/topics';
import type { IngestProgress } from '../../workflows/partition-ingest';
import { partitionStatus } from '../../workers/ingest-control';
import { apiError, sendError } from '../errors';
import { clickhouseOpen } from '../middleware/clickhouse-open';
import { needs } from '../middleware/scope';

export interface OpsRouteDeps {
  shards(): Shards | null;
  /** Where audits run: connections with the query time limit (HERODOTUS_LENS_TIMEOUT_MS). */
  auditShards(): Shards | null;
  /** Raw rows one audit page may cover (HERODOTUS_AUDIT_MAX_ROWS). */
  auditMaxRows: number;
  offsets(): Promise<PartitionOffsets[]>;
  progress(): Promise<(IngestProgress | null)[]>;
}

const unavailable = (what: string, err: unknown) =>
  apiError(503, `${what}_unavailable`, `${what} did not answer: ${(err as Error).message}`);

/** Query of GET /v1/audit; exported for the OpenAPI document. */
export const auditQuerySchema = z.strictObject({
  cursor: z
    .string()
    .regex(/^\d{1,10}$/, 'expected the next value of a previous page')
    .transform(Number)
    .optional()
    .meta({ description: 'The `next` value of the previous page (a sensor id); the first page without it' }),
});

/**
 * Operational views: how far ingest is behind Kafka, what is stored per
 * sensor, and an audit of raw for verification against a manifest, in
 * pages of whole sensors bounded in rows and time.
 */
export function opsRoutes(deps: OpsRouteDeps) {
  return new Hono()
    .get('/v1/ingest/status', needs('read'), async (c) => {
      let offsets: PartitionOffsets[];
      let progress: (IngestProgress | null)[];
      try {
        offsets = await deps.offsets();
      } catch (err) {
        return sendError(c, unavailable('kafka', err));
      }
      try {
        progress = await deps.progress();
      } catch (err) {
        return sendError(c, unavailable('temporal', err));
      }
      const partitions = partitionStatus(offsets, progress);
      const lag = partitions.reduce((n, p) => n + (p.lag ?? Number.POSITIVE_INFINITY), 0);
      return c.json({ caught_up: lag === 0, lag: Number.isFinite(lag) ? lag : null, partitions });
    })
    .get('/v1/sensors', needs('read'), clickhouseOpen(deps.shards), async (c) => {
      const shards = c.var.shards;
      const extents = (await onEveryPart(shards.stores, (store) => sensorExtents(store))).flatMap((m) => [...m.values()]);
      extents.sort((a, b) => a.sensor - b.sensor);
      return c.json(extents.map((e) => ({ sensor: e.sensor, first: e.first, last: e.last, points: e.points })));
    })
    .get('/v1/compaction/status', needs('read'), clickhouseOpen(deps.shards), async (c) => {
      const shards = c.var.shards;
      return c.json({ backlog_windows: await compactionBacklog(shards) });
    })
    .get('/v1/storage/parts', needs('read'), clickhouseOpen(deps.shards), async (c) => {
      const perShard = await onEveryPart(c.var.shards.stores, (store) => tableParts(store));
      return c.json(
        perShard.flatMap((tables, shard) =>
          tables.map((t) => ({ shard, table: t.table, active_parts: t.activeParts, inserted_parts: t.insertedParts })),
        ),
      );
    })
    .get('/v1/audit', needs('admin'), clickhouseOpen(deps.auditShards), async (c) => {
      const parsed = auditQuerySchema.safeParse(c.req.query());
      if (!parsed.success) return sendError(c, apiError(400, 'invalid_parameter', `cursor: ${parsed.error.issues[0]!.message}`, 'cursor'));
      const shards = c.var.shards;
      const extents = (await onEveryPart(shards.stores, (store) => sensorExtents(store))).flatMap((m) => [...m.values()]);
      const page = planAuditPage(extents, parsed.data.cursor ?? 0, deps.auditMaxRows);
      if (page === null) return c.json({ sensors: [], next: null });
      if (!page.ok)
        return sendError(
          c,
          apiError(
            422,
            'audit_too_large',
            `sensor ${page.sensor} alone holds ${page.points} raw rows, more than the ${deps.auditMaxRows} one audit page may scan (HERODOTUS_AUDIT_MAX_ROWS)`,
            'cursor',
          ),
        );
      const audits = (await onEveryPart(shards.stores, (store) => auditRaw(store, page))).flat();
      return c.json({ sensors: audits.sort((a, b) => a.sensor - b.sensor), next: page.next });
    });
}
