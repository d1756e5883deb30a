// The page's elements the viewer reads and writes, by role (ids in index.html).
const $ = (id) => document.getElementById(id);

export const els = {
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
  anyQuality: $('any-quality'),
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
