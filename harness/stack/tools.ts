import fs from 'node:fs';
import path from 'node:path';

export interface Tools {
  temporal: string;
  kafkaLibs: string;
  java: string;
  /** The venv python holding the InfluxDB clients of the compatibility tests (absent in a tools.json from before them). */
  influxPython?: string;
  /** Debian's MQTT broker (absent in a tools.json from before the MQTT bridge). */
  mosquitto?: string;
  /** bench:peers's peers (absent in a tools.json from before them): Debian's influxd and victoria-metrics, QuestDB's jar. */
  influxd?: string;
  victoriaMetrics?: string;
  questdbJar?: string;
}

/** Where Debian's mosquitto package puts the broker. */
export const MOSQUITTO = '/usr/sbin/mosquitto';

/** Paths of the tools scripts/setup.mjs installed. */
export function loadTools(toolsDir: string): Tools {
  const file = path.join(toolsDir, 'tools.json');
  if (!fs.existsSync(file)) throw new Error(`${file} not found: run 'npm run setup' (node scripts/setup.mjs) first`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Tools;
}
