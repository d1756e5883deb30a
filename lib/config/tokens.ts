import { z } from 'zod';

/**
 * What a bearer token may do:
 * - `read`: lenses, raw pages, the sensor list, ingest, compaction and backfill status;
 * - `write`: ingest, backfills that bring their own data (generate, uploads);
 * - `admin`: what reads or rewrites the server wholesale: imports of server
 *   files, recompaction, `/v1/audit`, lenses with `source=raw`. Admin includes read and write.
 */
export type Scope = 'read' | 'write' | 'admin';

export interface ApiToken {
  secret: string;
  scopes: Scope[];
}

/**
 * A token without `@scopes` gets read and write: what every token could do
 * before scopes, except the wholesale reads and server-side file access that
 * now need an explicit `@admin`.
 */
export const PLAIN_TOKEN_SCOPES: readonly Scope[] = ['read', 'write'];

/** Tokens are opaque strings; these bounds only keep typos (a stray space, an empty entry) out. */
const secret = z.string().regex(/^[\x21-\x7e]{16,512}$/, 'an API token is 16 to 512 printable ASCII characters without spaces');

const SCOPED = /^(.*)@((?:read|write|admin)(?:\+(?:read|write|admin))*)$/;

/**
 * HERODOTUS_API_TOKENS: comma-separated `secret` or `secret@scope+scope`
 * (e.g. `s3cret-reader-0001@read,s3cret-ops-000002@admin`). The scopes are
 * taken from after the last `@` only when that part names scopes, so a plain
 * secret may itself contain `@`.
 */
export function parseApiTokens(text: string): ApiToken[] | { error: string } {
  const tokens: ApiToken[] = [];
  for (const entry of text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)) {
    const m = SCOPED.exec(entry);
    const token: ApiToken = m
      ? { secret: m[1]!, scopes: [...new Set(m[2]!.split('+') as Scope[])] }
      : { secret: entry, scopes: [...PLAIN_TOKEN_SCOPES] };
    const ok = secret.safeParse(token.secret);
    if (!ok.success) return { error: ok.error.issues[0]!.message };
    tokens.push(token);
  }
  return tokens;
}

/** The same tokens as HERODOTUS_API_TOKENS text, scopes spelled out. */
export function formatApiTokens(tokens: ApiToken[]): string {
  return tokens.map((t) => `${t.secret}@${t.scopes.join('+')}`).join(',');
}

/** Whether a token with these scopes may do what `needed` covers (admin includes read and write). */
export function allows(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes(needed) || scopes.includes('admin');
}

/** The secret of the first token allowed `needed` (tools pick the token they send this way). */
export function tokenFor(tokens: ApiToken[], needed: Scope): string | undefined {
  return tokens.find((t) => allows(t.scopes, needed))?.secret;
}
