/**
 * The unreliable upstream, simulated purely by publication order (never by
 * waiting): a deterministic, streaming plan of what gets published when.
 *
 * Natural order is second k = 0..durationS-1, then sensor s = 0..sensors-1;
 * natural position n = k * sensors + s. Every publication gets a "due"
 * position on that axis and sits in a min-heap until the natural cursor
 * passes it:
 *   - on time:  due = n (+ uniform [0, 3.5 s) when reorder is on — a bounded
 *               shuffle, like an upstream buffer flushing out of order),
 *   - late:     due = n + delay, delay uniform in (1 s, maxLateMs],
 *   - resend:   due = original due + uniform [0, 4 s], identical bytes,
 *   - garbage:  due = original due ± 0.5 s, in addition to the valid batch.
 * The heap holds only small descriptors; frames are generated and encoded
 * when emitted. Memory is bounded by sensors × (window + maxLate) and not by
 * durationS, so 1000 sensors × 3600 s streams fine.
 */
import { encodeBatch } from '../lib/batch/encode';
import { Rng } from './rng';
import { mix32, regularBatch } from './signal';

export interface UpstreamOptions {
  sensors: number;
  /** Sensor ids are firstSensor + s; default 1. */
  firstSensor?: number;
  rateHz: number;
  durationS: number;
  startMs: number;
  seed: number;
  lateFraction: number;
  maxLateMs: number;
  dupFraction: number;
  reorder: boolean;
  corruptFraction: number;
}

export interface PlannedRecord {
  /** Kafka key: the sensor id as a decimal string (garbage may carry a random key). */
  key: string;
  value: Buffer;
  kind: 'batch' | 'resend' | 'garbage';
  sensor: number;
  /** Natural second index k (0-based); the batch covers startMs + k·1000 .. +1000. */
  second: number;
  /** True only for a 'batch' that was deliberately held back. */
  late: boolean;
}

export type GarbageKind = 'random' | 'truncated' | 'bitflip' | 'bad_header';
const GARBAGE_KINDS: readonly GarbageKind[] = ['random', 'truncated', 'bitflip', 'bad_header'];

/** Reorder window, in natural seconds. */
export const REORDER_WINDOW_S = 3.5;
/** Resends come up to this many natural seconds after the original. */
export const MAX_RESEND_DELAY_S = 4;
/** Garbage lands within ± this many natural seconds of its batch. */
export const GARBAGE_SPREAD_S = 0.5;
const MAX_RANDOM_GARBAGE_BYTES = 5000;

interface Pending {
  due: number;
  /** Push order: breaks ties so equal-due items keep a deterministic order (resend after original). */
  seq: number;
  kind: PlannedRecord['kind'];
  s: number;
  second: number;
  late: boolean;
  garbage?: { kind: GarbageKind; seed: number };
}

/** Minimal binary min-heap on (due, seq). */
class Heap {
  private items: Pending[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Pending | undefined {
    return this.items[0];
  }
  private less(i: number, j: number): boolean {
    const a = this.items[i]!;
    const b = this.items[j]!;
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }
  private swap(i: number, j: number): void {
    const t = this.items[i]!;
    this.items[i] = this.items[j]!;
    this.items[j] = t;
  }
  push(p: Pending): void {
    this.items.push(p);
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  pop(): Pending | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top === undefined || last === undefined || this.items.length === 0) return top;
    this.items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.items.length && this.less(l, m)) m = l;
      if (r < this.items.length && this.less(r, m)) m = r;
      if (m === i) return top;
      this.swap(i, m);
      i = m;
    }
  }
}

function validate(o: UpstreamOptions): void {
  const intAtLeast = (v: number, min: number, name: string): void => {
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  const fraction = (v: number, name: string): void => {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${v}`);
  };
  intAtLeast(o.sensors, 1, 'sensors');
  intAtLeast(o.firstSensor ?? 1, 0, 'firstSensor');
  intAtLeast(o.durationS, 0, 'durationS');
  intAtLeast(o.startMs, 0, 'startMs');
  if (!Number.isInteger(o.rateHz) || o.rateHz <= 0 || 1000 % o.rateHz !== 0) {
    throw new RangeError(`rateHz must be a positive divisor of 1000, got ${o.rateHz}`);
  }
  if (!(o.maxLateMs >= 0)) throw new RangeError(`maxLateMs must be >= 0, got ${o.maxLateMs}`);
  fraction(o.lateFraction, 'lateFraction');
  fraction(o.dupFraction, 'dupFraction');
  fraction(o.corruptFraction, 'corruptFraction');
}

/** The stream of publications for opts; same opts → byte-identical stream. */
export function* publicationPlan(opts: UpstreamOptions): Generator<PlannedRecord> {
  validate(opts);
  const n0 = opts.sensors; // natural positions per second
  const first = opts.firstSensor ?? 1;
  // Decisions use their own stream, independent of the signal's use of the seed.
  const rng = new Rng(mix32(opts.seed >>> 0) ^ 0x0b5e55ed ^ Math.floor(opts.seed / 4294967296));
  const heap = new Heap();
  const window = opts.reorder ? REORDER_WINDOW_S * n0 : 0;
  const minLateMs = Math.min(1000, opts.maxLateMs);
  let seq = 0;

  const frame = (s: number, second: number): Buffer =>
    encodeBatch(regularBatch(opts.seed, first + s, opts.startMs + second * 1000, opts.rateHz));

  const emit = (p: Pending): PlannedRecord => {
    const sensor = first + p.s;
    if (p.kind !== 'garbage' || !p.garbage) {
      return { key: String(sensor), value: frame(p.s, p.second), kind: p.kind, sensor, second: p.second, late: p.late };
    }
    const g = new Rng(p.garbage.seed);
    const value = garbage(p.garbage.kind, g, () => frame(p.s, p.second));
    // Mostly the real sensor key (as a broken producer would send), sometimes a random one.
    const r = g.next();
    const key = r < 0.7 ? String(sensor) : r < 0.85 ? String(g.u32()) : g.u32().toString(16);
    return { key, value, kind: 'garbage', sensor, second: p.second, late: false };
  };

  let n = 0;
  for (let second = 0; second < opts.durationS; second++) {
    for (let s = 0; s < n0; s++, n++) {
      const late = rng.next() < opts.lateFraction;
      let due: number;
      if (late) {
        const delayMs = opts.maxLateMs - (opts.maxLateMs - minLateMs) * rng.next(); // (min, max]
        due = n + (delayMs / 1000) * n0;
      } else {
        due = n + rng.next() * window;
      }
      heap.push({ due, seq: seq++, kind: 'batch', s, second, late });
      if (rng.next() < opts.dupFraction) {
        heap.push({ due: due + rng.next() * MAX_RESEND_DELAY_S * n0, seq: seq++, kind: 'resend', s, second, late: false });
      }
      if (rng.next() < opts.corruptFraction) {
        const kind = GARBAGE_KINDS[rng.int(GARBAGE_KINDS.length)]!;
        heap.push({
          due: due + (2 * rng.next() - 1) * GARBAGE_SPREAD_S * n0,
          seq: seq++,
          kind: 'garbage',
          s,
          second,
          late: false,
          garbage: { kind, seed: rng.u32() },
        });
      }
      for (let top = heap.peek(); top !== undefined && top.due <= n; top = heap.peek()) yield emit(heap.pop()!);
    }
  }
  // The run ended: whatever is still held back goes out now, in due order.
  while (heap.size > 0) yield emit(heap.pop()!);
}

/** One garbage payload; validFrame is only called by kinds that start from a real frame. */
function garbage(kind: GarbageKind, g: Rng, validFrame: () => Buffer): Buffer {
  switch (kind) {
    case 'random': {
      const out = Buffer.allocUnsafe(g.int(MAX_RANDOM_GARBAGE_BYTES + 1));
      for (let i = 0; i < out.length; i++) out[i] = g.u32() & 0xff;
      return out;
    }
    case 'truncated': {
      const f = validFrame();
      return Buffer.from(f.subarray(0, g.int(f.length))); // 0..len-1 bytes
    }
    case 'bitflip': {
      // 1–3 distinct bits, so the flips never cancel; CRC-32 catches any ≤3-bit
      // error in frames this size (Hamming distance 4 up to ~11 KB).
      const f = validFrame();
      const flips = 1 + g.int(3);
      const bits = new Set<number>();
      while (bits.size < flips) bits.add(g.int(f.length * 8));
      for (const b of bits) f[b >> 3] = f[b >> 3]! ^ (1 << (b & 7));
      return f;
    }
    case 'bad_header': {
      // Magic byte 0 or 1, or the version byte 2, set to a different value.
      const f = validFrame();
      const at = g.int(3);
      f[at] = (f[at]! + 1 + g.int(255)) & 0xff;
      return f;
    }
  }
}
