// The sidebar: the sensors with data (searchable), the picked ones as chips,
// and picking, which starts the chart at the last hour of their data.
import { api } from './api.js';
import { destroyChart } from './chart.js';
import { els } from './elements.js';
import { utc } from './format.js';
import { requery } from './lens.js';
import { showError, showMessage } from './message.js';
import { setRange } from './range.js';
import { color, label, latestData, MAX_SENSORS, state } from './state.js';
import { updateHash } from './url.js';

export async function loadSensors() {
  try {
    const [{ body }, catalog] = await Promise.all([api('/v1/sensors'), api('/v1/series')]);
    state.sensors = body;
    state.series = new Map(catalog.body.series.map((s) => [s.id, s]));
    const byName = new Map(catalog.body.series.map((s) => [s.name, s.id]));
    const named = state.pendingNames.map((n) => byName.get(n)).filter((id) => id !== undefined);
    state.pendingNames = [];
    state.picked = [...state.picked, ...named];
    showMessage('');
    els.tokenForm.hidden = true;
    renderList();
    if (state.picked.length) pick(state.picked);
  } catch (err) {
    showError(err);
  }
}

export function renderList() {
  const q = els.search.value.trim();
  const matches = state.sensors.filter((s) => q === '' || searchText(s.sensor).includes(q.toLowerCase()));
  const shown = matches.slice(0, 200);
  els.list.replaceChildren(...shown.map(sensorItem));
  els.hint.textContent =
    state.sensors.length === 0
      ? 'No sensor has data yet.'
      : matches.length === 0
        ? `No sensor id, series name, asset or tag contains “${q}”.`
        : matches.length > shown.length
          ? `${matches.length - shown.length} more — refine the search.`
          : state.picked.length >= MAX_SENSORS
            ? `At most ${MAX_SENSORS} sensors at once.`
            : '';
  els.count.textContent = `${state.picked.length}/${MAX_SENSORS}`;
  els.picked.replaceChildren(...state.picked.map(pickedChip));
}

/** What the search box looks in: the id, and for a named series its name, unit, asset and tags. */
function searchText(id) {
  const s = state.series.get(id);
  if (!s) return String(id);
  const tags = Object.entries(s.tags).map(([k, v]) => `${k}=${v}`);
  return [String(id), s.name, s.unit, s.asset, ...tags].join(' ').toLowerCase();
}

/** One sensor of the list: a checkbox, its id, and how many points it has over which span. */
function sensorItem(s) {
  const li = document.createElement('li');
  const row = document.createElement('label');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.dataset.sensor = String(s.sensor);
  box.checked = state.picked.includes(s.sensor);
  box.disabled = !box.checked && state.picked.length >= MAX_SENSORS;
  box.addEventListener('change', () => toggle(s.sensor));
  const name = document.createElement('span');
  name.textContent = label(s.sensor);
  const extent = document.createElement('span');
  extent.className = 'extent';
  extent.textContent = `${s.points.toLocaleString('en')} pts · ${utc(s.first, false)} → ${utc(s.last, false)}`;
  const text = document.createElement('span');
  text.append(name, document.createElement('br'), extent);
  row.append(box, text);
  li.append(row);
  return li;
}

/** A picked sensor in its chart color; a click removes it. */
function pickedChip(id) {
  const chip = document.createElement('button');
  chip.type = 'button';
  chip.className = 'chip';
  chip.title = `Remove ${label(id)}`;
  const sw = document.createElement('span');
  sw.className = 'swatch';
  sw.style.background = color(id);
  chip.append(sw, `${state.series.get(id)?.name ?? id} ×`);
  chip.addEventListener('click', () => toggle(id));
  return chip;
}

function toggle(sensor) {
  const i = state.picked.indexOf(sensor);
  if (i >= 0) state.picked.splice(i, 1);
  else if (state.picked.length < MAX_SENSORS) state.picked.push(sensor);
  renderList();
  pick(state.picked);
}

/** Replaces the picked sensors; a first pick shows the last hour of their data. */
export function pick(ids) {
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
