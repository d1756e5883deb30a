import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGenerator, type GenerateReport } from '../../generator/run';
import { Harness } from '../../stack/harness';
import { verifyAgainstLedger, type VerificationReport } from '../../verify/report';
import { createLogger } from '../../log/logger';

export interface FaultRun {
  harness: Harness;
  generated: GenerateReport;
  report: VerificationReport;
}

export function tempStateDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `herodotus-${name}-`));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Publishes `durationS` seconds of `sensors` at 1 kHz in real time through an
 * unreliable upstream (late, re-sent, reordered, garbage), runs `fault` while
 * that goes on, then waits for ingest to catch up and verifies storage and the
 * dead-letter topic against the generator's ledger.
 */
export async function ingestThrough(
  harness: Harness,
  opts: { sensors: number; durationS: number; seed: number; realtime: boolean },
  fault: (h: Harness) => Promise<void> = async () => undefined,
): Promise<FaultRun> {
  const log = createLogger('test', process.env.LOG_LEVEL ?? 'warn');
  const [generated] = await Promise.all([
    runGenerator(harness.kafka, {
      topic: harness.config.kafka.topic,
      sensors: opts.sensors,
      rateHz: 1000,
      durationS: opts.durationS,
      startMs: Date.UTC(2026, 0, 1),
      seed: opts.seed,
      lateFraction: 0.02,
      maxLateMs: 3_600_000,
      dupFraction: 0.02,
      reorder: true,
      corruptFraction: 0.01,
      realtime: opts.realtime,
    }),
    fault(harness),
  ]);
  await harness.waitCaughtUp(300_000);
  const report = await verifyAgainstLedger(harness.api, harness.kafka, harness.config.kafka.dlqTopic, generated.ledger, log);
  return { harness, generated, report };
}
