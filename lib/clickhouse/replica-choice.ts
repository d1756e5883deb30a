/** Why a shard's replica in use changed: `start` is the first choice (the preferred replica). */
export type SwitchReason = 'start' | 'failover' | 'failback';

/** A change of the replica in use of one shard (indexes into `urls`; 0 is the preferred replica). */
export interface ReplicaSwitch {
  /** 1-based shard number; 1 for a single server. */
  shard: number;
  urls: readonly string[];
  from: number;
  to: number;
  reason: SwitchReason;
}

/** Told of every switch (metrics); called once with `start` when a shard's choice is made. */
export type ReplicaListener = (change: ReplicaSwitch) => void;

/** The shortest time between two checks of whether the preferred replica can take over again. */
export const FAILBACK_CHECK_MS = 5_000;

/**
 * Which replica of one shard this process reads and writes now. One choice
 * per shard is shared by every store of the process that reaches the shard
 * (ingest, compaction, lenses, operations), so a lens or a duplicate check
 * reads the replica the writes went to: that replica holds its own inserts at
 * once and in the order they were made, whatever order its peer fetches the
 * parts of different tables in. Every process makes the same choice, the
 * preferred (first listed) replica whenever it is up and caught up, so the
 * processes of a deployment converge on one replica after a fault.
 */
export class ReplicaChoice {
  private index = 0;
  private lastFailbackCheck = 0;
  private checking = false;

  constructor(
    readonly shard: number,
    readonly urls: readonly string[],
    private readonly listener?: ReplicaListener,
  ) {
    listener?.({ shard, urls, from: 0, to: 0, reason: 'start' });
  }

  /** Index of the replica in use; 0 is the preferred one. */
  get current(): number {
    return this.index;
  }

  /**
   * Moves from `from` to `to`, unless another store of the process moved
   * first (then that store's choice stands). True when this call moved.
   */
  moveTo(from: number, to: number, reason: Exclude<SwitchReason, 'start'>): boolean {
    if (this.index !== from || from === to) return false;
    this.index = to;
    this.listener?.({ shard: this.shard, urls: this.urls, from, to, reason });
    return true;
  }

  /**
   * True when the caller should check the preferred replica now: another one
   * is in use, no check is running, and the last one is FAILBACK_CHECK_MS old.
   * The caller reports the end with {@link failbackChecked}.
   */
  claimFailbackCheck(now: number): boolean {
    if (this.index === 0 || this.checking || now - this.lastFailbackCheck < FAILBACK_CHECK_MS) return false;
    this.checking = true;
    this.lastFailbackCheck = now;
    return true;
  }

  failbackChecked(): void {
    this.checking = false;
  }
}

/** The process's replica choices, one per shard, handed to every `openShards` of the process. */
export interface ReplicaChoices {
  of(shard: number, urls: readonly string[]): ReplicaChoice;
}

export function replicaChoices(listener?: ReplicaListener): ReplicaChoices {
  const byShard = new Map<string, ReplicaChoice>();
  return {
    of(shard, urls) {
      const key = `${shard}:${urls.join(',')}`;
      let choice = byShard.get(key);
      if (!choice) byShard.set(key, (choice = new ReplicaChoice(shard, urls, listener)));
      return choice;
    },
  };
}
