// The toolbar and forms wired to the viewer: range presets, the free range,
// live mode, earlier/later/zoom out, including uncertain and bad points, the
// token form, and a chart that follows the width of the window.
import { view } from './chart.js';
import { els } from './elements.js';
import { fromInput } from './format.js';
import { requery } from './lens.js';
import { showMessage } from './message.js';
import { preset, setLive, setRange, shift, zoomBy } from './range.js';
import { loadSensors, renderList } from './sensors.js';
import { state, TOKEN_KEY } from './state.js';

const PRESETS = [
  ['10 s', 10_000],
  ['1 min', 60_000],
  ['1 h', 3_600_000],
  ['1 day', 86_400_000],
  ['30 days', 30 * 86_400_000],
];

let resizeTimer = null;

export function attachControls() {
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
  els.anyQuality.addEventListener('change', () => {
    state.quality = els.anyQuality.checked ? 'any' : 'good';
    requery();
  });
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
    const chart = view.chart;
    if (!chart || width === chart.width) return;
    chart.setSize({ width, height: chart.height });
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(requery, 300); // a wider chart deserves more buckets
  }).observe(els.chart);
}
