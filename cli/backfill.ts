import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { loadConfig } from '../lib/config/config';
import { tokenFor, type Scope } from '../lib/config/tokens';
import type { BackfillProgress } from '../workflows/backfill';
import { parseOptions, UsageError } from '../lib/config/args';

const HELP = `usage: herodotus backfill <kind> [options]

  generate  --sensors 1-10 --from T --to T [--rate 1000] [--seed 1]
            synthetic history written straight into storage (month-scale demos)
  import    --file PATH --format csv|influx [--precision ns|us|ms|s] [--upload]
            a CSV (header: sensor,ts,value) or InfluxDB line-protocol file
            (sensor=<id> tag, value field); --upload sends it in the request,
            otherwise the server reads PATH itself (only inside its
            HERODOTUS_IMPORT_DIR; relative paths are taken from there)
  recompact --sensors 1-10 --from T --to T
            rewrite the rollups of a range from raw
  status    --id ID

T is epoch ms or ISO 8601 with a zone. Common options: --api URL (default the
local API), --json (print the final state as one JSON line), --no-wait.`;

const sensorsArg = z.string().transform((s, ctx) => {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `expected ids like 1-10 or 1,4,7, got ${JSON.stringify(part)}` });
      return z.NEVER;
    }
    const a = Number(m[1]);
    const b = Number(m[2] ?? m[1]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
});
const instantArg = z.string().transform((s) => (/^\d+$/.test(s) ? Number(s) : s));

const OPTIONS = {
  sensors: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  file: { type: 'string' },
  format: { type: 'string' },
  precision: { type: 'string' },
  upload: { type: 'boolean' },
  id: { type: 'string' },
  api: { type: 'string' },
  json: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
} as const;

const common = { api: z.string().url().optional(), json: z.boolean().default(false), 'no-wait': z.boolean().default(false) };
const SCHEMAS = {
  generate: z.object({
    ...common,
    sensors: sensorsArg,
    from: instantArg,
    to: instantArg,
    rate: z.coerce.number().int().default(1000),
    seed: z.coerce.number().int().default(1),
  }),
  import: z.object({
    ...common,
    file: z.string(),
    format: z.enum(['csv', 'influx']),
    precision: z.enum(['ns', 'us', 'ms', 's']).default('ns'),
    upload: z.boolean().default(false),
  }),
  recompact: z.object({ ...common, sensors: sensorsArg, from: instantArg, to: instantArg }),
  status: z.object({ ...common, id: z.string() }),
};

/** The first of HERODOTUS_API_TOKENS with the scope the request needs, sent as a bearer token when the server needs one. */
let token: string | undefined;

async function call(url: string, init?: RequestInit & { duplex?: 'half' }): Promise<unknown> {
  const headers = new Headers(init?.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(url, { ...init, headers });
  const body = (await res.json()) as { error?: { message: string } };
  if (!res.ok) throw new UsageError(`${res.status}: ${body.error?.message ?? JSON.stringify(body)}`);
  return body;
}

function bar(p: BackfillProgress): string {
  const width = 30;
  const frac = p.total > 0 ? p.done / p.total : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} ${p.unit} · ${p.stage} · ${p.inserted.toLocaleString('en')} points stored${p.rejected ? ` · ${p.rejected} rejected` : ''}`;
}

/** Generating and uploads write; importing a server file and recompacting need admin; status reads. */
function neededScope(kind: string, upload: boolean): Scope {
  if (kind === 'status') return 'read';
  return kind === 'generate' || (kind === 'import' && upload) ? 'write' : 'admin';
}

export async function backfill(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (!kind || !(kind in SCHEMAS)) throw new UsageError(`expected generate, import, recompact or status\n\n${HELP}`);
  const args = parseOptions(rest, OPTIONS, SCHEMAS[kind as keyof typeof SCHEMAS] as z.ZodObject, HELP) as Record<string, unknown>;
  const config = loadConfig();
  token = tokenFor(config.http.apiTokens, neededScope(kind, args.upload === true));
  const api = (args.api as string | undefined) ?? `http://${config.http.host}:${config.http.port}`;
  let id = args.id as string | undefined;
  if (kind !== 'status') {
    let started: { id: string };
    if (kind === 'import' && args.upload) {
      const size = (await stat(args.file as string)).size;
      process.stderr.write(`backfill: uploading ${(size / 1e6).toFixed(1)} MB…\n`);
      started = (await call(`${api}/v1/backfill?precision=${args.precision}`, {
        method: 'POST',
        headers: { 'content-type': args.format === 'csv' ? 'text/csv' : 'text/plain' },
        body: Readable.toWeb(createReadStream(args.file as string)) as unknown as RequestInit['body'],
        duplex: 'half',
      })) as { id: string };
    } else {
      const body =
        kind === 'generate'
          ? { kind, sensors: args.sensors, from: args.from, to: args.to, rate_hz: args.rate, seed: args.seed }
          : kind === 'import'
            ? { kind, format: args.format, path: args.file, precision: args.precision }
            : { kind, sensors: args.sensors, from: args.from, to: args.to };
      started = (await call(`${api}/v1/backfill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })) as { id: string };
    }
    id = started.id;
    process.stderr.write(`backfill: started ${id} (Temporal workflow backfill:${id})\n`);
  }
  let state: { state: string; progress: BackfillProgress };
  for (;;) {
    state = (await call(`${api}/v1/backfill/${id}`)) as typeof state;
    if (process.stderr.isTTY) process.stderr.write(`\r${bar(state.progress)}`);
    if (state.state !== 'running' || args['no-wait']) break;
    await sleep(1000);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  if (args.json) process.stdout.write(`${JSON.stringify({ id, ...state })}\n`);
  else
    process.stdout.write(
      `backfill ${id}: ${state.state} — ${bar(state.progress)}\n${state.progress.examples.map((e) => `  rejected: ${e}\n`).join('')}` +
        (state.progress.error ? `  failed: ${state.progress.error}\n` : ''),
    );
  return state.state === 'completed' || state.state === 'running' ? 0 : 1;
}
