import { z } from 'zod';
import { loadConfig } from '../lib/config/config';
import { tokenFor } from '../lib/config/tokens';
import { runUserLoad } from '../harness/load/users';
import { formatUserLoad } from '../harness/load/users-report';
import { parseOptions } from '../lib/config/args';

const HELP = `usage: herodotus query-load [--users N] [--duration S] [--api URL] [--think MS] [--verify-fraction F] [--token T] [--json]

N virtual users explore lenses like people: each opens a preset (10 s, 1 min,
1 h, 1 day, 30 days) for 1–10 sensors listed by GET /v1/sensors, then zooms
in, pans and zooms out, re-querying at the new range with about a screen width
of points, thinking in between. Reports requests/s, latency p50/p90/p99/max,
errors by kind (HTTP status, network, timeout), and checks a sampled fraction
of answers against the same lens aggregated from raw (source=raw): mismatches
are reported with examples. Exit code 1 on errors or mismatches.

  --users N             virtual users, default 100
  --duration S          seconds, default 60
  --api URL             default http://HERODOTUS_HOST:HERODOTUS_PORT
  --think MS            mean think time between a user's requests, default 1000
  --verify-fraction F   fraction of answers checked against raw, 0–1, default 0.05
  --token T             bearer token (default: the first of HERODOTUS_API_TOKENS with
                        the read scope, or admin when answers are verified)
  --max-requests N      stop after this many lens requests, default 1000000
  --json                last line of stdout is the report as one JSON object`;

const schema = z.object({
  users: z.coerce.number().int().min(1).max(10_000).default(100),
  duration: z.coerce.number().min(1).max(86_400).default(60),
  api: z.url().optional(),
  think: z.coerce.number().min(0).max(600_000).default(1000),
  'verify-fraction': z.coerce.number().min(0).max(1).default(0.05),
  token: z.string().min(1).optional(),
  'max-requests': z.coerce.number().int().min(1).max(1e9).default(1_000_000),
  json: z.boolean().default(false),
});

export async function queryLoad(argv: string[]): Promise<number> {
  const args = parseOptions(
    argv,
    {
      users: { type: 'string' },
      duration: { type: 'string' },
      api: { type: 'string' },
      think: { type: 'string' },
      'verify-fraction': { type: 'string' },
      token: { type: 'string' },
      'max-requests': { type: 'string' },
      json: { type: 'boolean' },
    },
    schema,
    HELP,
  );
  const config = loadConfig();
  const baseUrl = (args.api ?? `http://${config.http.host}:${config.http.port}`).replace(/\/$/, '');
  process.stderr.write(`query-load: ${args.users} users against ${baseUrl} for ${args.duration} s…\n`);
  const report = await runUserLoad({
    baseUrl,
    users: args.users,
    durationS: args.duration,
    thinkMs: args.think,
    verifyFraction: args['verify-fraction'],
    token: args.token ?? tokenFor(config.http.apiTokens, args['verify-fraction'] > 0 ? 'admin' : 'read'),
    maxRequests: args['max-requests'],
    onSecond: (s) => {
      if (s.t_s % 5 === 0)
        process.stderr.write(`query-load: ${s.t_s} s: ${s.requests} req/s, p50 ${s.p50_ms} ms, p99 ${s.p99_ms} ms, ${s.errors} errors\n`);
    },
  });
  process.stdout.write(
    `\nHerodotus query load — ${baseUrl}\n${formatUserLoad(report)}\n  result      ${report.errors === 0 && report.mismatches === 0 ? 'OK' : 'FAILED'}\n\n`,
  );
  if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  return report.errors === 0 && report.mismatches === 0 ? 0 : 1;
}
