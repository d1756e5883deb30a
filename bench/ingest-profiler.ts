import { setTimeout as sleep } from 'node:timers/promises';
/**
 * bench-ingest --cpu-prof: the profiler hook (cpu-profile-hook.mjs) loaded
 * into the Herodotus process, toggled by SIGUSR2 around each step's window,
 * and the summary of what it wrote.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../lib/config/config';
import { summarizeProfile, type ProfileSummary } from './cpu-profile';
import { log } from './ingest-log';

/** Runs `start` with the hook in the environment when `enabled`; our own environment is restored afterwards. */
export async function withProfilerHook<T>(enabled: boolean, profileDir: string, start: () => Promise<T>): Promise<T> {
  // The harness hands the service its configuration plus our own
  // environment, so the profiler hook travels through the latter (Node 20
  // refuses --cpu-prof in NODE_OPTIONS; --import is allowed).
  const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, HERODOTUS_BENCH_PROFILE_DIR: process.env.HERODOTUS_BENCH_PROFILE_DIR };
  if (enabled) {
    fs.rmSync(profileDir, { recursive: true, force: true });
    const hook = pathToFileURL(path.join(PROJECT_ROOT, 'bench', 'cpu-profile-hook.mjs')).href;
    process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --import ${hook}`.trim();
    process.env.HERODOTUS_BENCH_PROFILE_DIR = profileDir;
  }
  try {
    return await start();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * Starts or stops (and then summarizes) the service's profiler: see
 * cpu-profile-hook.mjs. Null when profiling is off, the service is gone, or
 * the call started a profile.
 */
export function createProfiler(enabled: boolean, profileDir: string, pid: () => number | undefined): () => Promise<ProfileSummary | null> {
  let profiles = 0;
  return async () => {
    const target = pid();
    if (!enabled || target === undefined) return null;
    process.kill(target, 'SIGUSR2');
    if (profiles % 2 === 0) {
      profiles++;
      return null;
    }
    profiles++;
    return readProfile(path.join(profileDir, `herodotus-${profiles / 2}.cpuprofile`));
  };
}

/** Waits for the profile the service writes on being stopped, and summarizes it with its chdb query times. */
async function readProfile(file: string): Promise<ProfileSummary | null> {
  const deadline = performance.now() + 30_000;
  while (!fs.existsSync(file) && performance.now() < deadline) await sleep(200);
  await sleep(500); // written synchronously, but let it finish
  try {
    const summary: ProfileSummary & { chdb?: unknown } = summarizeProfile(file);
    const chdbFile = file.replace(/\.cpuprofile$/, '.chdb.json');
    if (fs.existsSync(chdbFile)) {
      const chdb = JSON.parse(fs.readFileSync(chdbFile, 'utf8')) as { kinds: unknown[] };
      summary.chdb = { ...chdb, kinds: chdb.kinds.slice(0, 12) };
    }
    return summary;
  } catch (err) {
    log(`  no profile from the service (${(err as Error).message})`);
    return null;
  }
}
