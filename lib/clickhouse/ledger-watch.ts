/** A ledger write of this process that committed: the (sensor, day) units whose ledger rows it moved. */
export interface LedgerWrite {
  db: string;
  units: { sensor: number; day: number }[];
}

export type LedgerListener = (write: LedgerWrite) => void;

/**
 * Process-wide: every ledger write of this process is told here once it
 * committed (recordStage), before its caller goes on (so a pending version
 * is told before the raw insert it announces starts). Caches of ledger state
 * (lib/lens/ledger-cache.ts) drop what a write moved. When other processes
 * may write the same ClickHouse, those caches also expire by age.
 */
const listeners = new Set<LedgerListener>();

/** Calls `listener` on every ledger write of this process until the returned function is called. */
export function watchLedger(listener: LedgerListener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

export function ledgerMoved(write: LedgerWrite): void {
  if (write.units.length === 0) return;
  for (const listener of listeners) listener(write);
}
