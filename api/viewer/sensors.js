// The sidebar: the sensors with data (searchable), the picked ones as chips,
// and picking, which starts the chart at the last hour of their data.
import { api } from './api.js';
import { destroyChart } from './chart.js';
import { els } from './elements.js';
import { utc } from './format.js';
import { requery } from './lens.js';
import { showError, showMessage } from './message.js';
import { setRange } from './range.js';
import { color, latestData, MAX_SENSORS, state } from './state.js';
import { updateHash } from './url.js';

export async function loadSensors() {
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

export function renderList() {
  const q = els.search.value.trim();
  const matches = state.sensors.filter((s) => q === '' || String(s.sensor).includes(q));
  const shown = matches.slice(0, 200);
  els.list.replaceChildren(...shown.map(sensorItem));
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
  els.picked.replaceChildren(...state.picked.map(pickedChip));
}

/** One sensor of the list: a checkbox, its id, and how many points it has over which span. */
function sensorItem(s) {
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
}

/** A picked sensor in its chart color; a click removes it. */
function pickedChip(id) {
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
