import { QUALITY, qualityOfOpcCode, type QualityName } from '../model/quality';
import { ImportFileError } from './import-formats';

/**
 * Which columns of a CSV export hold what, by header name: a historian's
 * `Tag,Timestamp,Value,Status` imports with
 * `{"series": "Tag", "ts": "Timestamp", "value": "Value", "quality": "Status"}`,
 * no editing. Header names match without regard to case or surrounding space.
 */
export interface CsvMapping {
  /** A series name, or a numbered sensor's id (all digits). */
  series: string;
  /** Epoch ms, or ISO 8601 with a zone. */
  ts: string;
  value: string;
  /** A quality code (0–65535), or Good / Uncertain / Bad (OPC DA codes 192, 64, 0). */
  quality?: string;
}

export type MappedLine = { ok: true; series: string; ts: number; value: number; quality?: number } | { ok: false; error: string } | null;

/** The fields of one CSV line: commas separate, double quotes enclose (`""` is a quote inside). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/;

function timestamp(text: string): number {
  if (/^-?\d+$/.test(text)) return Number(text);
  return ISO.test(text) ? Date.parse(text.replace(' ', 'T')) : Number.NaN;
}

/** A quality word (good, uncertain, bad) or an OPC DA code (0–65535, 192 = good), as its quality code. */
function quality(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t in QUALITY) return QUALITY[t as QualityName];
  return /^\d+$/.test(t) && Number(t) <= 65535 ? qualityOfOpcCode(Number(t)) : null;
}

/** A line parser for a header and a mapping; a mapped column the header lacks fails the import once, here. */
export function mappedCsvParser(header: string, mapping: CsvMapping): (line: string) => MappedLine {
  const cols = csvFields(header).map((c) => c.trim().toLowerCase());
  const at = (role: string, name: string) => {
    const i = cols.indexOf(name.trim().toLowerCase());
    if (i < 0)
      throw new ImportFileError(
        `the mapping names the column ${JSON.stringify(name)} for ${role}; the CSV header (line 1) has no such column`,
      );
    return i;
  };
  const si = at('series', mapping.series);
  const ti = at('ts', mapping.ts);
  const vi = at('value', mapping.value);
  const qi = mapping.quality === undefined ? null : at('quality', mapping.quality);
  return (line) => {
    if (line.trim() === '') return null;
    const f = csvFields(line).map((x) => x.trim());
    const series = f[si] ?? '';
    const ts = timestamp(f[ti] ?? '');
    const value = Number(f[vi]);
    if (series === '') return { ok: false, error: `column ${mapping.series} (series) is empty` };
    if (!Number.isSafeInteger(ts)) return { ok: false, error: `column ${mapping.ts} is not epoch ms or ISO 8601 with a zone` };
    if ((f[vi] ?? '') === '' || !Number.isFinite(value)) return { ok: false, error: `column ${mapping.value} is not a finite number` };
    if (qi === null) return { ok: true, series, ts, value };
    const q = quality(f[qi] ?? '');
    if (q === null) return { ok: false, error: `column ${mapping.quality} is not a quality code or Good / Uncertain / Bad` };
    return { ok: true, series, ts, value, quality: q };
  };
}
