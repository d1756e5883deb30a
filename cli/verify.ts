import { z } from 'zod';
import { kafkaBrokers, loadConfig } from '../lib/config/config';
import { tokenFor } from '../lib/config/tokens';
import { Manifest } from '../generator/manifest';
import { createKafka } from '../lib/kafka/client';
import { createLogger } from '../lib/log/logger';
import { HerodotusApi } from '../harness/verify/api-client';
import { verifyAgainstManifest } from '../harness/verify/report';
import { parseOptions } from '../lib/config/args';

const HELP = `usage: herodotus verify --manifest FILE [--api URL] [--json]

Compares what Herodotus stored with a generator manifest: per sensor distinct
points and checksum of (ts, value), duplicates, and the dead-letter topic.
Exit code 1 when anything is lost, duplicated or different.

  --manifest FILE   manifest written by 'herodotus generate --manifest'
  --api URL         Herodotus API (default http://127.0.0.1:$HERODOTUS_PORT)
  --json            print the report as one JSON line`;

const schema = z.object({ manifest: z.string(), api: z.string().url().optional(), json: z.boolean().default(false) });

export async function verify(argv: string[]): Promise<number> {
  const args = parseOptions(argv, { manifest: { type: 'string' }, api: { type: 'string' }, json: { type: 'boolean' } }, schema, HELP);
  const config = loadConfig();
  const log = createLogger('verify', config.logLevel);
  const api = new HerodotusApi(args.api ?? `http://${config.http.host}:${config.http.port}`, tokenFor(config.http.apiTokens, 'admin'));
  const manifest = await Manifest.readFile(args.manifest);
  const kafka = createKafka(kafkaBrokers(config), 'herodotus-verify', log);
  const report = await verifyAgainstManifest(api, kafka, config.kafka.dlqTopic, manifest, log);
  if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    process.stdout.write(
      [
        `generated points  ${report.generated_points}`,
        `stored points     ${report.stored_points}`,
        `lost points       ${report.lost_points}`,
        `duplicate points  ${report.duplicate_points}`,
        `unexpected points ${report.unexpected_points}`,
        `sensors differing ${report.mismatched_sensors.length}`,
        `dead letters      ${report.dlq_records} (garbage sent: ${report.garbage_records})`,
        report.ok ? 'OK: storage matches the manifest' : 'FAILED: storage does not match the manifest',
      ].join('\n') + '\n',
    );
  }
  return report.ok ? 0 : 1;
}
