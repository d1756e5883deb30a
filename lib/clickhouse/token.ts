import { createHash } from 'node:crypto';

/** Deterministic insert token: the same rows give the same token. */
export function contentToken(prefix: string, parts: ArrayBufferView[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return `${prefix}-${hash.digest('hex').slice(0, 32)}`;
}
