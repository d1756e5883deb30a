// Shift-drag pans, the wheel zooms around the cursor, a double click zooms out.
// While a gesture runs the chart moves at once and the lens follows at its end.
import { setRange, zoomBy } from './range.js';
import { state } from './state.js';

let wheelTimer = null;

/** `view` is the chart's (chart.js): the range it shows and a pan under way. */
export function attachGestures(u, view) {
  const over = u.over;
  // Listening on the parent while capturing comes before uPlot's own handlers on the plot area.
  const wrap = over.parentNode;
  const timeAt = (clientX) => u.posToVal(clientX - over.getBoundingClientRect().left, 'x');
  wrap.addEventListener('mousedown', (e) => startPan(u, view, e), true);
  over.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const center = timeAt(e.clientX);
      const factor = e.deltaY > 0 ? 1.25 : 0.8;
      const from = center - (center - view.shownRange[0]) * factor;
      const to = center + (view.shownRange[1] - center) * factor;
      view.shownRange = [from, to];
      u.setScale('x', { min: from, max: to });
      clearTimeout(wheelTimer);
      wheelTimer = setTimeout(() => setRange(view.shownRange[0], view.shownRange[1]), 250);
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

/** A shift-press on the plot area: the chart follows the mouse, the range is set when it is released. */
function startPan(u, view, e) {
  const over = u.over;
  if (!e.shiftKey || !over.contains(e.target)) return;
  e.stopPropagation();
  e.preventDefault();
  view.panning = { x: e.clientX, from: state.from, to: state.to };
  const move = (ev) => {
    const panning = view.panning;
    const perPx = (panning.to - panning.from) / over.clientWidth;
    const d = (panning.x - ev.clientX) * perPx;
    view.shownRange = [panning.from + d, panning.to + d];
    u.setScale('x', { min: view.shownRange[0], max: view.shownRange[1] });
  };
  const up = (ev) => {
    window.removeEventListener('mousemove', move);
    window.removeEventListener('mouseup', up);
    const p = view.panning;
    const perPx = (p.to - p.from) / over.clientWidth;
    const d = (p.x - ev.clientX) * perPx;
    view.panning = null;
    if (Math.abs(d) >= 1) setRange(p.from + d, p.to + d);
  };
  window.addEventListener('mousemove', move);
  window.addEventListener('mouseup', up);
}
