import { existsSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault } from '../config/config';

/**
 * Why this exists: exactly-once must survive the worst moments, and faults
 * from outside almost never land there. Two faults, tests only, set with
 * HERODOTUS_FAULT; unset, both hooks are no-ops.
 * - kill-after-raw-insert:N: the process SIGKILLs itself right after its Nth
 *   non-empty raw insert returned, before its ledger `ingested` stage; the
 *   retried chunk must then find its points in raw and finish the ledger.
 * - hold-first-chunk: the first ingest chunk with points is held after it
 *   was planned (its version chosen by the workflow) and read, before it is
 *   stored, until the file `fault-release` appears in the state directory
 *   (`fault-held` appears there once it is held). Its window can meanwhile be
 *   written and compacted at later versions; the chunk must still reach the
 *   rollups once it lands.
 */
let afterInsert: (rows: number) => void = () => {};
let beforeStore: (points: number) => Promise<void> = async () => {};

/** Called by storePoints between the raw insert and the ledger's `ingested` stage. */
export function afterRawInsert(rows: number): void {
  afterInsert(rows);
}

/** Called by ingestChunk once a chunk is read and decoded, before it is stored. */
export function beforeChunkStore(points: number): Promise<void> {
  return beforeStore(points);
}

/** Where the hold-first-chunk fault says it holds, and where a test releases it. */
export const HOLD_FILES = { held: 'fault-held', release: 'fault-release' } as const;

/** Arms the configured fault for this process (once, at start-up); undefined disarms it. */
export function armFaultHook(fault: Fault | undefined, stateDir = '.'): void {
  afterInsert = () => {};
  beforeStore = async () => {};
  if (fault?.kind === 'kill-after-raw-insert') {
    let inserts = 0;
    afterInsert = (rows) => {
      // An empty block is never sent to ClickHouse: it is no insert.
      if (rows === 0 || ++inserts < fault.afterRawInserts) return;
      // Synchronous: the line reaches the log before the signal ends the process.
      writeSync(
        2,
        `HERODOTUS_FAULT ${fault.kind}: SIGKILL after raw insert ${inserts} (${rows} rows), before its ledger 'ingested' stage\n`,
      );
      process.kill(process.pid, 'SIGKILL');
    };
  } else if (fault?.kind === 'hold-first-chunk') {
    let held = false;
    beforeStore = async (points) => {
      if (points === 0 || held) return;
      held = true;
      writeSync(2, `HERODOTUS_FAULT ${fault.kind}: holding a chunk of ${points} points until ${HOLD_FILES.release} exists\n`);
      writeFileSync(join(stateDir, HOLD_FILES.held), String(points));
      while (!existsSync(join(stateDir, HOLD_FILES.release))) await sleep(100);
    };
  }
}
