import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** An error as the API returns it: a status and `{error: {code, message, field}}`. */
export interface ApiError {
  status: ContentfulStatusCode;
  code: string;
  message: string;
  field?: string;
}

export function apiError(status: ContentfulStatusCode, code: string, message: string, field?: string): ApiError {
  return { status, code, message, field };
}

export function sendError(c: Context, err: ApiError) {
  return c.json({ error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } }, err.status);
}
