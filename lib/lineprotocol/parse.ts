/**
 * InfluxDB line protocol, the whole grammar of one line:
 *
 *   measurement[,tag_key=tag_value…] field_key=field_value[,field_key=field_value…] [timestamp]
 *
 * - measurement: `\,` and `\ ` are escapes (and `\\`); tag keys, tag values
 *   and field keys also escape `=`. A backslash before any other character
 *   is itself.
 * - field values: float (`1`, `-1.5`, `2e-3`), integer (`1i`), unsigned
 *   (`1u`), boolean (`t`, `T`, `true`, `True`, `TRUE` and the same for
 *   false), string (`"…"`, escapes `\"` and `\\`).
 * - timestamp: an optional integer in the request's precision.
 * - empty lines and lines starting with `#` are skipped.
 *
 * Parsing never rounds: integers are BigInt, floats the JS number of their
 * text, the timestamp a BigInt. What storage can hold is decided later
 * (points.ts), with a reason per field or line.
 */

export type FieldValue =
  | { kind: 'float'; value: number }
  | { kind: 'integer'; value: bigint }
  | { kind: 'unsigned'; value: bigint }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'string'; value: string };

export interface Field {
  key: string;
  value: FieldValue;
}

export interface Line {
  measurement: string;
  /** In the order written; points.ts sorts them. */
  tags: [string, string][];
  fields: Field[];
  timestamp: bigint | null;
}

export type ParsedLine = { ok: true; line: Line } | { ok: false; reason: string } | null;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const FALSE = new Set(['f', 'F', 'false', 'False', 'FALSE']);

class Cursor {
  i = 0;
  constructor(readonly s: string) {}
  get done() {
    return this.i >= this.s.length;
  }
  /** The current character (a method: it changes as the cursor moves, so no narrowing across calls). */
  ch(): string | undefined {
    return this.s[this.i];
  }
  /** Text up to the first unescaped character of `stops` (escapes of `escapable` resolved). */
  token(stops: string, escapable: string): string {
    let out = '';
    while (!this.done && !stops.includes(this.ch()!)) {
      const c = this.s[this.i++]!;
      const next = this.s[this.i];
      if (c === '\\' && next !== undefined && (escapable.includes(next) || next === '\\')) {
        out += next;
        this.i++;
      } else out += c;
    }
    return out;
  }
}

class LineError extends Error {}
const fail = (reason: string): never => {
  throw new LineError(reason);
};

function parseFieldValue(c: Cursor, key: string): FieldValue {
  if (c.ch() === '"') {
    c.i++;
    let out = '';
    for (;;) {
      if (c.done) fail(`field ${JSON.stringify(key)}: string value has no closing quote`);
      const ch = c.s[c.i++]!;
      if (ch === '"') break;
      if (ch === '\\' && (c.ch() === '"' || c.ch() === '\\')) out += c.s[c.i++];
      else out += ch;
    }
    return { kind: 'string', value: out };
  }
  const text = c.token(', ', '');
  if (text === '') fail(`field ${JSON.stringify(key)} has no value`);
  if (/^[+-]?\d+i$/.test(text)) {
    const v = BigInt(text.slice(0, -1));
    if (v < INT64_MIN || v > INT64_MAX) fail(`field ${JSON.stringify(key)}: integer ${text} is outside the 64-bit range`);
    return { kind: 'integer', value: v };
  }
  if (/^\d+u$/.test(text)) {
    const v = BigInt(text.slice(0, -1));
    if (v > UINT64_MAX) fail(`field ${JSON.stringify(key)}: unsigned ${text} is outside the 64-bit range`);
    return { kind: 'unsigned', value: v };
  }
  if (TRUE.has(text)) return { kind: 'boolean', value: true };
  if (FALSE.has(text)) return { kind: 'boolean', value: false };
  if (FLOAT.test(text)) {
    const v = Number(text);
    if (!Number.isFinite(v)) fail(`field ${JSON.stringify(key)}: float ${text} is outside the 64-bit float range`);
    return { kind: 'float', value: v };
  }
  return fail(`field ${JSON.stringify(key)}: ${JSON.stringify(text)} is not a float, integer (i), unsigned (u), boolean or string`);
}

function parseTags(c: Cursor): [string, string][] {
  const tags: [string, string][] = [];
  while (c.ch() === ',') {
    c.i++;
    const key = c.token('=, ', ',= ');
    if (c.ch() !== '=') fail(`tag ${JSON.stringify(key)} has no "=value"`);
    c.i++;
    const value = c.token(', ', ',= ');
    if (key === '') fail('a tag key is empty');
    if (value === '') fail(`tag ${JSON.stringify(key)} has an empty value`);
    if (tags.some(([k]) => k === key)) fail(`tag ${JSON.stringify(key)} appears twice`);
    tags.push([key, value]);
  }
  return tags;
}

function parseFields(c: Cursor): Field[] {
  const fields: Field[] = [];
  for (let first = true; first || c.ch() === ','; first = false) {
    if (!first) c.i++;
    const key = c.token('= ,', ',= ');
    if (key === '') fail('a field key is empty');
    if (c.ch() !== '=') fail(`field ${JSON.stringify(key)} has no "=value"`);
    c.i++;
    if (fields.some((f) => f.key === key)) fail(`field ${JSON.stringify(key)} appears twice`);
    fields.push({ key, value: parseFieldValue(c, key) });
  }
  return fields;
}

function parseTimestamp(c: Cursor): bigint | null {
  while (c.ch() === ' ') c.i++;
  if (c.done) return null;
  const text = c.s.slice(c.i).trimEnd();
  if (!/^-?\d+$/.test(text)) fail(`the timestamp ${JSON.stringify(text)} is not an integer`);
  return BigInt(text);
}

/** One line (without its line break); null for an empty or comment line. */
export function parseLine(text: string): ParsedLine {
  const s = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (s.trim() === '' || s.trimStart().startsWith('#')) return null;
  const c = new Cursor(s);
  try {
    const measurement = c.token(', ', ', ');
    if (measurement === '') fail('the measurement is empty');
    const tags = parseTags(c);
    if (c.ch() !== ' ') fail('expected a space and the fields after the measurement and tags');
    while (c.ch() === ' ') c.i++;
    if (c.done) fail('the line has no fields');
    const fields = parseFields(c);
    if (!c.done && c.ch() !== ' ') fail(`unexpected ${JSON.stringify(c.ch())} after the fields`);
    return { ok: true, line: { measurement, tags, fields, timestamp: parseTimestamp(c) } };
  } catch (err) {
    if (err instanceof LineError) return { ok: false, reason: err.message };
    throw err;
  }
}
