import { MqttBridge } from '../lib/mqtt/bridge';
import { SeriesCatalog } from '../lib/series/catalog';
import type { ClickHouseConnections } from './clickhouse';
import type { ProcessContext } from './process-context';

/**
 * The MQTT bridge of this process when HERODOTUS_MQTT_URL is set, else null.
 * Started once Kafka's topics exist; its health component is ready while it
 * is subscribed, so /v1/health answers 200 only once messages flow.
 */
export function startMqttBridge(ctx: ProcessContext, clickhouse: ClickHouseConnections): MqttBridge | null {
  const { config, log, health, kafka, limits } = ctx;
  const { url, topics, correctionTopics, clientId } = config.mqtt;
  if (!url) return null;
  const bridge = new MqttBridge({
    url,
    topics,
    correctionTopics,
    clientId,
    catalog: new SeriesCatalog({ shards: () => clickhouse.catalog }),
    publisher: kafka.publisher,
    deadLetters: kafka.deadLetters,
    limits,
    log: log.child({ component: 'mqtt' }),
    onState: (state, detail) => health.set('mqtt', state, detail),
  });
  bridge.start();
  return bridge;
}
