// Preloaded into the Herodotus process by `bench-ingest --cpu-prof` through
// NODE_OPTIONS=--import (Node 20 refuses --cpu-prof there). Each SIGUSR2
// toggles the V8 sampling profiler of the main thread: the first starts it,
// the next writes <HERODOTUS_BENCH_PROFILE_DIR>/herodotus-<n>.cpuprofile, so
// the bench can profile exactly a step's window. A profile still running at
// exit is written too.
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.HERODOTUS_BENCH_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  // A session on its own thread dispatches synchronously: the callback has run when post returns.
  const post = (method, params) => {
    let out;
    session.post(method, params ?? {}, (err, res) => {
      if (err) throw err;
      out = res;
    });
    return out;
  };
  post('Profiler.enable');
  post('Profiler.setSamplingInterval', { interval: 500 });
  let running = false;
  let n = 0;
  const stop = () => {
    if (!running) return;
    running = false;
    const { profile } = post('Profiler.stop');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `herodotus-${++n}.cpuprofile`), JSON.stringify(profile));
  };
  process.on('SIGUSR2', () => {
    if (running) stop();
    else {
      post('Profiler.start');
      running = true;
    }
  });
  process.on('exit', stop);
}
