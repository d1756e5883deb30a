import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono, type Context } from 'hono';
import { PROJECT_ROOT } from '../../lib/config/config';
import { apiError, sendError } from '../errors';

const WEB_DIR = join(PROJECT_ROOT, 'api', 'viewer');
/** uPlot's dist folder, wherever npm put the package. */
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));

/** The viewer's ES modules: app.js, which index.html loads, imports the others. */
const MODULES = [
  'app.js',
  'api.js',
  'chart.js',
  'controls.js',
  'elements.js',
  'format.js',
  'gestures.js',
  'lens.js',
  'message.js',
  'range.js',
  'sensors.js',
  'state.js',
  'url.js',
];

/** The viewer's own files: URL path → file in api/viewer/ and its content type. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  ...Object.fromEntries(MODULES.map((file) => [`/${file}`, { file, type: 'text/javascript; charset=utf-8' }])),
};

/** Files served from node_modules/uplot/dist: the ES module and its stylesheet, nothing else. */
const VENDOR: Record<string, { file: string; type: string }> = {
  '/vendor/uplot/uPlot.esm.js': { file: 'uPlot.esm.js', type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot/uPlot.min.css': { file: 'uPlot.min.css', type: 'text/css; charset=utf-8' },
};

/** Paths of the viewer that need no API token (the data it loads does). */
export const VIEWER_PATHS = new Set(Object.keys(FILES));

/** Everything from this origin, nothing inline but styles uPlot sets on its elements. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

async function send(c: Context, path: string, type: string) {
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch {
    return sendError(c, apiError(404, 'not_found', `the viewer file ${c.req.path} is missing from this installation`));
  }
  return c.body(new Uint8Array(body), 200, {
    'content-type': type,
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
}

/**
 * GET /: the web lens viewer, plain ES modules from api/viewer/ (no build step) and
 * uPlot straight from its npm package.
 */
export function viewerRoutes() {
  const app = new Hono();
  for (const [path, f] of Object.entries(FILES)) app.get(path, (c) => send(c, join(WEB_DIR, f.file), f.type));
  for (const [path, f] of Object.entries(VENDOR)) app.get(path, (c) => send(c, join(UPLOT_DIR, f.file), f.type));
  return app;
}
