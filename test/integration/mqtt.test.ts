// The MQTT bridge against the real stack: a real MQTT client (npm mqtt,
// persistent session) publishes with QoS 1 while mosquitto is killed (-9)
// and restarted after OUTAGE_MS, then while the service holding the bridge
// is killed (-9) and restarted after OUTAGE_MS. Afterwards every point the
// publisher had confirmed is stored exactly once (compared by name through
// /v1/raw) and every invalid message or element is a dead letter.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log/logger';
import { waitFor } from '../../harness/stack/child';
import { Harness } from '../../harness/stack/harness';
import { OUTAGE_MS } from '../../harness/scenario/faults';
import { summarizeDeadLetters } from '../../harness/verify/dead-letters';

const log = createLogger('mqtt-test', process.env.LOG_LEVEL ?? 'warn');
const T0 = Date.UTC(2026, 0, 1);
const SERIES = [0, 1, 2, 3, 4].map((k) => `mqtt/plant1/pump${k}/pressure`);
/** Messages per second the publisher sends, all through both outages. */
const RATE = 10;

let harness: Harness | undefined;
let publisher: MqttClient | undefined;
let stateDir = '';

beforeAll(async () => {
  stateDir = path.join(os.tmpdir(), `herodotus-mqtt-test-${process.pid}-${randomUUID()}`);
  harness = await Harness.start({
    stateDir,
    fresh: true,
    freePorts: true,
    mqtt: true,
    env: { HERODOTUS_MAX_FUTURE_SKEW_MS: String(10 * 365 * 86_400_000) },
    log,
  });
});

afterAll(async () => {
  try {
    await publisher?.endAsync(true);
    await harness?.stop();
  } finally {
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

/** What message i carries: its payload, the points it must store, the dead letters (by code) it must leave. */
interface Sent {
  payload: string;
  points: [string, number, number][];
  dead: string[];
}

const pointValue = (i: number, j = 0) => Math.sin(i * 7 + j) * 1000;

function message(i: number): Sent {
  const ts = T0 + i * 1000;
  if (i % 25 === 7) return { payload: `{"series": "${SERIES[0]}", "ts": ${ts}, broken`, points: [], dead: ['invalid_message'] };
  if (i % 25 === 13) return { payload: JSON.stringify({ series: SERIES[1], ts }), points: [], dead: ['invalid_point'] };
  if (i % 25 === 19) return { payload: JSON.stringify({ series: `mqtt//bad/${i}`, ts, value: 1 }), points: [], dead: ['series_refused'] };
  if (i % 10 === 3) {
    // An array: three points of three series, the middle one refused in every other array.
    const bad = i % 20 === 3;
    const els = [0, 1, 2].map((j) => ({ series: SERIES[j]!, ts: ts + j, value: bad && j === 1 ? null : pointValue(i, j) }));
    return {
      payload: JSON.stringify(els),
      points: els.filter((e) => e.value !== null).map((e) => [e.series, e.ts, e.value as number]),
      dead: bad ? ['invalid_point'] : [],
    };
  }
  const series = SERIES[i % SERIES.length]!;
  // Every third one with an ISO 8601 time, the others epoch milliseconds.
  const body = { series, ts: i % 3 === 0 ? new Date(ts).toISOString() : ts, value: pointValue(i), quality: 192 };
  return { payload: JSON.stringify(body), points: [[series, ts, pointValue(i)]], dead: [] };
}

/** Every stored point of a series by name, as [ts, value]. */
async function rawOf(h: Harness, name: string): Promise<[number, number][]> {
  const q = new URLSearchParams({ series: name, from: String(T0 - 86_400_000), to: String(T0 + 2 * 86_400_000), limit: '1000000' });
  const res = await fetch(`http://${h.config.http.host}:${h.config.http.port}/v1/raw?${q}`);
  const body = (await res.json()) as { points?: [number, number][] };
  if (res.status === 404) return [];
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.points ?? [];
}

describe('the MQTT bridge', () => {
  it(
    `stores every confirmed point exactly once through mosquitto down ${OUTAGE_MS / 1000} s and the bridge down ${OUTAGE_MS / 1000} s`,
    async () => {
      const h = harness!;
      const client = mqtt.connect(h.config.mqtt.url!, { clientId: 'herodotus-test-publisher', clean: false, reconnectPeriod: 500 });
      publisher = client;
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));

      // The publisher sends all along; each publish resolves on the broker's PUBACK (confirmed).
      const sent: Sent[] = [];
      const confirmations: Promise<unknown>[] = [];
      let publishing = true;
      const stream = (async () => {
        for (let i = 0; publishing; i++) {
          const m = message(i);
          sent.push(m);
          confirmations.push(client.publishAsync(`herodotus/plant1/${i % 4}`, m.payload, { qos: 1 }));
          await sleep(1000 / RATE);
        }
      })();

      await sleep(5_000);
      h.infra.mosquitto!.kill9(); // mid-stream: messages on their way to the bridge, some not acknowledged
      await h.infra.mosquitto!.exited;
      await sleep(OUTAGE_MS);
      await h.infra.startMosquitto();
      await sleep(5_000);
      await h.killService(); // the bridge mid-message: what it had not acknowledged is delivered again
      await sleep(OUTAGE_MS);
      await h.startService();
      await sleep(5_000);
      publishing = false;
      await stream;
      await Promise.all(confirmations);

      const expected = new Map<string, [number, number][]>(SERIES.map((s) => [s, []]));
      for (const m of sent) for (const [s, ts, v] of m.points) expected.get(s)!.push([ts, v]);
      const total = [...expected.values()].reduce((n, p) => n + p.length, 0);
      await waitFor(
        async () => {
          let n = 0;
          for (const s of SERIES) n += (await rawOf(h, s)).length;
          return n >= total;
        },
        { what: `${total} points stored`, timeoutMs: 180_000, intervalMs: 1000 },
      );
      await h.waitCaughtUp();
      for (const s of SERIES) {
        const want = expected.get(s)!.sort((a, b) => a[0] - b[0]);
        expect(await rawOf(h, s), s).toEqual(want);
      }

      const byCode: Record<string, number> = {};
      for (const code of sent.flatMap((m) => m.dead)) byCode[code] = (byCode[code] ?? 0) + 1;
      const dlq = await summarizeDeadLetters(h.kafka, h.config.kafka.dlqTopic, log);
      expect(dlq.byCode).toEqual(byCode);
      log.warn({ messages: sent.length, points: total, deadLetters: dlq.records }, 'mqtt bridge run');
      expect(sent.length).toBeGreaterThan((RATE * (2 * OUTAGE_MS)) / 1000);
    },
    30 * 60_000,
  );
});
