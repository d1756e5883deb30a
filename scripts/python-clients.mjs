// The InfluxDB clients the compatibility tests write with (clients nobody here
// wrote): PyPI influxdb-client (2.x API, batching writes to /api/v2/write) and
// influxdb (1.x, /write), in a venv of their own under .tools/. Plain Node, no
// npm dependencies (runs from setup.mjs before node_modules exists).
import fs from 'node:fs';
import path from 'node:path';
import { readText, StepError } from './install-steps.mjs';

export const PYTHON_CLIENTS = ['influxdb-client==1.50.0', 'influxdb==5.3.2'];

/** The venv's python once the clients are in; installs them when the marker does not match. */
export function ensurePythonClients(tools, { run, step }) {
  const dir = path.join(tools, 'influx-clients');
  const python = path.join(dir, 'bin', 'python');
  const marker = path.join(dir, '.herodotus-version');
  const want = PYTHON_CLIENTS.join(' ');
  if (readText(marker) === want && fs.existsSync(python)) return { python, changed: false };
  step(`installing the Python InfluxDB clients (PyPI ${want}) into a venv`, () => {
    fs.rmSync(dir, { recursive: true, force: true });
    run('python3', ['-m', 'venv', dir]);
    run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', ...PYTHON_CLIENTS]);
    const check = run(python, ['-c', 'import influxdb_client, influxdb; print(influxdb_client.__version__)']);
    if (!check.includes('1.50.0')) throw new StepError('the influxdb-client package did not import', check);
    fs.writeFileSync(marker, `${want}\n`);
  });
  return { python, changed: true };
}
