import path from 'node:path';
import type { Config } from '../../lib/config/config';
import type { ManagedProcess } from './child';
import { startKafka } from './kafka';
import { startMosquitto } from './mosquitto';
import { startTemporal } from './temporal';
import { loadTools, MOSQUITTO } from './tools';

/**
 * Kafka and the Temporal dev server as children of this process, each unless
 * the configuration names an external one, and mosquitto when asked for. State lives under the state dir,
 * so a restart on the same dir finds its topics and workflows again.
 */
export class LocalInfrastructure {
  kafka: ManagedProcess | null = null;
  temporal: ManagedProcess | null = null;
  mosquitto: ManagedProcess | null = null;

  constructor(
    readonly config: Config,
    private readonly opts: { ui: boolean; kafkaRetentionCheckMs?: number; mosquittoPort?: number },
  ) {}

  get logDir(): string {
    return path.join(this.config.stateDir, 'logs');
  }

  get temporalUiUrl(): string | null {
    return this.opts.ui && !this.config.temporal.external ? `http://127.0.0.1:${this.config.temporal.uiPort}` : null;
  }

  /** Starts both; when one fails, waits for the other to settle so that stop() finds it. */
  async start(): Promise<void> {
    const results = await Promise.allSettled([this.startKafka(), this.startTemporal(), this.startMosquitto()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async startKafka(): Promise<void> {
    if (this.config.kafka.external) return;
    const tools = loadTools(this.config.toolsDir);
    this.kafka = await startKafka({
      dataDir: path.join(this.config.stateDir, 'kafka'),
      port: this.config.kafka.port,
      controllerPort: this.config.kafka.controllerPort,
      libsDir: tools.kafkaLibs,
      logFile: path.join(this.logDir, 'kafka.log'),
      partitionsDefault: this.config.kafka.partitions,
      retentionCheckIntervalMs: this.opts.kafkaRetentionCheckMs,
    });
  }

  async startTemporal(): Promise<void> {
    if (this.config.temporal.external) return;
    const tools = loadTools(this.config.toolsDir);
    this.temporal = await startTemporal({
      binary: tools.temporal,
      dbFile: path.join(this.config.stateDir, 'temporal', 'temporal.db'),
      port: this.config.temporal.port,
      uiPort: this.opts.ui ? this.config.temporal.uiPort : null,
      namespace: this.config.temporal.namespace,
      logFile: path.join(this.logDir, 'temporal.log'),
    });
  }

  /** The local MQTT broker, when one was asked for (a port); its sessions and queued messages persist under the state dir. */
  async startMosquitto(): Promise<void> {
    if (this.opts.mosquittoPort === undefined) return;
    this.mosquitto = await startMosquitto({
      binary: loadTools(this.config.toolsDir).mosquitto ?? MOSQUITTO,
      dataDir: path.join(this.config.stateDir, 'mosquitto'),
      port: this.opts.mosquittoPort,
      logFile: path.join(this.logDir, 'mosquitto.log'),
    });
  }

  async stopMosquitto(): Promise<void> {
    await this.mosquitto?.stop({ timeoutMs: 30_000 });
    this.mosquitto = null;
  }

  async stopKafka(): Promise<void> {
    await this.kafka?.stop({ timeoutMs: 30_000 });
    this.kafka = null;
  }

  async stopTemporal(): Promise<void> {
    await this.temporal?.stop({ timeoutMs: 30_000 });
    this.temporal = null;
  }

  async stop(): Promise<void> {
    await Promise.all([this.stopKafka(), this.stopTemporal(), this.stopMosquitto()]);
  }
}
