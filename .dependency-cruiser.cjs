// The layer rules of docs/architecture.md#layers, checked by `npm test` (npm run lint:deps).
// Each layer may import its own folder and layers of a lower rank, never a sibling of the same
// rank and never upwards, types included: shared model types live on the floor that owns them.

/** Lowest first. Layers in one row share a rank and do not import each other. */
const LAYERS = [
  ['lib/model'],
  ['lib/config', 'lib/log'],
  ['lib/batch', 'lib/telemetry', 'lib/lineprotocol'],
  ['lib/clickhouse', 'lib/kafka'],
  ['lib/rollup'],
  ['lib/lens', 'lib/ingest', 'lib/series'],
  ['generator'],
  ['lib/backfill', 'lib/mqtt'],
  ['activities'],
  ['workflows'],
  ['workers'],
  ['api'],
  ['service'],
  ['harness/verify'],
  ['harness/stack'],
  ['harness/load'],
  ['harness/scenario'],
  ['bench'],
  ['cli'],
];

const folder = (layer) => `^${layer}/`;

const layerRules = LAYERS.flatMap((row, rank) =>
  row.map((layer) => {
    const allowed = LAYERS.slice(0, rank).flat().concat(layer);
    const known = LAYERS.flat().map(folder).join('|');
    return {
      name: `layer:${layer}`,
      comment: `${layer} may import only ${allowed.join(', ')} (and packages)`,
      severity: 'error',
      from: { path: folder(layer) },
      to: { path: known, pathNot: allowed.map(folder).join('|') },
    };
  }),
);

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'workflows-deterministic',
      comment:
        'Workflow code runs in the Temporal sandbox: values only from @temporalio/workflow and workflows/, everything else type-only',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { pathNot: '^workflows/|@temporalio/workflow', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'ships-without-tooling',
      comment:
        'What ships (lib, api, service, workers, workflows, activities, generator) never imports the harness, benchmarks, CLI or tests',
      severity: 'error',
      from: { path: '^(lib|api|service|workers|workflows|activities|generator)/' },
      to: { path: '^(harness|bench|cli|test)/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.tools|\\.herodotus)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
