// Preloaded into the Herodotus process by `bench-ingest --cpu-prof` through
// NODE_OPTIONS=--import (Node 20 refuses --cpu-prof there). Each SIGUSR2
// toggles measurement: the first starts it, the next writes, into
// $HERODOTUS_BENCH_PROFILE_DIR,
//   herodotus-<n>.cpuprofile   V8 sampling profile of the main thread;
//   herodotus-<n>.chdb.json    every embedded-ClickHouse query of the window
//                              by kind: count, wall time, and how much of the
//                              window at least one query was running,
// so the bench can measure exactly a step's window. A measurement still
// running at exit is written too. Measurement only: nothing is changed but a
// timing wrapper around chdb's Session.queryAsync.
import fs from 'node:fs';
import inspector from 'node:inspector';
import { createRequire } from 'node:module';
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

  // ---- chdb query timing ----
  let queries = null; // Map kind -> { count, ms, maxMs } while measuring
  let inFlight = 0;
  let busySince = 0;
  let busyMs = 0;
  let inFlightArea = 0; // ∫ inFlight dt, ms
  let lastChange = 0;
  let windowStart = 0;
  // A query's kind: its statement and main table (leading SET statements dropped).
  const kindOf = (sql) => {
    const body = String(sql)
      .replace(/^(\s*SET [^;]*;)+\s*/i, '')
      .replace(/\s+/g, ' ')
      .trim();
    const insert = /^INSERT INTO ([\w.]+)/i.exec(body);
    if (insert) return `INSERT INTO ${insert[1]}`;
    const from = /\bFROM ([\w.]+)/i.exec(body);
    const verb = body.split(' ', 1)[0].toUpperCase();
    return from
      ? `${verb} … FROM ${from[1]}`
      : body
          .replace(/'[^']*'/g, "'…'")
          .replace(/\d+/g, '#')
          .slice(0, 60);
  };
  const samples = new Map(); // kind -> the first SQL seen, shortened
  const change = (delta) => {
    const t = performance.now();
    inFlightArea += inFlight * (t - lastChange);
    lastChange = t;
    if (inFlight === 0 && delta > 0) busySince = t;
    inFlight += delta;
    if (inFlight === 0 && delta < 0) busyMs += t - busySince;
  };
  let patched = false;
  const patchChdb = () => {
    if (patched) return;
    patched = true;
    try {
      const require = createRequire(path.join(process.cwd(), 'package.json'));
      const { Session } = require(require.resolve('chdb').replace(/index\.m?js$/, 'index.js'));
      for (const method of ['queryAsync', 'queryBindAsync']) {
        const original = Session.prototype[method];
        if (typeof original !== 'function') continue;
        Session.prototype[method] = function timed(sql, ...rest) {
          if (!queries) return original.call(this, sql, ...rest);
          const kind = kindOf(sql);
          const t = performance.now();
          change(+1);
          const done = () => {
            change(-1);
            if (!queries) return;
            const ms = performance.now() - t;
            const q = queries.get(kind) ?? { count: 0, ms: 0, maxMs: 0 };
            if (!samples.has(kind)) samples.set(kind, String(sql).replace(/\s+/g, ' ').slice(0, 240));
            q.count++;
            q.ms += ms;
            q.maxMs = Math.max(q.maxMs, ms);
            queries.set(kind, q);
          };
          const p = original.call(this, sql, ...rest);
          p.then(done, done);
          return p;
        };
      }
    } catch (err) {
      process.stderr.write(`cpu-profile-hook: chdb not instrumented: ${err.message}\n`);
    }
  };

  let running = false;
  let n = 0;
  const stop = () => {
    if (!running) return;
    running = false;
    const { profile } = post('Profiler.stop');
    const t = performance.now();
    change(0);
    if (inFlight > 0) busyMs += t - busySince;
    const windowMs = t - windowStart;
    const kinds = [...queries.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([kind, q]) => ({
        kind,
        count: q.count,
        total_ms: Math.round(q.ms),
        mean_ms: Math.round(q.ms / q.count),
        max_ms: Math.round(q.maxMs),
        sql: samples.get(kind),
      }));
    const chdb = {
      window_ms: Math.round(windowMs),
      busy_pct: Math.round((busyMs / windowMs) * 1000) / 10,
      mean_in_flight: Math.round((inFlightArea / windowMs) * 100) / 100,
      kinds,
    };
    queries = null;
    fs.mkdirSync(dir, { recursive: true });
    n++;
    fs.writeFileSync(path.join(dir, `herodotus-${n}.chdb.json`), JSON.stringify(chdb));
    fs.writeFileSync(path.join(dir, `herodotus-${n}.cpuprofile`), JSON.stringify(profile));
  };
  process.on('SIGUSR2', () => {
    if (running) return stop();
    patchChdb();
    queries = new Map();
    windowStart = lastChange = performance.now();
    busyMs = 0;
    inFlightArea = 0;
    if (inFlight > 0) busySince = windowStart;
    post('Profiler.start');
    running = true;
  });
  process.on('exit', stop);
}
