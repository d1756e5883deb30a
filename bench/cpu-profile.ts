/**
 * Summary of a V8 .cpuprofile (main thread): where the time went, by
 * function (self and inclusive) and by package. Used by bench-ingest
 * --cpu-prof; also runnable on its own:
 *   npx tsx bench/cpu-profile.ts <file.cpuprofile>
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/config';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  duration_s: number;
  /** Share of wall time the main thread spent idle (waiting in the event loop). */
  idle_pct: number;
  /** Self time by package: project files by folder, node_modules by package, node internals, GC, native. */
  by_package: Record<string, number>;
  top_self: { fn: string; pct: number }[];
  /** Inclusive time of project functions (what a call and everything under it cost). */
  top_inclusive_project: { fn: string; pct: number }[];
}

function where(url: string): string {
  if (!url) return '';
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return `${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}:${rest.at(-1)}`;
  }
  if (file.startsWith(PROJECT_ROOT)) return path.relative(PROJECT_ROOT, file);
  return file;
}

function packageOf(frame: CallFrame): string {
  const name = frame.functionName;
  if (name === '(garbage collector)' || name === '(program)' || name === '(idle)' || name === '(root)') return name;
  const url = frame.url;
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (file.startsWith(PROJECT_ROOT)) return `herodotus/${path.relative(PROJECT_ROOT, file).split('/')[0]}`;
  return file;
}

const label = (f: CallFrame) => {
  const at = where(f.url);
  // Project files run transpiled by tsx: their line numbers do not match the source, so only the file is named.
  const line = at && !packageOf(f).startsWith('herodotus/') ? `:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'}${at ? ` ${at}${line}` : ''}`;
};

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Sample i lasts until sample i+1 (timeDeltas[i+1], µs).
  const total = profile.endTime - profile.startTime;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const f = node.callFrame;
    if (f.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    self.set(label(f), (self.get(label(f)) ?? 0) + dt);
    const pkg = packageOf(f);
    packages.set(pkg, (packages.get(pkg) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (!packageOf(frame).startsWith('herodotus/')) continue;
      const key = label(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  const ranked = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ fn, pct: pct(us) }));
  return {
    file,
    duration_s: Math.round(total / 1e5) / 10,
    idle_pct: pct(idle),
    by_package: Object.fromEntries(
      [...packages.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([k, us]) => [k, pct(us)]),
    ),
    top_self: ranked(self),
    top_inclusive_project: ranked(inclusive),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(PROJECT_ROOT, 'bench', 'cpu-profile.ts')) {
  for (const f of process.argv.slice(2)) process.stdout.write(`${JSON.stringify(summarizeProfile(f), null, 2)}\n`);
}
