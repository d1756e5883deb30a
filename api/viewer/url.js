// The view in the address: #sensors=1,2&from=…&to=… (or live=<span ms>),
// and quality=any when uncertain and bad points are averaged in; written
// after every change and read once at start, so a link reopens it.
import { els } from './elements.js';
import { toInput } from './format.js';
import { MAX_SENSORS, state } from './state.js';

export function updateHash() {
  const p = new URLSearchParams();
  if (state.picked.length) p.set('sensors', state.picked.join(','));
  if (state.from !== null && !state.live) {
    p.set('from', String(state.from));
    p.set('to', String(state.to));
  }
  if (state.live) p.set('live', String(state.to - state.from));
  if (state.quality === 'any') p.set('quality', 'any');
  history.replaceState(null, '', `#${p}`);
}

export function restoreHash() {
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
  // Series by name: #series=a,b or ?series=a&series=b (the README's links), picked once the catalog is loaded.
  const query = new URLSearchParams(location.search).getAll('series');
  state.pendingNames = [...(p.get('series') || '').split(',').filter(Boolean), ...query];
  const live = Number(p.get('live'));
  if (live > 0) {
    state.from = Date.now() - live;
    state.to = Date.now();
    state.live = true;
    els.live.checked = true;
  }
  if (p.get('quality') === 'any') {
    state.quality = 'any';
    els.anyQuality.checked = true;
  }
}
