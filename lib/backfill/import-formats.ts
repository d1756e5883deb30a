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
