import { z } from 'zod';

/** The MQTT bridge's settings, part of the one Config schema (lib/config/config.ts). */
export const MQTT_ENV = {
  /** mqtt://host:port of the broker the bridge subscribes to; unset: no bridge. */
  HERODOTUS_MQTT_URL: z
    .string()
    .optional()
    .transform((s) => (s ? s : undefined)),
  /** Comma-separated topic filters, subscribed with QoS 1. */
  HERODOTUS_MQTT_TOPICS: z.string().default('herodotus/#'),
  /** Comma-separated topic filters whose messages are corrections (on_conflict=replace); subscribed too. Empty: none. */
  HERODOTUS_MQTT_CORRECTION_TOPICS: z.string().default(''),
  /** The bridge's persistent session at the broker; processes sharing one id take turns, not messages. */
  HERODOTUS_MQTT_CLIENT_ID: z.string().min(1).max(23).default('herodotus-bridge'),
};

export interface MqttConfig {
  url: string | undefined;
  topics: string[];
  /** Filters whose messages replace stored values at the same (series, ts) instead of being dead-lettered as conflicting. */
  correctionTopics: string[];
  clientId: string;
}

type MqttEnv = { [K in keyof typeof MQTT_ENV]: z.infer<(typeof MQTT_ENV)[K]> };

const filters = (s: string) =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);

export function mqttConfigOf(e: MqttEnv): MqttConfig {
  return {
    url: e.HERODOTUS_MQTT_URL,
    topics: filters(e.HERODOTUS_MQTT_TOPICS),
    correctionTopics: filters(e.HERODOTUS_MQTT_CORRECTION_TOPICS),
    clientId: e.HERODOTUS_MQTT_CLIENT_ID,
  };
}

export function mqttEnv(c: MqttConfig): Record<string, string> {
  return {
    ...(c.url ? { HERODOTUS_MQTT_URL: c.url } : {}),
    HERODOTUS_MQTT_TOPICS: c.topics.join(','),
    HERODOTUS_MQTT_CORRECTION_TOPICS: c.correctionTopics.join(','),
    HERODOTUS_MQTT_CLIENT_ID: c.clientId,
  };
}
