import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export { ingestThrough, sleep, type FaultRun } from '../../scenario/faults';

export function tempStateDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `herodotus-${name}-`));
}
