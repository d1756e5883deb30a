// Herodotus lens viewer: plain ES module, no build step. Picks up to 10
// sensors, asks GET /v1/lens for as many buckets as the chart is wide, and
// draws each sensor's avg line over its min/max band with uPlot. Zooming,
// panning and live mode re-query the lens at the new resolution.
//
// For tests and debugging, the last lens is on window.__lens
// ({seq, query, url, response, ms}) and the controls on window.__viewer.
import uPlot from '/vendor/uplot/uPlot.esm.js';

const MAX_SENSORS = 10;
const MAX_POINTS = 10000;
const PRESETS = [
  ['10 s', 10_000],
  ['1 min', 60_000],
  ['1 h', 3_600_000],
  ['1 day', 86_400_000],
  ['30 days', 30 * 86_400_000],
];
const COLORS = ['#2f6fb5', '#d9480f', '#2b8a3e', '#862e9c', '#c2255c', '#0b7285', '#e67700', '#5f3dc4', '#5c940d', '#495057'];
const MIN_SPAN_MS = 10;
const TOKEN_KEY = 'herodotus.token';

const $ = (id) => document.getElementById(id);
const els = {
  search: $('search'),
  list: $('sensor-list'),
  hint: $('list-hint'),
  picked: $('picked'),
  count: $('pick-count'),
  presets: $('presets'),
  from: $('from'),
  to: $('to'),
  range: $('range'),
  live: $('live'),
  back: $('back'),
  forward: $('forward'),
  zoomOut: $('zoom-out'),
  message: $('message'),
  tokenForm: $('token-form'),
  token: $('token'),
  chart: $('chart'),
  empty: $('empty'),
  legend: $('legend'),
  plan: $('plan'),
};

const state = {
  /** Sensors with data, from GET /v1/sensors. */
  sensors: [],
  /** Picked sensor ids, in the order picked (colors follow it). */
  picked: [],
  from: null,
  to: null,
  live: false,
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  seq: 0,
};

let chart = null;
/** The x range the chart was last set to by the viewer itself: a setScale to anything else is the user's. */
let shownRange = null;
let inflight = null;
let liveTimer = null;

// ----------------------------------------------------------------- API ---

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

async function api(path, signal) {
  const headers = state.token ? { authorization: `Bearer ${state.token}` } : {};
  let res;
  try {
    res = await fetch(path, { headers, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Cannot reach the Herodotus server. Check that it is running, then try again.');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = body && body.error;
    throw new ApiError(
      res.status,
      e ? e.code : 'http_' + res.status,
      e ? e.message : `The server answered ${res.status} ${res.statusText}.`,
      e && e.field,
    );
  }
  return { body, serverMs: serverTiming(res) };
}

function serverTiming(res) {
  const m = /dur=([\d.]+)/.exec(res.headers.get('server-timing') || '');
  return m ? Number(m[1]) : null;
}

/** An error as a sentence a person can act on. */
function plainWords(err) {
  if (err.status === 401) return 'This server needs an API token. Paste one below (it stays in this browser tab only).';
  if (err.status === 0) return err.message;
  if (err.code === 'unknown_sensor') return `There is no data for that sensor: ${err.message}.`;
  if (err.status === 400) return `The server did not accept the request: ${err.message}.`;
  if (err.status === 504 || err.code === 'query_timeout') return `The query took too long and was stopped: ${err.message}.`;
  if (err.status === 503) return `The server is not ready yet (${err.message}). It will be tried again shortly.`;
  if (err.status >= 500) return `The server failed to answer (${err.message}). Try again; if it persists, see the server log.`;
  return err.message;
}

function showMessage(text, kind = 'error') {
  els.message.textContent = text;
  els.message.className = kind === 'info' ? 'info' : '';
  els.message.hidden = !text;
}

function showError(err) {
  showMessage(plainWords(err));
  els.tokenForm.hidden = err.status !== 401;
  if (err.status === 401) els.token.focus();
  if (err.status === 503) setTimeout(() => (state.picked.length ? requery() : loadSensors()), 3000);
}

// ------------------------------------------------------------- formats ---

const pad = (n, w = 2) => String(n).padStart(w, '0');

function utc(ms, withMs = true) {
  const d = new Date(ms);
  const s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return withMs && d.getUTCMilliseconds() ? `${s}.${pad(d.getUTCMilliseconds(), 3)}` : s;
}

/** Value for a datetime-local input, read as UTC. */
const toInput = (ms) => new Date(ms).toISOString().slice(0, 23);
const fromInput = (v) => (v ? Date.parse(v.length === 16 ? `${v}:00Z` : `${v}Z`) : NaN);

function duration(ms) {
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  for (const [name, size] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${name}`;
  for (const [name, size] of units) if (ms >= size) return `${(ms / size).toFixed(1)} ${name}`;
  return `${ms} ms`;
}

const num = (n) =>
  n === null || n === undefined
    ? '–'
    : Math.abs(n) >= 1e5 || (Math.abs(n) < 1e-3 && n !== 0)
      ? n.toExponential(3)
      : Number(n.toPrecision(6)).toString();
const color = (sensor) => COLORS[state.picked.indexOf(sensor) % COLORS.length];

// ------------------------------------------------------------- sensors ---

async function loadSensors() {
  try {
    const { body } = await api('/v1/sensors');
    state.sensors = body;
    showMessage('');
    els.tokenForm.hidden = true;
    renderList();
    if (state.picked.length) pick(state.picked);
  } catch (err) {
    showError(err);
  }
}

function renderList() {
  const q = els.search.value.trim();
  const matches = state.sensors.filter((s) => q === '' || String(s.sensor).includes(q));
  const shown = matches.slice(0, 200);
  els.list.replaceChildren(
    ...shown.map((s) => {
      const li = document.createElement('li');
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.dataset.sensor = String(s.sensor);
      box.checked = state.picked.includes(s.sensor);
      box.disabled = !box.checked && state.picked.length >= MAX_SENSORS;
      box.addEventListener('change', () => toggle(s.sensor));
      const name = document.createElement('span');
      name.textContent = `sensor ${s.sensor}`;
      const extent = document.createElement('span');
      extent.className = 'extent';
      extent.textContent = `${s.points.toLocaleString('en')} pts · ${utc(s.first, false)} → ${utc(s.last, false)}`;
      const text = document.createElement('span');
      text.append(name, document.createElement('br'), extent);
      label.append(box, text);
      li.append(label);
      return li;
    }),
  );
  els.hint.textContent =
    state.sensors.length === 0
      ? 'No sensor has data yet.'
      : matches.length === 0
        ? `No sensor id contains “${q}”.`
        : matches.length > shown.length
          ? `${matches.length - shown.length} more — refine the search.`
          : state.picked.length >= MAX_SENSORS
            ? `At most ${MAX_SENSORS} sensors at once.`
            : '';
  els.count.textContent = `${state.picked.length}/${MAX_SENSORS}`;
  els.picked.replaceChildren(
    ...state.picked.map((id) => {
      const chip = document.createElement('button');
      chip.type = 'button';
      chip.className = 'chip';
      chip.title = `Remove sensor ${id}`;
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = color(id);
      chip.append(sw, `${id} ×`);
      chip.addEventListener('click', () => toggle(id));
      return chip;
    }),
  );
}

function toggle(sensor) {
  const i = state.picked.indexOf(sensor);
  if (i >= 0) state.picked.splice(i, 1);
  else if (state.picked.length < MAX_SENSORS) state.picked.push(sensor);
  renderList();
  pick(state.picked);
}

/** Replaces the picked sensors; a first pick shows the last hour of their data. */
function pick(ids) {
  state.picked = [...new Set(ids.map(Number))].slice(0, MAX_SENSORS);
  renderList();
  if (state.picked.length === 0) {
    destroyChart();
    updateHash();
    return;
  }
  if (state.from === null) {
    const end = latestData() ?? Date.now();
    setRange(end - 3_600_000, end);
  } else requery();
}

/** The end of the picked sensors' data: past their last stored timestamp, rounded up to a whole second. */
function latestData() {
  const last = state.sensors.filter((s) => state.picked.includes(s.sensor)).map((s) => s.last);
  return last.length ? Math.ceil((Math.max(...last) + 1) / 1000) * 1000 : null;
}

// --------------------------------------------------------------- range ---

function setRange(from, to, { keepLive = false } = {}) {
  from = Math.round(from);
  to = Math.round(to);
  if (!(from < to)) {
    showMessage('The start of the range must be before its end.');
    return;
  }
  if (to - from < MIN_SPAN_MS) {
    const mid = (from + to) / 2;
    from = Math.round(mid - MIN_SPAN_MS / 2);
    to = from + MIN_SPAN_MS;
  }
  if (!keepLive && state.live) setLive(false);
  state.from = from;
  state.to = to;
  els.from.value = toInput(from);
  els.to.value = toInput(to);
  highlightPreset();
  requery();
}

/** A preset span ending now (live) or where the view ends (else at the data's end). */
function preset(span) {
  const end = state.live ? Date.now() : (state.to ?? latestData() ?? Date.now());
  setRange(end - span, end, { keepLive: true });
}

function highlightPreset() {
  for (const b of els.presets.querySelectorAll('button')) b.classList.toggle('active', Number(b.dataset.span) === state.to - state.from);
}

function shift(fraction) {
  if (state.from === null) return;
  const d = (state.to - state.from) * fraction;
  setRange(state.from + d, state.to + d);
}

function zoomBy(factor, center = (state.from + state.to) / 2) {
  if (state.from === null) return;
  setRange(center - (center - state.from) * factor, center + (state.to - center) * factor);
}

function setLive(on) {
  state.live = on;
  els.live.checked = on;
  clearTimeout(liveTimer);
  if (on) {
    const span = state.from === null ? 60_000 : state.to - state.from;
    const now = Date.now();
    setRange(now - span, now, { keepLive: true });
  }
  updateHash();
}

/** Live mode moves the range to now once the last lens has arrived, at most once per bucket (1 s to 30 s). */
function scheduleLive() {
  clearTimeout(liveTimer);
  if (!state.live || state.from === null) return;
  const span = state.to - state.from;
  const every = Math.min(30_000, Math.max(1000, span / 200));
  liveTimer = setTimeout(() => {
    if (!state.live) return;
    const now = Date.now();
    setRange(now - span, now, { keepLive: true });
  }, every);
}

// ---------------------------------------------------------------- lens ---

function pointsForWidth() {
  const width = chart ? chart.bbox.width / devicePixelRatio : els.chart.clientWidth - 60;
  return Math.max(10, Math.min(MAX_POINTS, Math.round(width)));
}

async function requery() {
  updateHash();
  if (state.picked.length === 0 || state.from === null) return;
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  const seq = ++state.seq;
  const query = { sensors: [...state.picked], from: state.from, to: state.to, points: pointsForWidth() };
  const url = `/v1/lens?sensors=${query.sensors.join(',')}&from=${query.from}&to=${query.to}&points=${query.points}`;
  document.body.dataset.state = 'loading';
  const t0 = performance.now();
  try {
    const { body, serverMs } = await api(url, controller.signal);
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

// --------------------------------------------------------------- chart ---

function seriesOf(body) {
  const x = body.sensors[0]?.t ?? [];
  const data = [x];
  for (const s of body.sensors) data.push(s.min, s.max, s.avg);
  return data;
}

function chartOptions(sensors) {
  const series = [{}];
  const bands = [];
  for (const id of sensors) {
    const c = color(id);
    const base = series.length;
    series.push(
      { label: `${id} min`, stroke: c, width: 0, points: { show: false } },
      { label: `${id} max`, stroke: c, width: 0, points: { show: false } },
      { label: `sensor ${id}`, stroke: c, width: 1.5, points: { show: false, size: 5, fill: c, filter: isolated } },
    );
    bands.push({ series: [base + 1, base], fill: `${c}40` });
  }
  return {
    width: Math.max(300, els.chart.clientWidth),
    height: Math.max(260, Math.round(window.innerHeight * 0.58)),
    ms: 1,
    tzDate: (ts) => uPlot.tzDate(new Date(ts), 'Etc/UTC'),
    series,
    bands,
    legend: { show: false },
    scales: { x: { time: true } },
    axes: [{}, { size: 60 }],
    cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false } },
    hooks: {
      setScale: [(u, key) => key === 'x' && userScale(u)],
      setCursor: [(u) => renderLegend(u.cursor.idx)],
      ready: [(u) => attachGestures(u)],
    },
  };
}

/**
 * Buckets with data between two empty ones draw no line (buckets finer than
 * the sampling, or sparse data): they get a dot instead.
 */
function isolated(u, si) {
  const ys = u.data[si];
  const [i0, i1] = u.series[0].idxs ?? [0, ys.length - 1];
  const out = [];
  for (let i = i0; i <= i1; i++) if (ys[i] != null && ys[i - 1] == null && ys[i + 1] == null) out.push(i);
  return out.length ? out : null;
}

/** The chart's x range changed: by the viewer itself (ignore) or by a drag-zoom (query that range). */
function userScale(u) {
  const { min, max } = u.scales.x;
  if (min == null || max == null || panning) return;
  if (shownRange && Math.abs(min - shownRange[0]) < 1 && Math.abs(max - shownRange[1]) < 1) return;
  setRange(min, max);
}

function draw(body) {
  const sensors = body.sensors.map((s) => s.sensor);
  const same = chart && chart.series.length === 1 + 3 * sensors.length && chart.__sensors.join() === sensors.join();
  if (!same) {
    destroyChart();
    chart = new uPlot(chartOptions(sensors), seriesOf(body), els.chart);
    chart.__sensors = sensors;
  } else chart.setData(seriesOf(body), false);
  chart.__body = body;
  shownRange = [state.from, state.to];
  chart.setScale('x', { min: state.from, max: state.to });
  els.empty.hidden = true;
  renderLegend(null);
}

function destroyChart() {
  chart?.destroy();
  chart = null;
  shownRange = null;
  els.empty.hidden = false;
  els.legend.replaceChildren();
  els.plan.textContent = '';
}

function renderLegend(idx) {
  if (!chart?.__body) return;
  const body = chart.__body;
  els.legend.replaceChildren(
    ...body.sensors.map((s) => {
      const item = document.createElement('span');
      item.className = 'item';
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = color(s.sensor);
      const values = document.createElement('span');
      values.className = 'values';
      if (idx !== null && idx !== undefined && s.t[idx] !== undefined) {
        values.textContent = s.count[idx]
          ? `${utc(s.t[idx])} · avg ${num(s.avg[idx])} · min ${num(s.min[idx])} · max ${num(s.max[idx])} · ${s.count[idx].toLocaleString('en')} pts`
          : `${utc(s.t[idx])} · no data`;
      }
      item.append(sw, `sensor ${s.sensor}`, values);
      return item;
    }),
  );
}

// Shift-drag pans, the wheel zooms around the cursor, a double click zooms out.
let panning = null;
let wheelTimer = null;

function attachGestures(u) {
  const over = u.over;
  // Listening on the parent while capturing comes before uPlot's own handlers on the plot area.
  const wrap = over.parentNode;
  const timeAt = (clientX) => u.posToVal(clientX - over.getBoundingClientRect().left, 'x');
  wrap.addEventListener(
    'mousedown',
    (e) => {
      if (!e.shiftKey || !over.contains(e.target)) return;
      e.stopPropagation();
      e.preventDefault();
      panning = { x: e.clientX, from: state.from, to: state.to };
      const move = (ev) => {
        const perPx = (panning.to - panning.from) / over.clientWidth;
        const d = (panning.x - ev.clientX) * perPx;
        shownRange = [panning.from + d, panning.to + d];
        u.setScale('x', { min: shownRange[0], max: shownRange[1] });
      };
      const up = (ev) => {
        window.removeEventListener('mousemove', move);
        window.removeEventListener('mouseup', up);
        const perPx = (panning.to - panning.from) / over.clientWidth;
        const d = (panning.x - ev.clientX) * perPx;
        const p = panning;
        panning = null;
        if (Math.abs(d) >= 1) setRange(p.from + d, p.to + d);
      };
      window.addEventListener('mousemove', move);
      window.addEventListener('mouseup', up);
    },
    true,
  );
  over.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const center = timeAt(e.clientX);
      const factor = e.deltaY > 0 ? 1.25 : 0.8;
      const from = center - (center - shownRange[0]) * factor;
      const to = center + (shownRange[1] - center) * factor;
      shownRange = [from, to];
      u.setScale('x', { min: from, max: to });
      clearTimeout(wheelTimer);
      wheelTimer = setTimeout(() => setRange(shownRange[0], shownRange[1]), 250);
    },
    { passive: false },
  );
  wrap.addEventListener(
    'dblclick',
    (e) => {
      if (!over.contains(e.target)) return;
      e.stopPropagation();
      zoomBy(2, timeAt(e.clientX));
    },
    true,
  );
}

// ---------------------------------------------------------------- misc ---

function updateHash() {
  const p = new URLSearchParams();
  if (state.picked.length) p.set('sensors', state.picked.join(','));
  if (state.from !== null && !state.live) {
    p.set('from', String(state.from));
    p.set('to', String(state.to));
  }
  if (state.live) p.set('live', String(state.to - state.from));
  history.replaceState(null, '', `#${p}`);
}

function restoreHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const ids = (p.get('sensors') || '')
    .split(',')
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
  const from = Number(p.get('from'));
  const to = Number(p.get('to'));
  if (Number.isSafeInteger(from) && Number.isSafeInteger(to) && from < to) {
    state.from = from;
    state.to = to;
    els.from.value = toInput(from);
    els.to.value = toInput(to);
  }
  state.picked = ids.slice(0, MAX_SENSORS);
  const live = Number(p.get('live'));
  if (live > 0) {
    state.from = Date.now() - live;
    state.to = Date.now();
    state.live = true;
    els.live.checked = true;
  }
}

function init() {
  for (const [label, span] of PRESETS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.span = String(span);
    b.addEventListener('click', () => preset(span));
    els.presets.append(b);
  }
  els.search.addEventListener('input', renderList);
  els.range.addEventListener('submit', (e) => {
    e.preventDefault();
    const from = fromInput(els.from.value);
    const to = fromInput(els.to.value);
    if (Number.isNaN(from) || Number.isNaN(to)) return showMessage('Enter both the start and the end of the range.');
    if (!(from < to)) return showMessage('The start of the range must be before its end.');
    if (state.picked.length === 0) showMessage('Pick at least one sensor to show this range.', 'info');
    setRange(from, to);
  });
  els.live.addEventListener('change', () => setLive(els.live.checked));
  els.back.addEventListener('click', () => shift(-0.5));
  els.forward.addEventListener('click', () => shift(0.5));
  els.zoomOut.addEventListener('click', () => zoomBy(2));
  els.tokenForm.addEventListener('submit', (e) => {
    e.preventDefault();
    state.token = els.token.value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    els.token.value = '';
    loadSensors();
  });
  new ResizeObserver(() => {
    const width = Math.max(300, els.chart.clientWidth);
    if (!chart || width === chart.width) return;
    chart.setSize({ width, height: chart.height });
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(requery, 300); // a wider chart deserves more buckets
  }).observe(els.chart);

  restoreHash();
  renderList();
  highlightPreset();
  document.body.dataset.state = 'idle';
  loadSensors();
}
let resizeTimer = null;

window.__viewer = {
  pick,
  setRange: (from, to) => setRange(from, to),
  setLive,
  preset,
  chart: () => chart,
  state,
};

init();
