/** The p-quantile (0..1) of ascending latencies in ms, to 0.1 ms; 0 for no samples. */
export function percentile(sorted: number[], p: number): number {
  return Number((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(1));
}
