/**
 * What every section of docs/benchmarks.md is made of: a benchmark's JSON
 * document as read back from bench/results/, the charts a section adds (SVG,
 * rendered to PNG next to the markdown), and markdown tables.
 */

// biome-ignore lint/suspicious/noExplicitAny: the result documents of several benches and versions, read as they are
export type Json = Record<string, any>;

/** A chart a section links to: the PNG to write and the SVG to render into it. */
export interface Chart {
  file: string;
  svg: string;
}

export const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
