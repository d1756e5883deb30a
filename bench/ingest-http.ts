import http from 'node:http';
import type { HerodotusApi } from '../harness/verify/api-client';

/** GET with a timeout of our choosing: fetch gives up on headers after 300 s, and an audit of raw can take longer. */
export function getJson<T>(api: HerodotusApi, path: string, timeoutMs: number): Promise<T> {
  const url = `${api.baseUrl}${path}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: api.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 500)}`));
        else resolve(JSON.parse(body) as T);
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
