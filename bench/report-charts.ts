/**
 * The charts of docs/benchmarks.md: grouped bars and lines over time as SVG,
 * rendered to PNG in headless Chromium (playwright-core).
 */
import { chromium } from 'playwright-core';
import type { Chart } from './report-section';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Grouped bars: one group per category, one bar per series (log scale when values span > 100×). */
export function barsSvg(title: string, categories: string[], series: { name: string; values: number[] }[], unit: string): string {
  const W = 900,
    H = 420,
    L = 70,
    B = 60,
    T = 50,
    R = 20;
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const max = Math.max(...all, 1);
  const min = Math.min(...all, max);
  const log = max / Math.max(min, 1e-3) > 100;
  const lo = log ? 10 ** Math.floor(Math.log10(Math.max(min, 0.01))) : 0;
  const hi = log ? 10 ** Math.ceil(Math.log10(max)) : max * 1.1;
  const y = (v: number) =>
    T + (H - T - B) * (1 - (log ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi));
  const gw = (W - L - R) / categories.length;
  const bw = (gw * 0.8) / series.length;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>`;
  out += `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>`;
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : Array.from({ length: 6 }, (_, i) => (hi * i) / 5);
  for (const t of ticks)
    out += `<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${Number(t.toPrecision(3))}</text>`;
  out += `<text x="16" y="${(H - B + T) / 2}" transform="rotate(-90 16 ${(H - B + T) / 2})" text-anchor="middle">${esc(unit)}${log ? ' (log)' : ''}</text>`;
  categories.forEach((c, i) => {
    series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      const x = L + i * gw + gw * 0.1 + k * bw;
      out += `<rect x="${x}" y="${y(v)}" width="${bw - 2}" height="${H - B - y(v)}" fill="${COLORS[k % COLORS.length]}"/><text x="${x + bw / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="10">${v >= 100 ? Math.round(v) : v}</text>`;
    });
    out += `<text x="${L + i * gw + gw / 2}" y="${H - B + 18}" text-anchor="middle">${esc(c)}</text>`;
  });
  // Four legend entries a row, so six systems still fit the width.
  series.forEach((s, k) => {
    const lx = L + (k % 4) * 200;
    const ly = H - 30 + Math.floor(k / 4) * 16;
    out += `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${COLORS[k % COLORS.length]}"/><text x="${lx + 16}" y="${ly + 10}">${esc(s.name)}</text>`;
  });
  return `${out}</svg>`;
}

/** Lines over time (x in seconds). */
export function linesSvg(title: string, series: { name: string; points: [number, number][] }[], unit: string): string {
  const W = 900,
    H = 380,
    L = 70,
    B = 60,
    T = 50,
    R = 20;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(...xs, 1);
  const yMax = Math.max(...ys, 1) * 1.1;
  const x = (v: number) => L + ((W - L - R) * v) / xMax;
  const y = (v: number) => T + (H - T - B) * (1 - v / yMax);
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>`;
  out += `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>`;
  for (let i = 0; i <= 5; i++) {
    const t = (yMax * i) / 5;
    out += `<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${Number(t.toPrecision(3))}</text>`;
    const s = (xMax * i) / 5;
    out += `<text x="${x(s)}" y="${H - B + 18}" text-anchor="middle">${Math.round(s)} s</text>`;
  }
  out += `<text x="16" y="${(H - B + T) / 2}" transform="rotate(-90 16 ${(H - B + T) / 2})" text-anchor="middle">${esc(unit)}</text>`;
  series.forEach((s, k) => {
    out += `<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`;
    out += `<rect x="${L + k * 220}" y="${H - 24}" width="12" height="12" fill="${COLORS[k % COLORS.length]}"/><text x="${L + k * 220 + 16}" y="${H - 14}">${esc(s.name)}</text>`;
  });
  return `${out}</svg>`;
}

export async function renderPngs(charts: Chart[]): Promise<void> {
  if (charts.length === 0) return;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 920, height: 440 } });
    for (const c of charts) {
      await page.setContent(`<html><body style="margin:0">${c.svg}</body></html>`);
      await (await page.$('svg'))!.screenshot({ path: c.file });
    }
  } finally {
    await browser.close();
  }
}
