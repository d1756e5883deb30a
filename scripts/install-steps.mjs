// Shared by the project's installers (setup.mjs, k8s-tools.mjs): plain Node,
// no npm dependencies, because they run before node_modules exists.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export class StepError extends Error {
  constructor(message, output = '') {
    super(message);
    this.output = output;
  }
}

/**
 * Progress lines prefixed with the installer's name, commands whose output is
 * shown only on failure, and steps that stop the installer with a clear error
 * and the command to retry.
 */
export function installer(name, retryCommand) {
  const log = (line) => process.stderr.write(`${name}: ${line}\n`);

  function run(cmd, args, opts = {}) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.error) throw new StepError(`could not run ${cmd}: ${r.error.message}`, output);
    if (r.status !== 0) throw new StepError(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`, output);
    return output;
  }

  function step(label, fn) {
    const started = performance.now();
    process.stderr.write(`${name}: ${label}… `);
    try {
      fn();
    } catch (err) {
      process.stderr.write('FAILED\n');
      if (err.output) process.stderr.write(`${err.output.trimEnd().split('\n').slice(-40).join('\n')}\n`);
      log(`error: ${err.message}`);
      log(`fix the cause above, then retry with: ${retryCommand} (a failed step starts over)`);
      process.exit(1);
    }
    process.stderr.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }

  return { log, run, step };
}

export const readText = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined);
