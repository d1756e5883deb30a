// Starts the real local Kafka broker and Temporal dev server (installed by
// scripts/setup.mjs), checks that kafkajs talks to Kafka 3.9.1, and that both keep
// their state across a stop and a restart on the same directories.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../lib/config/config';
import { stopAllChildren, waitFor, type ManagedProcess } from '../../harness/stack/child';
import { startKafka, type KafkaOptions } from '../../harness/stack/kafka';
import { freePort, isPortOpen } from '../../harness/stack/ports';
import { startTemporal, type TemporalOptions } from '../../harness/stack/temporal';

const toolsFile = path.join(loadConfig().toolsDir, 'tools.json');
if (!fs.existsSync(toolsFile)) throw new Error(`${toolsFile} missing; run: node scripts/setup.mjs`);
const tools = JSON.parse(fs.readFileSync(toolsFile, 'utf8')) as { temporal: string; kafkaLibs: string };

const TOPIC = 'stack-test';
const NAMESPACE = 'herodotus-stack-test';
const BIG = Buffer.alloc(3 * 1024 * 1024, 7); // above Kafka's 1 MiB default message.max.bytes

let stateDir: string;
let kafkaOpts: KafkaOptions;
let temporalOpts: TemporalOptions;
let kafka: ManagedProcess;
let temporal: ManagedProcess;
const brokers = () => [`127.0.0.1:${kafkaOpts.port}`];
const client = () => new Kafka({ clientId: 'stack-test', brokers: brokers(), logLevel: logLevel.ERROR });

/** Reads `count` messages of TOPIC from the beginning with a fresh consumer group. */
async function consume(groupId: string, count: number): Promise<Map<string, Buffer>> {
  const consumer = client().consumer({ groupId });
  const seen = new Map<string, Buffer>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.set(message.key!.toString(), message.value!);
      },
    });
    await waitFor(async () => seen.size >= count, { what: `${count} messages on ${TOPIC}`, timeoutMs: 30_000, intervalMs: 100 });
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * A port that was free a moment ago can be taken before Kafka binds it (other
 * servers start on this machine too); then Kafka exits at once, and a start on
 * new ports is the fix, as Harness.start does.
 */
async function startKafkaOnFreePorts(dir: string): Promise<ManagedProcess> {
  for (let attempt = 1; ; attempt++) {
    kafkaOpts = {
      dataDir: path.join(dir, 'kafka'),
      port: await freePort(),
      controllerPort: await freePort(),
      libsDir: tools.kafkaLibs,
      logFile: path.join(dir, 'logs', `kafka-${attempt}.log`),
      heapMb: 512,
    };
    try {
      return await startKafka(kafkaOpts);
    } catch (err) {
      const log = fs.existsSync(kafkaOpts.logFile) ? fs.readFileSync(kafkaOpts.logFile, 'utf8') : '';
      if (attempt >= 3 || !log.includes('Address already in use')) throw err;
    }
  }
}

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herodotus-stack-'));
  const temporalPort = await freePort();
  temporalOpts = {
    binary: tools.temporal,
    dbFile: path.join(stateDir, 'temporal', 'temporal.db'),
    port: temporalPort,
    uiPort: null,
    namespace: NAMESPACE,
    logFile: path.join(stateDir, 'logs', 'temporal.log'),
  };
  [kafka, temporal] = await Promise.all([startKafkaOnFreePorts(stateDir), startTemporal(temporalOpts)]);
});

afterAll(async () => {
  await stopAllChildren({ timeoutMs: 15_000 });
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('local Kafka', () => {
  it('accepts produce and consume from kafkajs 2.2.4', async () => {
    expect(kafka.running).toBe(true);
    const admin = client().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = client().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: [...Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `value-${i}` })), { key: 'big', value: BIG }],
    });
    await producer.disconnect();

    const seen = await consume('stack-test-1', 6);
    expect([...seen.keys()].sort()).toEqual(['big', 'k0', 'k1', 'k2', 'k3', 'k4']);
    expect(seen.get('k3')!.toString()).toBe('value-3');
    expect(seen.get('big')!.equals(BIG)).toBe(true);
  });

  it('keeps topics, messages and committed offsets across a restart', async () => {
    const { code, signal } = await kafka.stop({ timeoutMs: 20_000 });
    expect(code === 0 || code === 143 || signal === 'SIGTERM').toBe(true); // 143: JVM exit on SIGTERM
    expect(kafka.running).toBe(false);
    expect(await isPortOpen('127.0.0.1', kafkaOpts.port)).toBe(false);

    kafka = await startKafka(kafkaOpts);
    const seen = await consume('stack-test-2', 6);
    expect(seen.get('k0')!.toString()).toBe('value-0');
    expect(seen.get('big')!.length).toBe(BIG.length);

    const admin = client().admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: 'stack-test-1', topics: [TOPIC] });
    await admin.disconnect();
    const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(committed).toBe(6);
  });
});

describe('local Temporal', () => {
  const workflowId = 'stack-test-workflow';

  it('serves the namespace', async () => {
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalOpts.port}` });
    const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(namespaceInfo?.name).toBe(NAMESPACE);
    // A workflow with no worker stays RUNNING: state created at run time, to check persistence.
    await new Client({ connection, namespace: NAMESPACE }).workflow.start('noSuchWorkflow', {
      taskQueue: 'nobody-polls-this',
      workflowId,
    });
    await connection.close();
  });

  it('keeps its state across a restart', async () => {
    await temporal.stop({ timeoutMs: 15_000 });
    expect(temporal.running).toBe(false);
    temporal = await startTemporal(temporalOpts);

    const connection = await Connection.connect({ address: `127.0.0.1:${temporalOpts.port}` });
    const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(namespaceInfo?.name).toBe(NAMESPACE);
    const described = await new Client({ connection, namespace: NAMESPACE }).workflow.getHandle(workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
    await connection.close();
  });
});

describe('Temporal start-up', () => {
  /** A stand-in for the CLI that panics like start-dev losing a port race, `failures` times, then runs the real one. */
  function flakyCli(name: string, failures: number): string {
    const dir = path.join(stateDir, name);
    fs.mkdirSync(dir, { recursive: true });
    const script = path.join(dir, 'temporal');
    fs.writeFileSync(
      script,
      [
        '#!/bin/sh',
        `count=$(cat '${dir}/starts' 2>/dev/null || echo 0); echo $((count + 1)) > '${dir}/starts'`,
        `if [ "$count" -lt ${failures} ]; then`,
        '  echo "panic: listen tcp 127.0.0.1:40001: bind: address already in use"',
        '  for i in $(seq 1 60); do echo "goroutine dump line $i"; done',
        '  exit 2',
        'fi',
        `exec '${tools.temporal}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return script;
  }
  const optionsFor = async (name: string, binary: string): Promise<TemporalOptions> => ({
    ...temporalOpts,
    binary,
    port: await freePort(),
    dbFile: path.join(stateDir, name, 'temporal.db'),
    logFile: path.join(stateDir, name, 'temporal.log'),
  });
  const starts = (name: string) => Number(fs.readFileSync(path.join(stateDir, name, 'starts'), 'utf8'));

  it('starts the dev server again when it dies while starting', async () => {
    const server = await startTemporal(await optionsFor('flaky', flakyCli('flaky', 2)));
    try {
      expect(starts('flaky')).toBe(3);
      expect(server.running).toBe(true);
    } finally {
      await server.stop({ timeoutMs: 15_000 });
    }
  });

  it('gives up after three deaths, quoting the panic rather than the goroutine dump', async () => {
    const options = await optionsFor('broken', flakyCli('broken', 100));
    await expect(startTemporal(options)).rejects.toThrow(
      /exited \(code 2\) before it was ready[\s\S]*panic: listen tcp 127\.0\.0\.1:40001/,
    );
    expect(starts('broken')).toBe(3);
  });
});
