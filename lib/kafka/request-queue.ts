import { createRequire } from 'node:module';

/** The part of kafkajs's internal RequestQueue (src/network/requestQueue) this module relies on. */
interface RequestQueueShape {
  pending: unknown[];
  scheduleCheckPendingRequests(this: RequestQueueShape): void;
}

const FIXED = Symbol.for('herodotus.kafkajs.idle-request-queue');

/**
 * kafkajs 2.2.4 re-arms a timer after every check of a connection's request
 * queue, even with nothing queued: the delay is then `throttledUntil - now`,
 * negative, which Node runs as 1 ms (upstream issues #1556, #1604, #1704,
 * unfixed). So each connection that ever got an answer checks its empty
 * queue about 850 times a second for as long as it lives; an idle service
 * with five connections spent most of its main thread's 0.08-0.1 cores on
 * those wake-ups (bench-floors), invisible as JS in a V8 profile.
 *
 * Patched here to schedule only with requests queued. Nothing is lost: a
 * request queued later (in flight limit or throttle reached) schedules its
 * own check in push(), an answer checks the queue in fulfillRequest(), and
 * with requests queued the original schedule runs unchanged.
 * Idempotent; applied by createKafka to the one kafkajs of this process.
 */
export function fixIdleRequestQueues(): void {
  const require = createRequire(import.meta.url);
  const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueShape & { [FIXED]?: true } };
  const proto = RequestQueue.prototype;
  if (proto[FIXED]) return;
  const schedule = proto.scheduleCheckPendingRequests;
  if (typeof schedule !== 'function' || schedule.length !== 0) {
    throw new Error('kafkajs RequestQueue.scheduleCheckPendingRequests changed: review lib/kafka/request-queue.ts');
  }
  proto.scheduleCheckPendingRequests = function (this: RequestQueueShape) {
    if (this.pending.length > 0) schedule.call(this);
  };
  proto[FIXED] = true;
}
