import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { allows, type Scope } from '../../lib/config/tokens';
import { apiError, sendError, type ApiError } from '../errors';

/** What bearer authentication leaves in c.var: the scopes of the request's token (every scope when the API has no tokens). */
export interface ScopeEnv {
  Variables: { scopes: readonly Scope[] };
}

/**
 * The 403 for a token without `needed`, naming the scope and what needs it;
 * null when the token has it. A request that never passed authentication has
 * no scopes and is refused: deny by default.
 */
export function scopeRefusal(c: Context<ScopeEnv>, needed: Scope, what: string): ApiError | null {
  const scopes = c.var.scopes ?? [];
  if (allows(scopes, needed)) return null;
  return apiError(
    403,
    'forbidden',
    `${what} needs a token with the ${needed} scope; this token has ${scopes.length > 0 ? scopes.join(', ') : 'none'} ` +
      `(scopes follow the secret in HERODOTUS_API_TOKENS, e.g. <secret>@${needed})`,
    'authorization',
  );
}

/** Lets the request through only with a token allowed `needed`, else answers 403 naming it. */
export function needs(needed: Scope) {
  return createMiddleware<ScopeEnv>(async (c, next) => {
    const refusal = scopeRefusal(c, needed, `${c.req.method} ${c.req.path}`);
    if (refusal) return sendError(c, refusal);
    await next();
  });
}
