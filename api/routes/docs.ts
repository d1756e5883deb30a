import { Hono } from 'hono';
import { openApiDocument, type OpenApiOptions } from '../openapi';

export type DocsRouteDeps = OpenApiOptions;

// biome-ignore lint/suspicious/noExplicitAny: walks the OpenAPI document this process built, whose shape openapi.ts owns
type Json = Record<string, any>;

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** `code` spans for backquoted words, everything else escaped. */
const prose = (s: unknown) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

/** A one-line type for tables: string, integer, enum values, nullable… */
function typeOf(schema: Json | undefined): string {
  if (!schema) return '';
  if (schema.$ref) return String(schema.$ref).split('/').pop()!;
  if (schema.enum) return schema.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' | ');
  if (schema.type === 'array') return `${typeOf(schema.items)}[]`;
  const extra = schema.pattern ? ` /${schema.pattern}/` : '';
  return `${schema.type ?? 'any'}${extra}`;
}

function schemaBlock(label: string, schema: Json | undefined): string {
  if (!schema) return '';
  return `<details><summary>${esc(label)}</summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>`;
}

function operation(method: string, path: string, op: Json): string {
  const params = (op.parameters ?? []) as Json[];
  const body = op.requestBody?.content as Record<string, Json> | undefined;
  const open = op.security && op.security.length === 0;
  return `<section class="op" id="${esc(`${method}-${path}`)}">
  <h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code>${open ? ' <span class="public">no token</span>' : ''}</h3>
  <p>${prose(op.summary)}</p>${op.description ? `<p class="desc">${prose(op.description)}</p>` : ''}
  ${
    params.length
      ? `<table><thead><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>${params
          .map(
            (p) =>
              `<tr><td><code>${esc(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ''}</td><td>${esc(p.in)}</td><td><code>${esc(typeOf(p.schema))}</code></td><td>${prose(p.description)}${p.example !== undefined ? ` <span class="ex">e.g. <code>${esc(p.example)}</code></span>` : ''}</td></tr>`,
          )
          .join('')}</tbody></table>`
      : ''
  }
  ${
    body
      ? `<h4>Request body</h4>${Object.entries(body)
          .map(([type, c]) => schemaBlock(type, c.schema))
          .join('')}`
      : ''
  }
  <h4>Responses</h4><ul class="responses">${Object.entries(op.responses as Record<string, Json>)
    .map(([status, r]) => {
      const content = r.content ? (Object.entries(r.content as Record<string, Json>)[0] as [string, Json]) : null;
      return `<li><span class="status s${esc(status[0])}">${esc(status)}</span> ${prose(r.description)}${content ? schemaBlock(content[0], content[1].schema) : ''}</li>`;
    })
    .join('')}</ul>
</section>`;
}

/** Renders the OpenAPI document as one self-contained HTML page (no scripts, no CDN). */
export function renderDocs(doc: Json): string {
  const paths = Object.entries(doc.paths as Record<string, Record<string, Json>>);
  const ops = paths.flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const toc = ops
    .map(
      (o) =>
        `<li><a href="#${esc(`${o.method}-${o.path}`)}"><span class="method ${esc(o.method)}">${esc(o.method.toUpperCase())}</span> ${esc(o.path)}</a></li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} API</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f7f8fa;display:grid;grid-template-columns:18rem 1fr}
nav{position:sticky;top:0;height:100vh;overflow:auto;background:#fff;border-right:1px solid #dde2ea;padding:1rem}
nav ul{list-style:none;padding:0;margin:0}nav li{margin:.2rem 0}nav a{color:inherit;text-decoration:none;font-size:13px}
main{padding:1.5rem 2rem;max-width:60rem}h1{margin-top:0}code{font:13px ui-monospace,monospace;background:#eef1f5;padding:0 .25rem;border-radius:3px}
.op{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}.op h3{margin:.4rem 0}
.method{display:inline-block;min-width:3.3rem;text-align:center;font:600 11px ui-monospace,monospace;border-radius:3px;padding:.1rem .3rem;color:#fff;background:#5b6b82}
.method.get{background:#2f6fb5}.method.post{background:#2e8b57}.public{font-size:12px;color:#6b7686}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-bottom:1px solid #e6e9ef;padding:.3rem .4rem;text-align:left;vertical-align:top}
.req{color:#b3261e;font-size:12px}.ex{color:#6b7686;font-size:13px}.desc{color:#3c4656}
pre{background:#0f1720;color:#e5edf5;padding:.6rem;border-radius:4px;overflow:auto;font-size:12px;max-height:28rem}
.status{font:600 12px ui-monospace,monospace;padding:.05rem .3rem;border-radius:3px;background:#e6e9ef}.s2{background:#d7f0de}.s4{background:#fbe3c8}.s5{background:#f6d1cf}
ul.responses{list-style:none;padding:0}ul.responses li{margin:.3rem 0}details summary{cursor:pointer;color:#2f6fb5;font-size:13px}
</style></head>
<body><nav><strong>${esc(doc.info.title)} ${esc(doc.info.version)}</strong><p><a href="/openapi.json">openapi.json</a> · <a href="/">viewer</a></p><ul>${toc}</ul></nav>
<main><h1>${esc(doc.info.title)} HTTP API</h1><p>${prose(doc.info.summary)}</p><p>${prose(doc.info.description)}</p>
${ops.map((o) => operation(o.method, o.path, o.op)).join('\n')}
<h2>Error</h2>${schemaBlock('schema', doc.components.schemas.Error)}
</main></body></html>`;
}

/** GET /openapi.json (OpenAPI 3.1, generated from the zod schemas) and GET /docs (that document as a page). */
export function docsRoutes(opts: DocsRouteDeps) {
  const doc = openApiDocument(opts);
  const html = renderDocs(doc);
  return new Hono()
    .get('/openapi.json', (c) => c.json(doc))
    .get('/docs', (c) =>
      c.html(html, 200, {
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
      }),
    );
}
