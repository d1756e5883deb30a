// What the viewer shows: the sensors with data, the picked ones, the time
// range, live mode, which points the averages cover, and the API token.
// Every other module reads and changes this one object;
// window.__viewer.state exposes it for tests.
export const MAX_SENSORS = 10;
export const TOKEN_KEY = 'herodotus.token';
const COLORS = ['#2f6fb5', '#d9480f', '#2b8a3e', '#862e9c', '#c2255c', '#0b7285', '#e67700', '#5f3dc4', '#5c940d', '#495057'];

export const state = {
  /** Sensors with data, from GET /v1/sensors. */
  sensors: [],
  /** Named series by id, from GET /v1/series: name, unit, asset, tags. */
  series: new Map(),
  /** Series names asked for by the address (?series= or #series=), picked once the catalog is loaded. */
  pendingNames: [],
  /** Picked sensor ids, in the order picked (colors follow it). */
  picked: [],
  from: null,
  to: null,
  live: false,
  /** Which points avg, min and max cover: 'good' (the server's default) or 'any' ("Include uncertain/bad"). */
  quality: 'good',
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  seq: 0,
};

/** How a sensor is shown: its series name and unit, or its number. */
export function label(id) {
  const s = state.series.get(id);
  return s ? `${s.name}${s.unit ? ` [${s.unit}]` : ''}` : `sensor ${id}`;
}

/** The y scale of a sensor: one per unit, so that millivolts and bar do not share an axis. */
export const unitOf = (id) => state.series.get(id)?.unit || '';

export const color = (sensor) => COLORS[state.picked.indexOf(sensor) % COLORS.length];

/** The end of the picked sensors' data: past their last stored timestamp, rounded up to a whole second. */
export function latestData() {
  const last = state.sensors.filter((s) => state.picked.includes(s.sensor)).map((s) => s.last);
  return last.length ? Math.ceil((Math.max(...last) + 1) / 1000) * 1000 : null;
}
