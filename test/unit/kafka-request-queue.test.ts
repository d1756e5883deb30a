import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { fixIdleRequestQueues } from '../../lib/kafka/request-queue';

interface Queue {
  pending: unknown[];
  throttleCheckTimeoutId: unknown;
  push(r: object): void;
  fulfillRequest(r: { correlationId: number; payload: null; size: number }): void;
  maybeThrottle(ms: number): void;
  checkPendingRequests(): void;
  destroy(): void;
}

const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue') as new (o: object) => Queue;
const logger = { debug() {}, info() {}, warn() {}, error() {} };

function queue(maxInFlightRequests: number | null): Queue {
  return new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'b:9092',
    logger,
  });
}

/** Pushes request `id`; `sent` records the ids in the order the queue sends them. */
function push(q: Queue, id: number, sent: number[]): void {
  q.push({
    entry: { correlationId: id, apiKey: 0, apiName: 'Test', apiVersion: 0, resolve: () => undefined, reject: () => undefined },
    expectResponse: true,
    sendRequest: () => sent.push(id),
  });
}

/** Calls of checkPendingRequests on `q` within `ms`. */
async function checksWithin(q: Queue, ms: number): Promise<number> {
  let n = 0;
  const check = q.checkPendingRequests.bind(q);
  q.checkPendingRequests = () => {
    n++;
    check();
  };
  await sleep(ms);
  return n;
}

describe('kafkajs request queues with the idle fix', () => {
  fixIdleRequestQueues();
  fixIdleRequestQueues();

  test('an answer with nothing queued leaves no timer behind (kafkajs 2.2.4 checked every 1 ms from then on)', async () => {
    const q = queue(null);
    const sent: number[] = [];
    push(q, 1, sent);
    q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    expect(sent).toEqual([1]);
    expect(q.throttleCheckTimeoutId).toBeNull();
    expect(await checksWithin(q, 50)).toBe(0);
    q.destroy();
  });

  test('a request queued behind the in-flight limit goes out when the answer comes', () => {
    const q = queue(1);
    const sent: number[] = [];
    push(q, 1, sent);
    push(q, 2, sent);
    expect(sent).toEqual([1]);
    q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    expect(sent).toEqual([1, 2]);
    q.destroy();
  });

  test('a request queued while throttled goes out when the throttle ends, and then no check is left', async () => {
    const q = queue(null);
    const sent: number[] = [];
    q.maybeThrottle(30);
    push(q, 1, sent);
    expect(sent).toEqual([]);
    for (let i = 0; i < 100 && sent.length === 0; i++) await sleep(10);
    expect(sent).toEqual([1]);
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
  });
});
