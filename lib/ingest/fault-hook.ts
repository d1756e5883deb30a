import { writeSync } from 'node:fs';
import type { Fault } from '../config/config';

/**
 * Why this exists: exactly-once must survive a crash at the worst moment of a
 * store — raw points committed, their ledger `ingested` stage not yet written —
 * and a kill from outside at a chosen time almost never lands there. With
 * HERODOTUS_FAULT=kill-after-raw-insert:N (tests only) the process SIGKILLs
 * itself right after its Nth non-empty raw insert returned, before anything
 * else runs; the retried chunk must then find its points in raw and finish the
 * ledger. Unset, `afterRawInsert` calls a no-op.
 */
let hook: (rows: number) => void = () => {};

/** Called by storePoints between the raw insert and the ledger's `ingested` stage. */
export function afterRawInsert(rows: number): void {
  hook(rows);
}

/** Arms the configured fault for this process (once, at start-up); undefined disarms it. */
export function armFaultHook(fault: Fault | undefined): void {
  if (!fault) {
    hook = () => {};
    return;
  }
  let inserts = 0;
  hook = (rows) => {
    // An empty block is never sent to ClickHouse: it is no insert.
    if (rows === 0 || ++inserts < fault.afterRawInserts) return;
    // Synchronous: the line reaches the log before the signal ends the process.
    writeSync(2, `HERODOTUS_FAULT ${fault.kind}: SIGKILL after raw insert ${inserts} (${rows} rows), before its ledger 'ingested' stage\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
