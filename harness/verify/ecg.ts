import fs from 'node:fs';
import path from 'node:path';

/** MIT-BIH record 208 as scipy 1.9.3 ships it (scipy/misc/ecg.dat): 108,000 samples of 11-bit ADC counts. */
export const ECG_SAMPLES = 108_000;
export const ECG_RATE_HZ = 360;
/** The record's ADC zero and gain (counts per mV), from its header: mV = (count − 1024) / 200. */
const ADC_ZERO = 1024;
const ADC_PER_MV = 200;

/** Where scripts/setup.mjs extracts the samples (little-endian uint16) from the scipy wheel. */
export const ecgFile = (toolsDir: string) => path.join(toolsDir, 'ecg', 'ecg-208.u16');

export interface EcgRecording {
  /** Values in mV, as the recording defines them. */
  millivolts: Float64Array;
  /** Epoch ms of each sample from `t0`, rounded to whole ms until storage keeps µs. */
  times: Float64Array;
}

/** The ECG from the set-up's extraction; throws, naming the fix, when set-up has not run. */
export function readEcg(toolsDir: string, t0: number): EcgRecording {
  const file = ecgFile(toolsDir);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run node scripts/setup.mjs`);
  const adc = new Uint16Array(new Uint8Array(fs.readFileSync(file)).buffer);
  if (adc.length !== ECG_SAMPLES) throw new Error(`${file} holds ${adc.length} samples, not ${ECG_SAMPLES}`);
  const millivolts = Float64Array.from(adc, (a) => (a - ADC_ZERO) / ADC_PER_MV);
  const times = Float64Array.from(adc, (_, i) => t0 + Math.round((i * 1000) / ECG_RATE_HZ));
  return { millivolts, times };
}
