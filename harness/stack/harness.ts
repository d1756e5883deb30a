import fs from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { configEnv, kafkaBrokers, loadConfig, PROJECT_ROOT, type Config } from '../../lib/config/config';
import { tokenFor } from '../../lib/config/tokens';
import { createKafka } from '../../lib/kafka/client';
import { createLogger, type Logger } from '../../lib/log/logger';
import { HerodotusApi } from '../verify/api-client';
import { ManagedProcess, waitFor, type ExitInfo } from './child';
import { LocalInfrastructure } from './local';
import { freePort } from './ports';

export interface HarnessOptions {
  stateDir: string;
  /** Remove the state dir first. */
  fresh?: boolean;
  /** Pick free loopback ports instead of the configured ones (tests, demo, benchmarks). */
  freePorts?: boolean;
  /** Serve the Temporal Web UI. */
  ui?: boolean;
  /** How often the local Kafka broker applies retention (tests of expired offsets). */
  kafkaRetentionCheckMs?: number;
  /** Start a local mosquitto on a free port and point the service's MQTT bridge at it (HERODOTUS_MQTT_URL). */
  mqtt?: boolean;
  /** Extra settings for the Herodotus process, as environment variables. */
  env?: Record<string, string>;
  log?: Logger;
}

/**
 * The whole embedded stack with Herodotus in a child process of its own, so
 * that it can be killed and restarted like any other component: used by the
 * demo, the benchmarks and the integration tests.
 */
export class Harness {
  service: ManagedProcess | null = null;
  readonly api: HerodotusApi;
  private kafkaClient: Kafka | null = null;

  private constructor(
    readonly config: Config,
    readonly infra: LocalInfrastructure,
    private readonly log: Logger,
  ) {
    this.api = new HerodotusApi(
      `http://${config.http.host}:${config.http.port}`,
      tokenFor(config.http.apiTokens, 'admin') ?? config.http.apiTokens[0]?.secret,
    );
  }

  static async start(opts: HarnessOptions): Promise<Harness> {
    // Free ports are picked before the children bind them; on a busy machine
    // another process can take one in between ("Address already in use"), so a
    // start with free ports is tried again on new ones.
    const attempts = opts.freePorts ? 3 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await Harness.startOnce(opts);
      } catch (err) {
        if (attempt >= attempts) throw err;
        (opts.log ?? createLogger('harness')).warn(
          { attempt, err: (err as Error).message.split('\n')[0] },
          'starting the stack failed; retrying on new ports',
        );
      }
    }
  }

  private static async startOnce(opts: HarnessOptions): Promise<Harness> {
    if (opts.fresh) fs.rmSync(opts.stateDir, { recursive: true, force: true });
    fs.mkdirSync(opts.stateDir, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, HERODOTUS_STATE_DIR: opts.stateDir };
    if (opts.freePorts) {
      for (const key of [
        'HERODOTUS_PORT',
        'HERODOTUS_KAFKA_PORT',
        'HERODOTUS_KAFKA_CONTROLLER_PORT',
        'HERODOTUS_TEMPORAL_PORT',
        'HERODOTUS_TEMPORAL_UI_PORT',
      ]) {
        env[key] = String(await freePort());
      }
    }
    const mosquittoPort = opts.mqtt ? await freePort() : undefined;
    if (mosquittoPort !== undefined) env.HERODOTUS_MQTT_URL = `mqtt://127.0.0.1:${mosquittoPort}`;
    const config = loadConfig(env);
    const log = opts.log ?? createLogger('harness', config.logLevel);
    const harness = new Harness(
      config,
      new LocalInfrastructure(config, { ui: opts.ui ?? false, kafkaRetentionCheckMs: opts.kafkaRetentionCheckMs, mosquittoPort }),
      log,
    );
    try {
      await harness.infra.start();
      await harness.startService();
    } catch (err) {
      await harness.stop();
      throw err;
    }
    return harness;
  }

  get kafka(): Kafka {
    this.kafkaClient ??= createKafka(kafkaBrokers(this.config), 'herodotus-harness', this.log);
    return this.kafkaClient;
  }

  /**
   * Starts the Herodotus process and waits until /v1/health answers 200.
   * `env` overrides settings for this start only (`HERODOTUS_FAULT: ''`
   * restarts a process started with a fault hook without it).
   */
  async startService({ timeoutMs = 120_000, env = {} }: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<void> {
    const service = await ManagedProcess.start({
      name: 'herodotus',
      command: process.execPath,
      args: [path.join(PROJECT_ROOT, 'bin', 'herodotus.mjs'), 'serve'],
      env: { ...configEnv(this.config), ...env },
      cwd: PROJECT_ROOT,
      logFile: path.join(this.infra.logDir, 'herodotus.log'),
    });
    this.service = service;
    await waitFor(async () => (await this.api.health().catch(() => ({ status: 0 }))).status === 200, {
      timeoutMs,
      intervalMs: 250,
      what: 'Herodotus /v1/health to answer 200',
      process: service,
    });
  }

  /** kill -9: no shutdown, no flush, whatever was in flight is lost mid-way. */
  async killService(): Promise<void> {
    const s = this.service;
    this.service = null;
    if (!s) return;
    s.kill9();
    await s.exited;
  }

  /** Waits until the Herodotus process ends by itself (a fault hook's self-kill) and tells how it ended. */
  async serviceExit(): Promise<ExitInfo> {
    const s = this.service;
    if (!s) throw new Error('no Herodotus process is running');
    const exit = await s.exited;
    this.service = null;
    return exit;
  }

  async stopService(): Promise<void> {
    await this.service?.stop({ timeoutMs: 30_000 });
    this.service = null;
  }

  /** Waits until every partition's checkpoint has reached its high watermark. */
  async waitCaughtUp(timeoutMs = 300_000): Promise<void> {
    await waitFor(async () => (await this.api.ingestStatus().catch(() => null))?.caught_up === true, {
      timeoutMs,
      intervalMs: 250,
      what: 'ingest to catch up with Kafka',
    });
  }

  async stop(): Promise<void> {
    await this.stopService().catch((err) => this.log.warn({ err: (err as Error).message }, 'stopping herodotus'));
    await this.infra.stop();
  }
}
