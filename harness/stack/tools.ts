import fs from 'node:fs';
import path from 'node:path';

export interface Tools {
  temporal: string;
  kafkaLibs: string;
  java: string;
}

/** Paths of the tools scripts/setup.mjs installed. */
export function loadTools(toolsDir: string): Tools {
  const file = path.join(toolsDir, 'tools.json');
  if (!fs.existsSync(file)) throw new Error(`${file} not found: run 'npm run setup' (node scripts/setup.mjs) first`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Tools;
}
