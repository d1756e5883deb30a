/** One parsed line of an import file, or why it was skipped. */
export type ParsedLine = { ok: true; sensor: number; ts: number; value: number } | { ok: false; error: string } | null;

export type ImportFormat = 'csv' | 'influx';

/**
 * A file that cannot be imported as it is (unreadable, no usable header):
 * its backfill fails with this message instead of retrying. Messages name
 * lines and columns, never the file's content.
 */
export class ImportFileError extends Error {
  override readonly name = 'ImportFileError';
}
export type InfluxPrecision = 'ns' | 'us' | 'ms' | 's';

const ISO = /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/;

function parseTs(text: string): number {
  if (/^-?\d+$/.test(text)) return Number(text);
  return ISO.test(text) ? Date.parse(text) : Number.NaN;
}

/**
 * CSV with a header naming `sensor`, `ts` (epoch ms or ISO 8601) and `value`
 * columns, in any order. Returns a line parser bound to that header.
 */
export function csvParser(header: string): (line: string) => ParsedLine {
  const cols = header.split(',').map((c) => c.trim().toLowerCase());
  const at = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new ImportFileError(`the CSV header (line 1) must name the columns sensor, ts and value; it has no ${name} column`);
    return i;
  };
  const [si, ti, vi] = [at('sensor'), at('ts'), at('value')];
  return (line) => {
    if (line.trim() === '') return null;
    const f = line.split(',');
    const sensor = Number(f[si]);
    const ts = parseTs((f[ti] ?? '').trim());
    const value = Number(f[vi]);
    if (!Number.isInteger(sensor) || sensor < 0) return { ok: false, error: 'sensor is not a sensor id' };
    if (!Number.isSafeInteger(ts)) return { ok: false, error: 'ts is not epoch ms or ISO 8601' };
    if ((f[vi] ?? '').trim() === '' || !Number.isFinite(value)) return { ok: false, error: 'value is not a finite number' };
    return { ok: true, sensor, ts, value };
  };
}

const PRECISION_DIVISOR: Record<InfluxPrecision, bigint> = { ns: 1_000_000n, us: 1000n, ms: 1n, s: 1n };

/**
 * InfluxDB line protocol: `measurement,sensor=<id>[,tags] value=<float>[,fields] <timestamp>`.
 * The sensor comes from the `sensor` tag, the value from the `value` field
 * (or the only field); timestamps in the given precision become ms.
 */
export function influxParser(precision: InfluxPrecision): (line: string) => ParsedLine {
  return (line) => {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) return null;
    const parts = text.split(' ');
    if (parts.length < 3) return { ok: false, error: 'expected "measurement,tags fields timestamp"' };
    const [series, fieldText, tsText] = parts as [string, string, string];
    const tag = series
      .split(',')
      .slice(1)
      .find((t) => t.startsWith('sensor='));
    const sensor = Number(tag?.slice('sensor='.length));
    if (!Number.isInteger(sensor) || sensor < 0) return { ok: false, error: 'missing or invalid sensor=<id> tag' };
    const fields = fieldText.split(',').map((f) => f.split('=') as [string, string]);
    const field = fields.find(([k]) => k === 'value') ?? (fields.length === 1 ? fields[0] : undefined);
    const value = Number(field?.[1]?.replace(/i$/, ''));
    if (!field || !Number.isFinite(value)) return { ok: false, error: 'expected a numeric value field' };
    if (!/^-?\d+$/.test(tsText)) return { ok: false, error: 'timestamp is not an integer' };
    const raw = BigInt(tsText);
    const ms = precision === 's' ? raw * 1000n : raw / PRECISION_DIVISOR[precision];
    return { ok: true, sensor, ts: Number(ms), value };
  };
}
