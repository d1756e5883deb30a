// The chart: each sensor's avg line over its min/max band (uPlot), marks at
// the buckets that hold bad or uncertain points, and the legend under it with
// the values at the cursor. A drag-zoom on the chart sets the range; the
// viewer's own scale changes do not.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { els } from './elements.js';
import { num, utc } from './format.js';
import { attachGestures } from './gestures.js';
import { setRange } from './range.js';
import { color, label, state, unitOf } from './state.js';

export const view = {
  chart: null,
  /** The x range the chart was last set to by the viewer itself: a setScale to anything else is the user's. */
  shownRange: null,
  /** A shift-drag pan under way: where it started (x) and the range then. */
  panning: null,
  /** The buckets drawn marked (qualityMarks), read by the draw hook. */
  marks: null,
};

/** Mark colors (r, g, b): bad as the page's --bad, uncertain a lighter amber; uncertain first, so bad is drawn over it. */
const MARK_RGB = { uncertain: '245, 159, 0', bad: '179, 38, 30' };

function seriesOf(body) {
  const x = body.sensors[0]?.t ?? [];
  const data = [x];
  for (const s of body.sensors) data.push(s.min, s.max, s.avg);
  return data;
}

/** One y scale and axis per unit (sensors without one share the first): a millivolt signal is not flattened beside a bar one. */
function unitAxes(sensors) {
  const units = [...new Set(sensors.map(unitOf))];
  const scales = { x: { time: true } };
  const axes = [{}];
  for (const [i, unit] of units.entries()) {
    scales[`y:${unit}`] = { auto: true };
    axes.push({ scale: `y:${unit}`, size: 60, side: i % 2 === 0 ? 3 : 1, label: unit || undefined, grid: { show: i === 0 } });
  }
  return { scales, axes };
}

function chartOptions(sensors) {
  const series = [{}];
  const bands = [];
  for (const id of sensors) {
    const c = color(id);
    const base = series.length;
    const scale = `y:${unitOf(id)}`;
    series.push(
      { label: `${id} min`, scale, stroke: c, width: 0, points: { show: false } },
      { label: `${id} max`, scale, stroke: c, width: 0, points: { show: false } },
      { label: label(id), scale, stroke: c, width: 1.5, points: { show: false, size: 5, fill: c, filter: isolated } },
    );
    bands.push({ series: [base + 1, base], fill: `${c}40` });
  }
  const { scales, axes } = unitAxes(sensors);
  return {
    width: Math.max(300, els.chart.clientWidth),
    height: Math.max(260, Math.round(window.innerHeight * 0.58)),
    ms: 1,
    tzDate: (ts) => uPlot.tzDate(new Date(ts), 'Etc/UTC'),
    series,
    bands,
    legend: { show: false },
    scales,
    axes,
    cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false } },
    hooks: {
      setScale: [(u, key) => key === 'x' && userScale(u)],
      setCursor: [(u) => renderLegend(u.cursor.idx)],
      ready: [(u) => attachGestures(u, view)],
      draw: [drawMarks],
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

/**
 * The buckets where any shown sensor has a bad point, and those with an
 * uncertain one but no bad: avg, min and max leave such points out (unless
 * the lens is quality=any), so the line alone would show them as clean data
 * or, with no good point at all, as a gap.
 */
export function qualityMarks(body) {
  const marks = { step: body.step_ms, bad: [], uncertain: [] };
  const t = body.sensors[0]?.t ?? [];
  for (let i = 0; i < t.length; i++) {
    if (body.sensors.some((s) => s.bad[i] > 0)) marks.bad.push(t[i]);
    else if (body.sensors.some((s) => s.uncertain[i] > 0)) marks.uncertain.push(t[i]);
  }
  return marks;
}

/** Consecutive marked buckets as one span [from, to): bands side by side would overlap and darken where they meet. */
function runs(ts, step) {
  const out = [];
  for (const t of ts) {
    const last = out[out.length - 1];
    if (last && last[1] === t) last[1] = t + step;
    else out.push([t, t + step]);
  }
  return out;
}

/**
 * A faint band over each run of marked buckets and a solid strip along the
 * bottom of the plot, at least 2 px wide so that one bucket in thousands
 * still shows. Drawn after the series, so no line hides a strip; bands
 * first, so none tints a strip.
 */
function drawMarks(u) {
  const marks = view.marks;
  if (!marks) return;
  const { ctx, bbox } = u;
  const minWidth = 2 * uPlot.pxRatio;
  const strip = 4 * uPlot.pxRatio;
  const spans = Object.entries(MARK_RGB).map(([kind, rgb]) => [rgb, runs(marks[kind], marks.step)]);
  const paint = (style, y, height) => {
    for (const [rgb, kindRuns] of spans) {
      ctx.fillStyle = style(rgb);
      for (const [from, to] of kindRuns) {
        const x0 = u.valToPos(from, 'x', true);
        const x1 = u.valToPos(to, 'x', true);
        const width = Math.max(minWidth, x1 - x0);
        ctx.fillRect((x0 + x1 - width) / 2, y, width, height);
      }
    }
  };
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  paint((rgb) => `rgba(${rgb}, 0.12)`, bbox.top, bbox.height);
  paint((rgb) => `rgb(${rgb})`, bbox.top + bbox.height - strip, strip);
  ctx.restore();
}

/** The chart's x range changed: by the viewer itself (ignore) or by a drag-zoom (query that range). */
function userScale(u) {
  const { min, max } = u.scales.x;
  if (min == null || max == null || view.panning) return;
  const shown = view.shownRange;
  if (shown && Math.abs(min - shown[0]) < 1 && Math.abs(max - shown[1]) < 1) return;
  setRange(min, max);
}

export function draw(body) {
  const sensors = body.sensors.map((s) => s.sensor);
  let chart = view.chart;
  const same = chart && chart.series.length === 1 + 3 * sensors.length && chart.__sensors.join() === sensors.join();
  if (!same) destroyChart();
  // Before any drawing: the draw hook reads them.
  view.marks = qualityMarks(body);
  if (!same) {
    chart = view.chart = new uPlot(chartOptions(sensors), seriesOf(body), els.chart);
    chart.__sensors = sensors;
  } else chart.setData(seriesOf(body), false);
  chart.__body = body;
  view.shownRange = [state.from, state.to];
  chart.setScale('x', { min: state.from, max: state.to });
  els.empty.hidden = true;
  renderLegend(null);
}

export function destroyChart() {
  view.chart?.destroy();
  view.chart = null;
  view.shownRange = null;
  view.marks = null;
  els.empty.hidden = false;
  els.legend.replaceChildren();
  els.plan.textContent = '';
}

function renderLegend(idx) {
  if (!view.chart?.__body) return;
  const body = view.chart.__body;
  els.legend.replaceChildren(
    ...body.sensors.map((s) => {
      const item = document.createElement('span');
      item.className = 'item';
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = color(s.sensor);
      const values = document.createElement('span');
      values.className = 'values';
      if (idx !== null && idx !== undefined && s.t[idx] !== undefined) values.textContent = readout(s, idx);
      item.append(sw, label(s.sensor), values);
      return item;
    }),
  );
}

/** A sensor's bucket in words; one with points not good says how many of each (avg, min and max may leave them out). */
function readout(s, idx) {
  if (!s.count[idx]) return `${utc(s.t[idx])} · no data`;
  const text = `${utc(s.t[idx])} · avg ${num(s.avg[idx])} · min ${num(s.min[idx])} · max ${num(s.max[idx])} · ${s.count[idx].toLocaleString('en')} pts`;
  if (s.good[idx] === s.count[idx]) return text;
  const kinds = ['good', 'uncertain', 'bad'].map((k) => `${s[k][idx].toLocaleString('en')} ${k}`);
  return `${text} (${kinds.join(', ')})`;
}
