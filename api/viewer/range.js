// The time range shown: set it (which re-queries the lens), presets, moving
// and zooming, and live mode, which keeps the range ending now.
import { els } from './elements.js';
import { toInput } from './format.js';
import { showMessage } from './message.js';
import { latestData, state } from './state.js';
import { updateHash } from './url.js';

const MIN_SPAN_MS = 10;

let liveTimer = null;

/** What a new range sets off (the lens re-query); app.js wires it, so the range needs no lens. */
let rangeChanged = () => {};

export function onRangeChange(fn) {
  rangeChanged = fn;
}

export function setRange(from, to, { keepLive = false } = {}) {
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
  rangeChanged();
}

/** A preset span ending now (live) or where the view ends (else at the data's end). */
export function preset(span) {
  const end = state.live ? Date.now() : (state.to ?? latestData() ?? Date.now());
  setRange(end - span, end, { keepLive: true });
}

export function highlightPreset() {
  for (const b of els.presets.querySelectorAll('button')) b.classList.toggle('active', Number(b.dataset.span) === state.to - state.from);
}

export function shift(fraction) {
  if (state.from === null) return;
  const d = (state.to - state.from) * fraction;
  setRange(state.from + d, state.to + d);
}

export function zoomBy(factor, center = (state.from + state.to) / 2) {
  if (state.from === null) return;
  setRange(center - (center - state.from) * factor, center + (state.to - center) * factor);
}

export function setLive(on) {
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
export function scheduleLive() {
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
