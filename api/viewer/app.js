// Herodotus lens viewer: plain ES modules, no build step. Picks up to 10
// sensors, asks GET /v1/lens for as many buckets as the chart is wide, and
// draws each sensor's avg line over its min/max band with uPlot, marking the
// buckets that hold bad or uncertain points. Zooming, panning and live mode
// re-query the lens at the new resolution.
//
// One module per concept: state.js (what is shown), url.js (the view in the
// address), api.js (the HTTP API), message.js (errors in words), sensors.js
// (the sensor list and picking), range.js (the time range and live mode),
// lens.js (querying), chart.js and gestures.js (drawing and the mouse),
// controls.js (the toolbar and forms). A range change queries the lens, a
// lens redraws the chart, a gesture on the chart changes the range; yet the
// imports go one way: message.js and range.js sit below lens.js and
// sensors.js, and the chart hands its view to the gestures. The two calls
// that go back up, a new range re-querying the lens and a 503 trying again,
// are hooks (onRangeChange, onRetry) that init() below wires before anything
// runs. None calls into another while the modules load; everything starts
// from init().
//
// For tests and debugging, the last lens is on window.__lens
// ({seq, query, url, response, ms}) and the controls on window.__viewer
// (with the chart and the buckets it marks).
import { view } from './chart.js';
import { attachControls } from './controls.js';
import { requery } from './lens.js';
import { onRetry } from './message.js';
import { highlightPreset, onRangeChange, preset, setLive, setRange } from './range.js';
import { loadSensors, pick, renderList } from './sensors.js';
import { state } from './state.js';
import { restoreHash } from './url.js';

function init() {
  onRangeChange(requery);
  onRetry(() => (state.picked.length ? requery() : loadSensors()));
  attachControls();
  restoreHash();
  renderList();
  highlightPreset();
  document.body.dataset.state = 'idle';
  loadSensors();
}

window.__viewer = {
  pick,
  setRange: (from, to) => setRange(from, to),
  setLive,
  preset,
  chart: () => view.chart,
  marks: () => view.marks,
  state,
};

init();
