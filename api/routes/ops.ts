import { Hono } from 'hono';
import { auditRaw, sensorExtents } from '../../lib/clickhouse/raw';
import { onEveryPart, type Shards } from '../../lib/clickhouse/shards';
import { compactionBacklog } from '../../lib/rollup/compactor';
import type { PartitionOffsets } from '../../lib/kafka/topics';
import type { IngestProgress } from '../../workflows/partition-ingest';
import { partitionStatus } from '../../workers/ingest-control';
import { apiError, sendError } from '../errors';
import { clickhouseOpen } from '../middleware/clickhouse-open';

export interface OpsRouteDeps {
  shards(): Shards | null;
  offsets(): Promise<PartitionOffsets[]>;
  progress(): Promise<(IngestProgress | null)[]>;
}

const unavailable = (what: string, err: unknown) =>
  apiError(503, `${what}_unavailable`, `${what} did not answer: ${(err as Error).message}`);

/**
 * Operational views: how far ingest is behind Kafka, what is stored per
 * sensor, and a full audit of raw for verification against a ledger.
 */
export function opsRoutes(deps: OpsRouteDeps) {
  return new Hono()
    .get('/v1/ingest/status', async (c) => {
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
    .get('/v1/sensors', clickhouseOpen(deps.shards), async (c) => {
      const shards = c.var.shards;
      const extents = (await onEveryPart(shards.stores, (store) => sensorExtents(store))).flatMap((m) => [...m.values()]);
      extents.sort((a, b) => a.sensor - b.sensor);
      return c.json(extents.map((e) => ({ sensor: e.sensor, first: e.first, last: e.last, points: e.points })));
    })
    .get('/v1/compaction/status', clickhouseOpen(deps.shards), async (c) => {
      const shards = c.var.shards;
      return c.json({ backlog_windows: await compactionBacklog(shards) });
    })
    .get('/v1/audit', clickhouseOpen(deps.shards), async (c) => {
      const shards = c.var.shards;
      const audits = (await onEveryPart(shards.stores, auditRaw)).flat();
      return c.json({ sensors: audits.sort((a, b) => a.sensor - b.sensor) });
    });
}
