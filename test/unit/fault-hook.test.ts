import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, configEnv, loadConfig } from '../../lib/config/config';
import { afterRawInsert, armFaultHook } from '../../lib/ingest/fault-hook';

describe('HERODOTUS_FAULT', () => {
  it('is off by default and when empty; kill-after-raw-insert defaults to the first insert', () => {
    expect(loadConfig({}).fault).toBeUndefined();
    expect(loadConfig({ HERODOTUS_FAULT: '' }).fault).toBeUndefined();
    expect(loadConfig({ HERODOTUS_FAULT: 'kill-after-raw-insert' }).fault).toEqual({ kind: 'kill-after-raw-insert', afterRawInserts: 1 });
    expect(loadConfig({ HERODOTUS_FAULT: 'kill-after-raw-insert:7' }).fault).toEqual({ kind: 'kill-after-raw-insert', afterRawInserts: 7 });
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['kill', 'kill-after-raw-insert:0', 'kill-after-raw-insert:x', 'kill-after-raw-insert:2:3']) {
      expect(() => loadConfig({ HERODOTUS_FAULT: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ HERODOTUS_FAULT: bad })).toThrow(/HERODOTUS_FAULT: the only fault is 'kill-after-raw-insert'/);
    }
  });

  it('survives configEnv, and is absent from it when off', () => {
    const config = loadConfig({ HERODOTUS_FAULT: 'kill-after-raw-insert:3' });
    expect(loadConfig(configEnv(config)).fault).toEqual(config.fault);
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
});
