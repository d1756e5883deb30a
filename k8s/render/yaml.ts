import { stringify } from 'yaml';
import type { Obj } from './objects';

/**
 * Block style throughout: sequences at their key's indentation, no line
 * folding (the XML in ConfigMaps stays as written, as `|` literals), and
 * repeated objects (labels, probes) written out in full rather than as
 * anchors and aliases, so that every document reads on its own.
 */
const OPTIONS = { indentSeq: false, lineWidth: 0, aliasDuplicateObjects: false } as const;

/** A YAML stream: the header comment, then every object as a document of its own. */
export function toYaml(docs: Obj[], header: string): string {
  return `${header}${docs.map((d) => `---\n${stringify(d, OPTIONS)}`).join('')}`;
}
