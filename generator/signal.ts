/**
 * Deterministic, realistic sensor signals.
 *
 * The value at a timestamp is a pure function of (seed, sensor, ts): every
 * random-looking component comes from a counter-based hash of those inputs,
 * never from a sequential PRNG, so any instant can be regenerated on its own
 * and in any order (backfills regenerate arbitrary slices of a month).
 *
 * Values are quantized like a 16-bit ADC: raw counts 0..65535 mapped through
 * offset + raw * scale with scale = 2^-k and offset a multiple of scale, so
 * (offset/scale + raw) < 2^24 and every value is exactly a Float32 (stored as
 * a Float64, like every value; the short mantissa is what an ADC gives).
 */
import type { RegularBatch } from '../lib/batch/types';

export const ADC_MAX = 65535;
const TAU = 2 * Math.PI;
const TWO_32 = 4294967296;

/** murmur3 fmix32: a bijective avalanche step on uint32. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Counter-based hash of (key, n) for any integer n with |n| < 2^53. */
function hashAt(key: number, n: number): number {
  const lo = n >>> 0;
  const hi = Math.floor(n / TWO_32) >>> 0;
  return mix32(mix32(key ^ Math.imul(lo, 0xcc9e2d51)) + Math.imul(hi ^ 0x1b873593, 0x9e3779b1));
}

/** Per-sensor constants; all durations are integer ms so `ts % period` is exact. */
export interface SignalParams {
  /** Engineering units: value = offset + raw * scale. */
  offset: number;
  scale: number;
  /** Everything below is in ADC counts. */
  center: number;
  trendAmp: number;
  trendPeriodMs: number;
  /** Phases are fractions of a period, in [0, 1). */
  trendPhase: number;
  stepAmp: number;
  stepSegmentMs: number;
  stepProbability: number;
  oscAmp: number;
  oscPeriodMs: number;
  oscPhase: number;
  noiseSigma: number;
  /** Hash keys for the step levels and the noise. */
  stepKey: number;
  noiseKey: number;
}

function sensorKey(seed: number, sensor: number): number {
  const seedKey = mix32(mix32((seed >>> 0) ^ 0x5bd1e995) ^ (Math.floor(seed / TWO_32) >>> 0));
  return hashAt(seedKey, sensor);
}

/** Parameters derived from (seed, sensor) only. */
export function sensorParams(seed: number, sensor: number): SignalParams {
  const key = sensorKey(seed, sensor);
  let i = 0;
  // The i-th uniform in [0,1) of this sensor's parameter stream.
  const u = (): number => hashAt(key, i++) / TWO_32;
  const int = (lo: number, hi: number): number => lo + Math.floor(u() * (hi - lo + 1));

  const scale = 2 ** -int(0, 10);
  return {
    offset: int(-40000, 10000) * scale,
    scale,
    // Worst case center ± (amplitudes + 3.5σ noise) stays inside 1800..63200: the clamp is the
    // ADC model, not something these ranges rely on.
    center: int(15000, 50000),
    trendAmp: int(500, 6000),
    trendPeriodMs: int(2 * 3600_000, 72 * 3600_000),
    trendPhase: u(),
    stepAmp: int(200, 4000),
    stepSegmentMs: int(2 * 60_000, 30 * 60_000),
    stepProbability: 0.2 + 0.3 * u(),
    oscAmp: int(50, 3000),
    oscPeriodMs: int(2_000, 120_000),
    oscPhase: u(),
    noiseSigma: 1 + 39 * u(),
    stepKey: hashAt(key, 1_000_001),
    noiseKey: hashAt(key, 1_000_002),
  };
}

/** Level of step segment j: usually 0, sometimes a random offset — steps are occasional. */
function stepLevel(p: SignalParams, segment: number): number {
  const h = hashAt(p.stepKey, segment);
  const u = (h & 0xffff) / 65536;
  if (u >= p.stepProbability) return 0;
  return ((h >>> 16) / 32768 - 1) * p.stepAmp;
}

// Sine by table + linear interpolation: Math.sin was most of the cost and the
// signal only needs a smooth periodic shape. Pure: it depends on the phase only.
const WAVE_N = 4096;
const WAVE = new Float64Array(WAVE_N + 1);
for (let i = 0; i <= WAVE_N; i++) WAVE[i] = Math.sin((TAU * i) / WAVE_N);

/** sin(2π·f) for f in [0, 2). */
function wave(f: number): number {
  const x = (f >= 1 ? f - 1 : f) * WAVE_N;
  const i = x | 0;
  const a = WAVE[i]!;
  return a + (WAVE[i + 1]! - a) * (x - i);
}

/** Non-negative ts mod m for integers (exact below 2^53). */
function mod(ts: number, m: number): number {
  const r = ts % m;
  return r < 0 ? r + m : r;
}

/**
 * Values at ts = startMs + i * periodMs, i = 0..count-1 (integers).
 * Each value depends on its own ts only: the loop's running remainders are
 * exact integer bookkeeping for `ts % period` (fmod on 1e12-sized doubles
 * would dominate the cost), so any sub-range gives identical values.
 */
export function sensorValues(seed: number, sensor: number, startMs: number, periodMs: number, count: number): Float64Array {
  if (!Number.isSafeInteger(startMs) || !Number.isSafeInteger(periodMs) || periodMs <= 0 || !Number.isSafeInteger(count) || count < 0) {
    throw new RangeError('sensorValues needs integer startMs, positive integer periodMs, count >= 0');
  }
  if (!Number.isSafeInteger(startMs + count * periodMs)) throw new RangeError('timestamps exceed 2^53');
  const p = sensorParams(seed, sensor);
  // Hoisted into locals: keeps the hot loop free of property loads.
  const { offset, scale, center, trendAmp, trendPeriodMs, trendPhase, oscAmp, oscPeriodMs, oscPhase, stepSegmentMs, noiseKey } = p;
  const trendStep = periodMs % trendPeriodMs;
  const oscStep = periodMs % oscPeriodMs;
  let trendR = mod(startMs, trendPeriodMs);
  let oscR = mod(startMs, oscPeriodMs);
  // Noise: Irwin–Hall sum of the hash's 4 bytes ≈ normal, mean 510, sd ≈ 147.8.
  const noiseK = p.noiseSigma / 147.8;
  const out = new Float64Array(count);
  let segment = NaN;
  let level = 0;
  for (let i = 0; i < count; i++) {
    const ts = startMs + i * periodMs;
    const seg = Math.floor(ts / stepSegmentMs);
    if (seg !== segment) {
      // Only a cache: the level is a function of seg alone.
      segment = seg;
      level = stepLevel(p, seg);
    }
    const h = hashAt(noiseKey, ts);
    const noise = ((h & 0xff) + ((h >>> 8) & 0xff) + ((h >>> 16) & 0xff) + (h >>> 24) - 510) * noiseK;
    const x = center + trendAmp * wave(trendR / trendPeriodMs + trendPhase) + level + oscAmp * wave(oscR / oscPeriodMs + oscPhase) + noise;
    // Round half up; x > 0 here so truncation of x + 0.5 is floor (faster than Math.round).
    const raw = x <= 0 ? 0 : x >= ADC_MAX ? ADC_MAX : (x + 0.5) | 0;
    out[i] = offset + raw * scale; // exact: both terms are multiples of scale below 2^24·scale
    trendR += trendStep;
    if (trendR >= trendPeriodMs) trendR -= trendPeriodMs;
    oscR += oscStep;
    if (oscR >= oscPeriodMs) oscR -= oscPeriodMs;
  }
  return out;
}

/** The single value at ts (same code path as sensorValues). */
export function sensorValue(seed: number, sensor: number, ts: number): number {
  return sensorValues(seed, sensor, ts, 1, 1)[0]!;
}

/** One regular batch [startMs, startMs + durationMs) at rateHz; rateHz must divide 1000. */
export function regularBatch(seed: number, sensor: number, startMs: number, rateHz: number, durationMs = 1000): RegularBatch {
  if (!Number.isInteger(rateHz) || rateHz <= 0 || 1000 % rateHz !== 0) {
    throw new RangeError(`rateHz must be a positive divisor of 1000, got ${rateHz}`);
  }
  const periodMs = 1000 / rateHz;
  if (!Number.isInteger(durationMs) || durationMs <= 0 || durationMs % periodMs !== 0) {
    throw new RangeError(`durationMs must be a positive multiple of ${periodMs}, got ${durationMs}`);
  }
  return {
    kind: 'regular',
    sensor,
    start: startMs,
    periodMs,
    values: sensorValues(seed, sensor, startMs, periodMs, durationMs / periodMs),
  };
}
