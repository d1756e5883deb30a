import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { encodeBatch } from '../batch/encode';
import { batchesOfPoints } from '../batch/from-points';
import type { BatchError, BatchLimits } from '../batch/types';
import type { BatchPublisher } from '../kafka/batch-publisher';
import type { DeadLetterPublisher, ForeignDeadLetter } from '../kafka/dead-letters';
import type { Rejection } from '../lineprotocol/points';
import type { Logger } from '../log/logger';
import type { SeriesCatalog } from '../series/catalog';
import { resolvePoints } from '../series/line-write';
import { ON_CONFLICT_HEADER } from '../ingest/conflicts';
import { decodeMqttMessage } from './message';
import { topicMatches } from './topic';

export interface MqttBridgeDeps {
  /** mqtt://host:port of the broker. */
  url: string;
  /** Topic filters subscribed with QoS 1. */
  topics: string[];
  /**
   * Topic filters, subscribed too, whose messages are corrections: a point
   * whose (series, ts) is stored with another value replaces it
   * (on_conflict=replace, carried as the on-conflict Kafka header) instead
   * of being dead-lettered as conflicting_value.
   */
  correctionTopics?: string[];
  /** The bridge's session at the broker: the same id after a restart finds its unacknowledged messages again. */
  clientId: string;
  catalog: SeriesCatalog;
  publisher: Pick<BatchPublisher, 'publish'>;
  deadLetters: Pick<DeadLetterPublisher, 'publishForeign'>;
  limits: BatchLimits;
  log: Logger;
  /** Told when the subscription is in place and when the broker connection is lost. */
  onState?(state: 'ready' | 'down', detail?: string): void;
  /** Pause between attempts while Kafka or the catalog is unavailable; default 1 s. */
  retryMs?: number;
}

class BridgeStopped extends Error {}

/**
 * MQTT messages to batches on Kafka. The session is persistent (clean
 * session off) and subscribed with QoS 1, and a message is acknowledged
 * (PUBACK) only after its batches and dead letters are acknowledged by
 * Kafka: a message the bridge had not finished when it or the broker went
 * down is delivered again. A redelivered point is stored once (the first
 * point of a series at a timestamp is the one kept), so redelivery is safe.
 * Messages are handled one at a time, in order; while Kafka is down the
 * bridge retries and acknowledges nothing, so the broker keeps the queue.
 */
export class MqttBridge {
  private client: MqttClient | null = null;
  private stopped = false;
  /** Counts connections: a message is acknowledged only on the connection it came by. */
  private connection = 0;

  constructor(private readonly deps: MqttBridgeDeps) {}

  start(): void {
    const { url, clientId, topics, log } = this.deps;
    const client = mqtt.connect(url, { clientId, clean: false, protocolVersion: 4, reconnectPeriod: 1000, connectTimeout: 5000 });
    this.client = client;
    // mqtt.js sends the PUBACK of a QoS 1 message once this calls back; a message never called back is never acknowledged.
    client.handleMessage = (packet, done) => {
      const via = this.connection;
      this.handle(packet).then(
        // A PUBACK sent on a later connection would name a message id the broker may have given another
        // message since (a broker restarted from its last save): the broker delivers this one again instead.
        () => {
          if (via === this.connection && client.connected) done();
        },
        (err) => {
          if (!(err instanceof BridgeStopped)) log.error({ err: (err as Error).message, topic: packet.topic }, 'mqtt message not handled');
        },
      );
    };
    client.on('connect', (connack) => {
      this.connection++;
      const filters = [...new Set([...topics, ...(this.deps.correctionTopics ?? [])])];
      client.subscribe(Object.fromEntries(filters.map((t) => [t, { qos: 1 as const }])), (err) => {
        if (err) return log.warn({ err: err.message }, 'mqtt subscribe failed; retried on reconnect');
        log.info({ url, topics: filters, sessionPresent: connack.sessionPresent }, 'mqtt bridge subscribed');
        this.deps.onState?.('ready');
      });
    });
    client.on('close', () => this.deps.onState?.('down', `no connection to the MQTT broker ${url}`));
    client.on('error', (err) => log.warn({ err: err.message }, 'mqtt client error'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.endAsync(true);
  }

  /** One message onto Kafka: its batches, and a dead letter per refused element; retried until Kafka has them or the bridge stops. */
  private async handle(packet: IPublishPacket): Promise<void> {
    const { limits, catalog, publisher, deadLetters } = this.deps;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const now = Date.now();
    const maxTs = Math.min(limits.maxTs, now + (limits.ingest?.futureSkewMs ?? limits.maxTs));
    const decoded = decodeMqttMessage(payload, { minTs: limits.minTs, maxTs });
    // A redelivered correction replaces with the same value: a silent re-send.
    const correction = (this.deps.correctionTopics ?? []).some((f) => topicMatches(f, packet.topic));
    const headers = correction ? { headers: { [ON_CONFLICT_HEADER]: 'replace' } } : {};
    await this.retrying(packet.topic, async () => {
      const resolved = await resolvePoints(decoded.points, catalog);
      const batches = batchesOfPoints(resolved.points, limits);
      await publisher.publish(batches.map((b) => ({ key: String(b.sensor), value: encodeBatch(b, limits), ...headers })));
      const refused = [
        ...decoded.rejected.map((r) => letterOf(packet.topic, payload, r, r.line === 0 ? 'invalid_message' : 'invalid_point')),
        ...resolved.rejected.map((r) => letterOf(packet.topic, payload, r, 'series_refused')),
      ];
      await deadLetters.publishForeign(refused);
    });
  }

  private async retrying(topic: string, attempt: () => Promise<void>): Promise<void> {
    for (;;) {
      if (this.stopped) throw new BridgeStopped();
      try {
        return await attempt();
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message, topic }, 'mqtt message not on Kafka yet (not acknowledged); retrying');
        await sleep(this.deps.retryMs ?? 1000);
      }
    }
  }
}

/**
 * The dead letter of a refused message (line 0) or element: the message as
 * it came, keyed by topic, payload hash and element, so the same message
 * delivered twice (a restart before its PUBACK) names one dead letter.
 */
function letterOf(topic: string, payload: Buffer, r: Rejection, code: string): ForeignDeadLetter {
  const hash = createHash('sha256').update(payload).digest('hex').slice(0, 32);
  const field = r.line === 0 ? 'message' : `element ${r.line}${r.field ? ` (${r.field})` : ''}`;
  const error: BatchError = { code, field, message: r.reason };
  return {
    key: `mqtt:${topic}/${hash}/${r.line}`,
    value: payload,
    error,
    headers: { 'source-topic': `mqtt:${topic}`, 'source-element': String(r.line) },
  };
}
