import { setTimeout as sleep } from 'node:timers/promises';
import { runGenerator, type GenerateOptions, type GenerateReport } from '../../generator/run';
import { createLogger } from '../../lib/log/logger';
import { clusterUp, stopClusterMember } from '../stack/cluster';
import type { Harness } from '../stack/harness';
import { verifyAgainstManifest, type VerificationReport } from '../verify/report';

/**
 * Faults and fault runs shared by the scenarios and the integration tests:
 * ingest through an unreliable upstream while a component is down.
 */

export type Component = 'worker' | 'kafka' | 'temporal' | 'replica';

/**
 * How long a fault test holds a component down: the promise is exactly once
 * through any component (Kafka, Temporal, the worker with ClickHouse, a
 * replica, a shard, ZooKeeper) down for up to a minute, so the tests hold the
 * whole minute.
 */
export const OUTAGE_MS = 60_000;

/** The replica a `replica` outage kills: the first of shard 1, where that shard's reads and writes start. */
export const KILLED_REPLICA = 'clickhouse-s1-r1';

/**
 * Takes a component down for `downMs` and brings it back: the worker (with
 * embedded ClickHouse) by kill -9, Kafka and Temporal by stopping their
 * servers, a replica of the local cluster in `clusterStateDir` by kill -9
 * (restarted by `cluster up`).
 */
export async function outage(h: Harness, component: Component, downMs: number, clusterStateDir?: string): Promise<void> {
  if (component === 'replica') {
    if (!clusterStateDir) throw new Error('a replica outage needs the local cluster');
    await stopClusterMember(clusterStateDir, KILLED_REPLICA, 'kill');
    await sleep(downMs);
    await clusterUp({ stateDir: clusterStateDir, ports: 'free', database: null });
  } else if (component === 'worker') {
    await h.killService();
    await sleep(downMs);
    await h.startService();
  } else if (component === 'kafka') {
    await h.infra.stopKafka();
    await sleep(downMs);
    await h.infra.startKafka();
  } else {
    await h.infra.stopTemporal();
    await sleep(downMs);
    await h.infra.startTemporal();
  }
}

export interface FaultRun {
  harness: Harness;
  generated: GenerateReport;
  report: VerificationReport;
}

export type UpstreamRun = { sensors: number; durationS: number; seed: number; realtime: boolean } & Partial<Omit<GenerateOptions, 'topic'>>;

/**
 * Publishes `durationS` seconds of `sensors` at 1 kHz through an unreliable
 * upstream (by default 2 % late up to an hour, 2 % re-sent, reordered, 1 %
 * garbage), runs `fault` while that goes on, then waits for ingest to catch up
 * and verifies storage and the dead-letter topic against the generator's manifest.
 */
export async function ingestThrough(
  harness: Harness,
  opts: UpstreamRun,
  fault: (h: Harness) => Promise<void> = async () => undefined,
): Promise<FaultRun> {
  const log = createLogger('faults', process.env.LOG_LEVEL ?? 'warn');
  const [generated] = await Promise.all([
    runGenerator(harness.kafka, {
      rateHz: 1000,
      startMs: Date.UTC(2026, 0, 1),
      lateFraction: 0.02,
      maxLateMs: 3_600_000,
      dupFraction: 0.02,
      reorder: true,
      corruptFraction: 0.01,
      ...opts,
      topic: harness.config.kafka.topic,
    }),
    fault(harness),
  ]);
  await harness.waitCaughtUp(300_000);
  const report = await verifyAgainstManifest(harness.api, harness.kafka, harness.config.kafka.dlqTopic, generated.manifest, log);
  return { harness, generated, report };
}
