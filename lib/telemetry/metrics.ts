import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What one Kafka partition's ingest looks like at scrape time. */
export interface PartitionLag {
  partition: number;
  /** Records in Kafka not yet ingested; null while the partition's workflow has not reported. */
  lag: number | null;
}

/** Values read from Kafka, Temporal and ClickHouse when /metrics is scraped; each may fail on its own. */
export interface ScrapeSources {
  lag(): Promise<PartitionLag[]>;
  deadLetterRecords(): Promise<number>;
  compactionBacklog(): Promise<number>;
}

const LENS_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The process's Prometheus metrics (prom-client, one registry per service so
 * that tests can run several). Counters are bumped by the ingest activity and
 * the HTTP middleware; gauges are read from their sources at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly ingestedPoints = new Counter({
    name: 'herodotus_ingested_points_total',
    help: 'Points inserted into ClickHouse by the ingest activity (re-sent and retried points are not counted twice); rate() gives points/s.',
    labelNames: ['partition'],
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'herodotus_dead_letters_total',
    help: 'Records the ingest activity sent to the dead-letter topic (undecodable or invalid), per source partition.',
    labelNames: ['partition'],
    registers: [this.registry],
  });

  readonly conflictingPoints = new Counter({
    name: 'herodotus_points_conflicting_total',
    help: 'Points the ingest activity did not store because their (sensor, ts) already held another value (the first value stays; each record offering any is dead-lettered as conflicting_value), per source partition.',
    labelNames: ['partition'],
    registers: [this.registry],
  });

  readonly replacedPoints = new Counter({
    name: 'herodotus_points_replaced_total',
    help: 'Stored values the ingest activity replaced by corrections (records sent with on_conflict=replace), per source partition.',
    labelNames: ['partition'],
    registers: [this.registry],
  });

  readonly ingestChunks = new Counter({
    name: 'herodotus_ingest_chunks_total',
    help: 'Kafka offset ranges ingested by this process.',
    labelNames: ['partition'],
    registers: [this.registry],
  });

  readonly expiredOffsets = new Counter({
    name: 'herodotus_expired_offsets_total',
    help: 'Offsets removed by Kafka retention before the ingest activity read them (skipped; each skip is logged with its offsets), per partition.',
    labelNames: ['partition'],
    registers: [this.registry],
  });

  readonly httpRequests = new Counter({
    name: 'herodotus_http_requests_total',
    help: 'HTTP responses by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });

  readonly lensDuration = new Histogram({
    name: 'herodotus_lens_duration_seconds',
    help: 'Time to answer GET /v1/lens, validation to last byte of JSON, by status code.',
    labelNames: ['status'],
    buckets: LENS_BUCKETS_S,
    registers: [this.registry],
  });

  private readonly ingestLag = new Gauge({
    name: 'herodotus_ingest_lag_records',
    help: 'Records in Kafka past the partition checkpoint of its ingest workflow (0: caught up).',
    labelNames: ['partition'],
    registers: [this.registry],
  });

  private readonly deadLetterRecords = new Gauge({
    name: 'herodotus_dead_letter_topic_records',
    help: 'Records held in the dead-letter topic (all partitions, retained ones).',
    registers: [this.registry],
  });

  private readonly backlog = new Gauge({
    name: 'herodotus_compaction_backlog_windows',
    help: '(sensor, window) pairs with data not yet compacted into rollups.',
    registers: [this.registry],
  });

  private readonly sourceUp = new Gauge({
    name: 'herodotus_metrics_source_up',
    help: '1 if the source of a scraped gauge answered during this scrape, 0 if not (lag series are then absent; the other gauges keep the last value read).',
    labelNames: ['source'],
    registers: [this.registry],
  });

  private readonly replicaInUse = new Gauge({
    name: 'herodotus_clickhouse_replica_in_use',
    help: "1 for the replica of each ClickHouse shard this process reads and writes now, 0 for the shard's other replicas (the first listed is the preferred one).",
    labelNames: ['shard', 'replica'],
    registers: [this.registry],
  });

  private readonly replicaSwitches = new Counter({
    name: 'herodotus_clickhouse_replica_switches_total',
    help: 'Moves of a shard to another replica: failover (the replica in use stopped answering) or failback (the preferred one is back and caught up).',
    labelNames: ['shard', 'reason'],
    registers: [this.registry],
  });

  /** Records which replica of a shard is in use (called when the choice is made and at every switch). */
  replicaSwitched(change: { shard: number; urls: readonly string[]; to: number; reason: string }): void {
    const shard = String(change.shard);
    for (const [i, replica] of change.urls.entries()) this.replicaInUse.set({ shard, replica }, i === change.to ? 1 : 0);
    if (change.reason !== 'start') this.replicaSwitches.inc({ shard, reason: change.reason });
  }

  /** Counts one ingested chunk's results (called by the ingest activity once the chunk is stored). */
  chunkIngested(
    partition: number,
    stats: { inserted: number; deadLetters: number; expired: number; conflicting: number; replaced: number },
  ): void {
    const labels = { partition: String(partition) };
    this.ingestChunks.inc(labels);
    this.ingestedPoints.inc(labels, stats.inserted);
    this.deadLetters.inc(labels, stats.deadLetters);
    this.conflictingPoints.inc(labels, stats.conflicting);
    this.replacedPoints.inc(labels, stats.replaced);
    this.expiredOffsets.inc(labels, stats.expired);
  }

  /** Counts an HTTP response; `route` must be a pattern (bounded), never the raw path. */
  httpResponse(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    if (route === '/v1/lens') this.lensDuration.observe({ status: String(status) }, seconds);
  }

  /** The exposition text, after refreshing the gauges from their sources (in parallel; a failing source is skipped). */
  async render(sources: ScrapeSources): Promise<string> {
    const refresh = async (source: string, fn: () => Promise<void>, onFail = () => {}) => {
      try {
        await fn();
        this.sourceUp.set({ source }, 1);
      } catch {
        onFail();
        this.sourceUp.set({ source }, 0);
      }
    };
    await Promise.all([
      refresh(
        'ingest_lag',
        async () => {
          const lags = await sources.lag();
          this.ingestLag.reset();
          for (const p of lags) if (p.lag !== null) this.ingestLag.set({ partition: String(p.partition) }, p.lag);
        },
        () => this.ingestLag.reset(),
      ),
      refresh('dead_letter_topic', async () => this.deadLetterRecords.set(await sources.deadLetterRecords())),
      refresh('compaction_backlog', async () => this.backlog.set(await sources.compactionBacklog())),
    ]);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
