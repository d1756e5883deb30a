import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, configEnv, loadConfig } from '../../lib/config/config';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterRawInsert, armFaultHook, beforeChunkStore, HOLD_FILES } from '../../lib/ingest/fault-hook';

describe('HERODOTUS_FAULT', () => {
  it('is off by default and when empty; kill-after-raw-insert defaults to the first insert', () => {
    expect(loadConfig({}).fault).toBeUndefined();
    expect(loadConfig({ HERODOTUS_FAULT: '' }).fault).toBeUndefined();
    expect(loadConfig({ HERODOTUS_FAULT: 'kill-after-raw-insert' }).fault).toEqual({ kind: 'kill-after-raw-insert', afterRawInserts: 1 });
    expect(loadConfig({ HERODOTUS_FAULT: 'kill-after-raw-insert:7' }).fault).toEqual({ kind: 'kill-after-raw-insert', afterRawInserts: 7 });
    expect(loadConfig({ HERODOTUS_FAULT: 'hold-first-chunk' }).fault).toEqual({ kind: 'hold-first-chunk' });
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['kill', 'kill-after-raw-insert:0', 'kill-after-raw-insert:x', 'kill-after-raw-insert:2:3', 'hold-first-chunk:2']) {
      expect(() => loadConfig({ HERODOTUS_FAULT: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ HERODOTUS_FAULT: bad })).toThrow(
        /HERODOTUS_FAULT: the faults are 'kill-after-raw-insert', .* and 'hold-first-chunk'/,
      );
    }
  });

  it('survives configEnv, and is absent from it when off', () => {
    for (const fault of ['kill-after-raw-insert:3', 'hold-first-chunk']) {
      const config = loadConfig({ HERODOTUS_FAULT: fault });
      expect(loadConfig(configEnv(config)).fault).toEqual(config.fault);
    }
    expect(configEnv(loadConfig({}))).not.toHaveProperty('HERODOTUS_FAULT');
  });
});

describe('the fault hook', () => {
  afterEach(() => {
    armFaultHook(undefined);
    vi.restoreAllMocks();
  });

  it('kills the process after the Nth non-empty raw insert, not before; disarmed it does nothing', () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    armFaultHook({ kind: 'kill-after-raw-insert', afterRawInserts: 3 });
    for (const rows of [10, 0, 0, 5]) afterRawInsert(rows);
    expect(kill).not.toHaveBeenCalled();
    afterRawInsert(1);
    expect(kill).toHaveBeenCalledExactlyOnceWith(process.pid, 'SIGKILL');
    armFaultHook(undefined);
    afterRawInsert(100);
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('holds the first chunk with points until the release file exists, and only that one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hold-'));
    armFaultHook({ kind: 'hold-first-chunk' }, dir);
    await beforeChunkStore(0);
    expect(existsSync(join(dir, HOLD_FILES.held))).toBe(false);
    let done = false;
    const held = beforeChunkStore(100).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(readFileSync(join(dir, HOLD_FILES.held), 'utf8')).toBe('100');
    expect(done).toBe(false);
    writeFileSync(join(dir, HOLD_FILES.release), '');
    await held;
    expect(done).toBe(true);
    await beforeChunkStore(100); // the next chunk goes straight on
    rmSync(dir, { recursive: true, force: true });
  });
});
