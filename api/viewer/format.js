// How the viewer writes times (always UTC), durations and values.
const pad = (n, w = 2) => String(n).padStart(w, '0');

export function utc(ms, withMs = true) {
  const d = new Date(ms);
  const s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return withMs && d.getUTCMilliseconds() ? `${s}.${pad(d.getUTCMilliseconds(), 3)}` : s;
}

/** Value for a datetime-local input, read as UTC. */
export const toInput = (ms) => new Date(ms).toISOString().slice(0, 23);
export const fromInput = (v) => (v ? Date.parse(v.length === 16 ? `${v}:00Z` : `${v}Z`) : NaN);

export function duration(ms) {
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  for (const [name, size] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${name}`;
  for (const [name, size] of units) if (ms >= size) return `${(ms / size).toFixed(1)} ${name}`;
  return `${ms} ms`;
}

export const num = (n) =>
  n === null || n === undefined
    ? '–'
    : Math.abs(n) >= 1e5 || (Math.abs(n) < 1e-3 && n !== 0)
      ? n.toExponential(3)
      : Number(n.toPrecision(6)).toString();
