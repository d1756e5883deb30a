// Asking GET /v1/lens for the picked sensors over the range, one bucket per
// pixel of chart width; a newer query aborts and outdates an older one.
// The last lens is on window.__lens ({seq, query, url, response, ms}),
// announced by a 'lens' event; a failed one on window.__lensError.
import { apiLens } from './api.js';
import { draw, view } from './chart.js';
import { els } from './elements.js';
import { duration } from './format.js';
import { showError, showMessage } from './message.js';
import { scheduleLive } from './range.js';
import { state } from './state.js';
import { updateHash } from './url.js';

const MAX_POINTS = 10000;

let inflight = null;

function pointsForWidth() {
  const width = view.chart ? view.chart.bbox.width / devicePixelRatio : els.chart.clientWidth - 60;
  return Math.max(10, Math.min(MAX_POINTS, Math.round(width)));
}

export async function requery() {
  updateHash();
  if (state.picked.length === 0 || state.from === null) return;
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  const seq = ++state.seq;
  const query = { sensors: [...state.picked], from: state.from, to: state.to, points: pointsForWidth(), quality: state.quality };
  // quality=good is the server's default: the usual URL stays as it was.
  const quality = query.quality === 'any' ? '&quality=any' : '';
  const url = `/v1/lens?sensors=${query.sensors.join(',')}&from=${query.from}&to=${query.to}&points=${query.points}${quality}`;
  document.body.dataset.state = 'loading';
  const t0 = performance.now();
  try {
    const { body, serverMs } = await apiLens(url, controller.signal);
    if (seq !== state.seq) return;
    const ms = performance.now() - t0;
    draw(body);
    showMessage('');
    els.tokenForm.hidden = true;
    showPlan(body, ms, serverMs);
    window.__lens = { seq, query, url, response: body, ms };
    document.body.dataset.state = 'ready';
    window.dispatchEvent(new CustomEvent('lens', { detail: window.__lens }));
  } catch (err) {
    if (err.name === 'AbortError' || seq !== state.seq) return;
    document.body.dataset.state = 'error';
    window.__lensError = { seq, query, status: err.status, code: err.code, message: err.message };
    showError(err);
  } finally {
    if (seq === state.seq) {
      inflight = null;
      scheduleLive();
    }
  }
}

function showPlan(body, ms, serverMs) {
  const p = body.plan;
  const level = p.level_ms === null ? 'raw points only' : `${duration(p.level_ms)} rollups`;
  const raw = p.raw_windows ? ` + ${p.raw_windows} raw window${p.raw_windows === 1 ? '' : 's'}` : '';
  const server = serverMs === null ? '' : ` (server ${Math.round(serverMs)} ms)`;
  els.plan.textContent = `${body.sensors[0]?.t.length ?? 0} buckets of ${duration(body.step_ms)} · from ${level}${raw} · ${p.rows_read.toLocaleString('en')} rows read · ${Math.round(ms)} ms${server}`;
  els.plan.title = JSON.stringify(p);
}
