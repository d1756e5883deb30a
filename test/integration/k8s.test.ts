/**
 * The Kubernetes manifests and the Dockerfile, validated offline:
 *   - base and both overlays render with kustomize;
 *   - every rendered object is valid against the Kubernetes JSON schemas
 *     (kubeconform -strict, oldest supported and newest Kubernetes);
 *   - hadolint passes on the Dockerfile;
 *   - the ClickHouse cluster in the manifests (remote_servers, macros per
 *     replica, StatefulSets, Keeper ensemble) is TOPOLOGY, and the committed
 *     generated files are what k8s/render/k8s-config.ts renders;
 *   - the application gets only environment variables lib/config/config.ts reads,
 *     and they point at objects the manifests define.
 * beforeAll installs the tools (scripts/k8s-tools.mjs: Go module proxy, PyPI),
 * a no-op once they are there.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGenerateArgs } from '../../cli/generate';
import { CLICKHOUSE_USERS, clickhouseShardsEnv, REPLICA_LABEL, replicaConfigMapName, SHARD_LABEL } from '../../k8s/render/clickhouse';
import { renderFiles } from '../../k8s/render/k8s-config';
import { KEEPER } from '../../k8s/render/keeper';
import { TOPOLOGY } from '../../lib/clickhouse/topology';
import { checkExposure, loadConfig, PROJECT_ROOT } from '../../lib/config/config';
import { SWEEP_SCHEDULE_ID } from '../../workers/compaction-control';

/* eslint-disable @typescript-eslint/no-explicit-any */
type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

interface Tools {
  kustomize: string;
  kubeconform: string;
  hadolint: string;
  pythonPath: string;
  schemaLocation: string;
  kubernetesVersions: string[];
  versions: Record<string, unknown>;
}

const TARGETS = { base: 'k8s/base', dev: 'k8s/overlays/dev', prod: 'k8s/overlays/prod' } as const;
type Target = keyof typeof TARGETS;
const TARGET_NAMES = Object.keys(TARGETS) as Target[];
const NAMESPACE: Record<Target, string | undefined> = { base: undefined, dev: 'herodotus-dev', prod: 'herodotus' };

const toolsDir = path.resolve(process.env.HERODOTUS_TOOLS_DIR || path.join(PROJECT_ROOT, '.tools'));
let tools: Tools;
let tmp: string;
const yamlText = {} as Record<Target, string>;
const objects = {} as Record<Target, K8sObject[]>;

function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    input: opts.input,
    env: opts.env ?? process.env,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** YAML stream → objects, through PyYAML from the tools folder (no YAML parser among the npm dependencies). */
function parseYaml(text: string): K8sObject[] {
  const script = 'import sys, json, yaml\njson.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)';
  const r = run('python3', ['-c', script], { input: text, env: { ...process.env, PYTHONPATH: tools.pythonPath } });
  if (r.status !== 0) throw new Error(`PyYAML failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as K8sObject[];
}

const find = (t: Target, kind: string, name: string) => objects[t].find((o) => o.kind === kind && o.metadata.name === name);
const get = (t: Target, kind: string, name: string): K8sObject => {
  const o = find(t, kind, name);
  if (!o) throw new Error(`${t}: no ${kind} ${name}`);
  return o;
};
/** A generated ConfigMap keeps its name as a prefix (name-<hash>). */
const configMap = (t: Target, name: string): K8sObject => {
  const o = objects[t].find(
    (x) =>
      x.kind === 'ConfigMap' &&
      (x.metadata.name === name || x.metadata.name.startsWith(`${name}-`)) &&
      !x.metadata.name.slice(name.length + 1).includes('-'),
  );
  if (!o) throw new Error(`${t}: no ConfigMap ${name}`);
  return o;
};
const workloads = (t: Target) => objects[t].filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
const podTemplate = (o: K8sObject) => o.spec.template as { metadata: { labels: Record<string, string> }; spec: any };
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const xmlValues = (xml: string, tag: string) => [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]!);

/** Every variable lib/config/config.ts reads: the keys of its zod schema. */
function configVariables(): Set<string> {
  const src = fs.readFileSync(path.join(PROJECT_ROOT, 'lib/config/config.ts'), 'utf8');
  const body = /const schema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(src)?.[1];
  if (!body) throw new Error('could not find the config schema in lib/config/config.ts');
  const names = new Set([...body.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!));
  expect(names.size).toBeGreaterThan(20);
  return names;
}

const isAppImage = (image: string) => /(^|\/)herodotus:/.test(image);

beforeAll(() => {
  const setup = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts/k8s-tools.mjs')], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (setup.status !== 0) throw new Error(`scripts/k8s-tools.mjs exited with ${setup.status}`);
  tools = JSON.parse(fs.readFileSync(path.join(toolsDir, 'k8s', 'tools.json'), 'utf8')) as Tools;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herodotus-k8s-'));
  for (const t of TARGET_NAMES) {
    const r = run(tools.kustomize, ['build', TARGETS[t]]);
    if (r.status !== 0) throw new Error(`kustomize build ${TARGETS[t]} failed:\n${r.stderr}`);
    yamlText[t] = r.stdout;
    objects[t] = parseYaml(r.stdout);
  }
}, 1_800_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('generated ClickHouse manifests', () => {
  it('are what k8s/render/k8s-config.ts renders from TOPOLOGY (run `npx tsx k8s/render/k8s-config.ts` after changing either)', () => {
    for (const [rel, text] of Object.entries(renderFiles(TOPOLOGY))) {
      expect(fs.readFileSync(path.join(PROJECT_ROOT, rel), 'utf8'), rel).toBe(text);
    }
  });
});

describe.each(TARGET_NAMES)('%s', (t) => {
  it.each([['1.31.0'], ['1.37.0']])('is valid against the Kubernetes %s schemas (kubeconform -strict)', (version) => {
    expect(tools.kubernetesVersions).toContain(version);
    const file = path.join(tmp, `${t}.yaml`);
    fs.writeFileSync(file, yamlText[t]);
    const r = run(tools.kubeconform, [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-schema-location',
      tools.schemaLocation,
      '-kubernetes-version',
      version,
      file,
    ]);
    const report = JSON.parse(r.stdout) as {
      resources?: { kind: string; name: string; status: string; msg: string }[];
      summary: Record<string, number>;
    };
    const problems = (report.resources ?? [])
      .filter((x) => x.status !== 'statusValid')
      .map((x) => `${x.kind}/${x.name}: ${x.status} ${x.msg}`);
    expect(problems).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
    expect(report.summary).toMatchObject({ valid: objects[t].length, invalid: 0, errors: 0, skipped: 0 });
  });

  it('has the ClickHouse cluster of TOPOLOGY in remote_servers', () => {
    const xml = get(t, 'ConfigMap', 'clickhouse-config').data!['remote-servers.xml']!;
    const clusters = /<remote_servers[^>]*>\s*<([A-Za-z_][A-Za-z0-9_]*)>([\s\S]*?)<\/\1>\s*<\/remote_servers>/.exec(xml);
    expect(clusters?.[1]).toBe(TOPOLOGY.cluster);
    const shards = [...clusters![2]!.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) => m[1]!);
    expect(shards.map((s) => xmlValues(s, 'host'))).toEqual(TOPOLOGY.shards.map((s) => s.replicas.map((r) => r.name)));
    for (const s of shards) {
      expect(xmlValues(s, 'internal_replication')).toEqual(['true']);
      expect(xmlValues(s, 'port')).toEqual(s.match(/<replica>/g)!.map(() => '9000'));
    }
  });

  it("runs one single-pod StatefulSet per replica with that replica's macros, Service and shard label", () => {
    const servers = objects[t].filter((o) => o.kind === 'StatefulSet' && o.metadata.labels?.['app.kubernetes.io/name'] === 'clickhouse');
    expect(servers.map((s) => s.metadata.name).sort()).toEqual(TOPOLOGY.shards.flatMap((s) => s.replicas.map((r) => r.name)).sort());
    for (const shard of TOPOLOGY.shards) {
      for (const replica of shard.replicas) {
        const sts = get(t, 'StatefulSet', replica.name);
        expect(sts.spec.replicas).toBe(1);
        const labels = podTemplate(sts).metadata.labels;
        expect(labels[SHARD_LABEL]).toBe(String(shard.index));
        expect(labels[REPLICA_LABEL]).toBe(replica.name);
        // Macros: the ConfigMap this pod mounts into config.d.
        const macrosName = replicaConfigMapName(replica);
        const config = podTemplate(sts).spec.volumes.find((v: any) => v.name === 'config');
        const sources = config.projected.sources.map((s: any) => s.configMap.name) as string[];
        expect(sources).toContain(macrosName);
        expect(sources).toContain('clickhouse-config');
        const macros = get(t, 'ConfigMap', macrosName).data!['macros.xml']!;
        expect(xmlValues(macros, 'shard')).toEqual([String(shard.index)]);
        expect(xmlValues(macros, 'replica')).toEqual([replica.name]);
        expect(xmlValues(macros, 'cluster')).toEqual([TOPOLOGY.cluster]);
        expect(xmlValues(macros, 'interserver_http_host')).toEqual([replica.name]);
        // The remote_servers host name resolves to this pod.
        const svc = get(t, 'Service', replica.name);
        expect(sts.spec.serviceName).toBe(replica.name);
        expect(svc.spec.clusterIP).toBe('None');
        expect(matches(svc.spec.selector, labels)).toBe(true);
        expect(servers.filter((s) => matches(svc.spec.selector, podTemplate(s).metadata.labels))).toHaveLength(1);
        expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
      }
      // At most one replica of a shard down at a time, and never two on one node (prod, base).
      const pdb = get(t, 'PodDisruptionBudget', `clickhouse-s${shard.index}`);
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(
        servers
          .filter((s) => matches(pdb.spec.selector.matchLabels, podTemplate(s).metadata.labels))
          .map((s) => s.metadata.name)
          .sort(),
      ).toEqual(shard.replicas.map((r) => r.name).sort());
      if (t !== 'dev') {
        for (const r of shard.replicas) {
          const required = podTemplate(get(t, 'StatefulSet', r.name)).spec.affinity.podAntiAffinity
            .requiredDuringSchedulingIgnoredDuringExecution;
          expect(required).toEqual([
            expect.objectContaining({
              topologyKey: 'kubernetes.io/hostname',
              labelSelector: { matchLabels: expect.objectContaining({ [SHARD_LABEL]: String(shard.index) }) },
            }),
          ]);
        }
      }
    }
  });

  it('has a Keeper ensemble of 3 that ClickHouse is configured to use', () => {
    const sts = get(t, 'StatefulSet', KEEPER.name);
    expect(sts.spec.replicas).toBe(KEEPER.replicas);
    const start = sts.spec.ordinals?.start ?? 0;
    const pods = Array.from({ length: sts.spec.replicas as number }, (_, i) => `${KEEPER.name}-${start + i}.${sts.spec.serviceName}`);
    const keeperXml = get(t, 'ConfigMap', KEEPER.name).data!['keeper_config.xml']!;
    const servers = [...keeperXml.matchAll(/<server>([\s\S]*?)<\/server>/g)].map((m) => ({
      id: Number(xmlValues(m[1]!, 'id')[0]),
      host: xmlValues(m[1]!, 'hostname')[0],
    }));
    // Raft ids are the pod indexes (KEEPER_SERVER_ID from the pod-index label).
    expect(servers).toEqual(pods.map((host, i) => ({ id: start + i, host })));
    expect(sts.spec.template.spec.containers[0].env).toContainEqual({
      name: 'KEEPER_SERVER_ID',
      valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } },
    });
    expect(get(t, 'Service', sts.spec.serviceName).spec.publishNotReadyAddresses).toBe(true);
    const client = get(t, 'ConfigMap', 'clickhouse-config').data!['keeper-client.xml']!;
    expect(xmlValues(client, 'host')).toEqual(pods);
    expect(get(t, 'PodDisruptionBudget', KEEPER.name).spec.maxUnavailable).toBe(1);
  });

  it('gives Herodotus only variables lib/config/config.ts reads, and they name objects defined here', () => {
    const known = configVariables();
    const env = configMap(t, 'herodotus-env').data!;
    const appContainers = workloads(t).flatMap((w) =>
      podTemplate(w)
        .spec.containers.filter((c: any) => isAppImage(c.image))
        .map((c: any) => ({ w, c })),
    );
    expect(appContainers.length).toBeGreaterThanOrEqual(5);
    for (const { w, c } of appContainers) {
      const names = [
        ...(c.env ?? []).map((e: any) => e.name as string),
        ...(c.envFrom ?? []).flatMap((f: any) => Object.keys(configMap(t, f.configMapRef.name.replace(/-[a-z0-9]{10}$/, '')).data!)),
      ];
      expect(
        names.filter((n) => !known.has(n)),
        `${w.kind}/${w.metadata.name}`,
      ).toEqual([]);
    }
    // The serve pods' configuration loads and may listen beyond loopback (tokens set).
    const serveEnv = {
      ...env,
      CLICKHOUSE_PASSWORD: 'x',
      CLICKHOUSE_READ_PASSWORD: 'y',
      HERODOTUS_API_TOKENS: 'a-token-of-16-chars-or-more',
    };
    const config = loadConfig(serveEnv);
    expect(() => checkExposure(config)).not.toThrow();
    for (const name of ['herodotus-api', 'herodotus-worker']) {
      const c = podTemplate(get(t, 'Deployment', name)).spec.containers[0];
      expect(c.args).toEqual(['serve']);
      expect(c.env.map((e: any) => e.name)).toEqual(
        expect.arrayContaining(['CLICKHOUSE_PASSWORD', 'CLICKHOUSE_READ_PASSWORD', 'HERODOTUS_API_TOKENS']),
      );
      expect(c.ports).toContainEqual({ name: 'http', containerPort: config.http.port });
    }
    // Addresses: Services and pods of these manifests.
    const kafka = get(t, 'StatefulSet', 'kafka');
    expect(config.kafka.external).toEqual(
      Array.from({ length: kafka.spec.replicas as number }, (_, i) => `kafka-${i}.${kafka.spec.serviceName}:9092`),
    );
    const [temporalHost, temporalPort] = config.temporal.external!.split(':');
    expect(get(t, 'Service', temporalHost!).spec.ports.map((p: any) => p.port)).toContain(Number(temporalPort));
    // Ingest, compaction and lenses reach each shard's replicas (the local cluster's topology) by their Services.
    expect(env.CLICKHOUSE_SHARDS).toBe(clickhouseShardsEnv(TOPOLOGY));
    expect(config.clickhouse.cluster).toBe(TOPOLOGY.cluster);
    for (const ch of config.clickhouse.shards!.flat().map((u) => new URL(u))) {
      expect(get(t, 'Service', ch.hostname).spec.ports.map((p: any) => p.port)).toContain(Number(ch.port));
    }
    const users = get(t, 'ConfigMap', 'clickhouse-users').data!['herodotus-users.xml']!;
    expect(config.clickhouse.user).toBe(CLICKHOUSE_USERS.writer);
    expect(config.clickhouse.readUser).toBe(CLICKHOUSE_USERS.reader);
    for (const u of [config.clickhouse.user, config.clickhouse.readUser!]) expect(users).toContain(`<${u}>`);
  });

  it('routes the load balancer to ready API pods, and every Service and PDB selects pods', () => {
    const ingress = get(t, 'Ingress', 'herodotus');
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    const svc = get(t, 'Service', backend.name);
    expect(svc.spec.ports.map((p: any) => p.name)).toContain(backend.port.name);
    const api = get(t, 'Deployment', 'herodotus-api');
    expect(matches(svc.spec.selector, podTemplate(api).metadata.labels)).toBe(true);
    expect(matches(svc.spec.selector, podTemplate(get(t, 'Deployment', 'herodotus-worker')).metadata.labels)).toBe(false);
    const c = podTemplate(api).spec.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: '/v1/health', port: 'http' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/v1/health', port: 'http' });
    const pods = workloads(t).filter((w) => w.kind !== 'Job');
    for (const s of objects[t].filter((o) => o.kind === 'Service')) {
      expect(
        pods.some((w) => matches(s.spec.selector, podTemplate(w).metadata.labels)),
        `Service ${s.metadata.name}`,
      ).toBe(true);
    }
    for (const p of objects[t].filter((o) => o.kind === 'PodDisruptionBudget')) {
      expect(
        pods.some((w) => matches(p.spec.selector.matchLabels, podTemplate(w).metadata.labels)),
        `PDB ${p.metadata.name}`,
      ).toBe(true);
    }
  });

  it('gives every long-running container probes and resources, and pins every image', () => {
    for (const w of workloads(t)) {
      for (const c of podTemplate(w).spec.containers) {
        expect(c.image, `${w.metadata.name}`).toMatch(/^[a-z0-9./_-]+:[A-Za-z0-9._-]+$/);
        expect(c.image).not.toMatch(/:latest$/);
        expect(c.resources?.requests?.memory, `${w.metadata.name} memory request`).toBeTruthy();
        expect(c.resources?.limits?.memory, `${w.metadata.name} memory limit`).toBeTruthy();
        if (w.kind === 'Job') continue;
        expect(c.readinessProbe, `${w.metadata.name} readiness`).toBeTruthy();
        expect(c.livenessProbe, `${w.metadata.name} liveness`).toBeTruthy();
      }
      expect(podTemplate(w).spec.securityContext?.runAsNonRoot, `${w.metadata.name} runAsNonRoot`).toBe(true);
    }
    const appImages = new Set(
      workloads(t)
        .flatMap((w) => podTemplate(w).spec.containers.map((c: any) => c.image as string))
        .filter(isAppImage),
    );
    expect(appImages.size).toBe(1);
    if (NAMESPACE[t]) {
      const namespaced = objects[t].filter((o) => o.kind !== 'Namespace');
      expect(namespaced.filter((o) => o.metadata.namespace !== NAMESPACE[t]).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
      expect(get(t, 'Namespace', NAMESPACE[t]!)).toBeTruthy();
    }
    for (const s of objects[t].filter((o) => o.kind === 'StatefulSet'))
      expect(s.spec.volumeClaimTemplates?.length, s.metadata.name).toBeGreaterThan(0);
  });

  it('has the Jobs: topics, the sweep Schedule, generator, requester and scenarios', () => {
    const env = configMap(t, 'herodotus-env').data!;
    const topics = podTemplate(get(t, 'Job', 'kafka-topics')).spec.containers[0];
    expect(topics.args[0]).toContain('--replication-factor 3');
    expect(topics.args[0]).toContain('"$HERODOTUS_TOPIC" "$HERODOTUS_PARTITIONS"');
    expect(Number(env.HERODOTUS_PARTITIONS)).toBeGreaterThanOrEqual(1);

    // The same Schedule as workers/compaction-control.ts ensureSweepSchedule.
    const control = fs.readFileSync(path.join(PROJECT_ROOT, 'workers/compaction-control.ts'), 'utf8');
    expect(control).toMatch(/every: '1m'/);
    expect(control).toMatch(/workflowType: 'compactionSweep'/);
    expect(control).toMatch(/overlap: 'SKIP'/);
    const schedule = podTemplate(get(t, 'Job', 'temporal-schedule')).spec.containers[0].args[0] as string;
    for (const part of [
      `--schedule-id ${SWEEP_SCHEDULE_ID}`,
      '--interval 1m',
      '--overlap-policy Skip',
      '--type compactionSweep',
      '--task-queue "$HERODOTUS_TASK_QUEUE"',
    ]) {
      expect(schedule).toContain(part);
    }

    const args = (name: string) => podTemplate(get(t, 'Job', name)).spec.containers[0].args as string[];
    const generate = args('herodotus-generate');
    expect(generate[0]).toBe('generate');
    // The real option parser accepts them.
    expect(parseGenerateArgs(generate.slice(1))).toMatchObject({ realtime: true });
    expect(args('herodotus-query-load')[0]).toBe('query-load');
    expect(args('herodotus-scenario')[0]).toBe('scenario');
    expect(get(t, 'Job', 'herodotus-generate').spec.suspend).toBe(t !== 'dev');
  });
});

describe('Dockerfile', () => {
  it('passes hadolint', () => {
    const r = run(tools.hadolint, ['--config', '.hadolint.yaml', '--no-color', 'Dockerfile']);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('hadolint does fail on a bad Dockerfile (the lint is live)', () => {
    const bad = path.join(tmp, 'Dockerfile.bad');
    fs.writeFileSync(bad, 'FROM node:latest\nRUN cd /app && npm install left-pad\n');
    const r = run(tools.hadolint, ['--config', '.hadolint.yaml', '--no-color', bad]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/DL3007/);
  });

  it('is multi-stage on node:20-bookworm-slim, non-root, with the herodotus bin as entrypoint', () => {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(text.match(/^FROM /gm)).toHaveLength(2);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/^USER 1000:1000$/m);
    expect(text).toMatch(/^ENTRYPOINT \["herodotus"\]$/m);
    expect(text).toMatch(/ln -s \/app\/bin\/herodotus\.mjs \/usr\/local\/bin\/herodotus/);
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(pkg.bin.herodotus).toBe('bin/herodotus.mjs');
    // tsx runs the sources at run time, so it must survive --omit=dev.
    expect(pkg.dependencies.tsx).toBeTruthy();
    // The build context keeps what the process loads at run time.
    const ignored = fs
      .readFileSync(path.join(PROJECT_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const needed of ['bin', 'cli', 'lib', 'api', 'workflows', 'package.json', 'package-lock.json', 'tsconfig.json'])
      expect(ignored).not.toContain(needed);
  });
});
