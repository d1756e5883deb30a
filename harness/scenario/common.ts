import type { Harness } from '../stack/harness';
import { waitFor } from '../stack/child';
import type { Manifest } from '../../generator/manifest';
import { AUDIT_MAX_POINTS, checkExtents, checkStorage, type ExpectedSensor, type StorageCheck } from '../verify/manifest-check';
import { checkRandomLenses, type LensCheckReport } from '../verify/lens-check';
import { expectedFromManifest } from '../verify/report';
import { summarizeLenses, summarizeStorage, type LensSummary, type StorageSummary } from '../verify/summary';

export interface ScenarioOptions {
  minutes: number;
  /** Sensors for `steady` (default 1000). */
  sensors?: number;
  users?: number;
}

export interface ScenarioContext {
  harness: Harness;
  /** State dir of the local ClickHouse cluster the stack runs on (`--cluster`); absent on embedded ClickHouse. */
  clusterStateDir?: string;
  opts: ScenarioOptions;
  step: (line: string) => void;
}

/** What every scenario ends with: lost and duplicate points from the manifest, and lens exactness. */
export interface Outcome extends StorageSummary, LensSummary {
  /** How storage was checked: a full audit of raw (distinct points, checksums) or, for large runs, the points per sensor. */
  storage_check: 'audit' | 'extents';
  lens_examples: string[];
}

export interface ScenarioResult {
  /** Scenario-specific measurements and checks. */
  details: Record<string, unknown>;
  /** Extra pass conditions of the scenario (name → passed). */
  checks: Record<string, boolean>;
  outcome: Outcome;
  lines: string[];
}

/** Sums expected points and checksums (wrapping 32-bit) of manifests over disjoint data. */
export function mergeExpected(...manifests: Manifest[]): Map<number, ExpectedSensor> {
  const out = new Map<number, ExpectedSensor>();
  for (const l of manifests) {
    for (const [s, e] of expectedFromManifest(l)) {
      const prev = out.get(s) ?? { points: 0, checksum: 0 };
      out.set(s, { points: prev.points + e.points, checksum: (prev.checksum + e.checksum) >>> 0 });
    }
  }
  return out;
}

export async function drainCompaction(h: Harness, timeoutMs = 1_800_000): Promise<number> {
  const t0 = performance.now();
  await waitFor(
    async () =>
      ((await (await fetch(`${h.api.baseUrl}/v1/compaction/status`)).json()) as { backlog_windows: number }).backlog_windows === 0,
    {
      timeoutMs,
      intervalMs: 1000,
      what: 'the compaction backlog to drain',
    },
  );
  return Number(((performance.now() - t0) / 1000).toFixed(1));
}

/** Storage against what was generated (a full audit, or the extents for large runs), then random lenses against raw. */
export async function finalCheck(
  h: Harness,
  expected: Map<number, ExpectedSensor>,
  data: { from: number; to: number; lenses?: number; seed?: number },
): Promise<{ outcome: Outcome; storage: StorageCheck; lenses: LensCheckReport }> {
  const total = [...expected.values()].reduce((n, e) => n + e.points, 0);
  const method = total <= AUDIT_MAX_POINTS ? 'audit' : 'extents';
  const storage = method === 'audit' ? checkStorage(expected, await h.api.audit()) : checkExtents(expected, await h.api.sensors());
  const lenses = await checkRandomLenses(h.api.baseUrl, {
    sensors: [...expected.keys()],
    dataFrom: data.from,
    dataTo: data.to,
    count: data.lenses ?? 100,
    seed: data.seed ?? 7,
  });
  return {
    storage,
    lenses,
    outcome: { storage_check: method, ...summarizeStorage(storage), ...summarizeLenses(lenses), lens_examples: lenses.examples },
  };
}

export const seconds = (ms: number) => Number((ms / 1000).toFixed(1));
