/**
 * ClickHouse configuration files as trees: an element holds a value, other
 * nodes or nothing; comments sit between elements. The writer escapes every
 * value and indents by two spaces, so callers build data and never splice
 * strings into XML.
 */
export type XmlValue = string | number;

export interface XmlElement {
  tag: string;
  attrs: Record<string, string>;
  /** Absent: an empty element (`<tag attr="…"/>`). */
  body?: XmlValue | XmlNode[];
}

export interface XmlComment {
  comment: string;
}

export type XmlNode = XmlElement | XmlComment;

export function el(tag: string, body?: XmlValue | XmlNode[], attrs: Record<string, string> = {}): XmlElement {
  return body === undefined ? { tag, attrs } : { tag, attrs, body };
}

export function comment(text: string): XmlComment {
  return { comment: text };
}

/** An element whose value the server reads from an environment variable when it starts (a password). */
export function fromEnv(tag: string, variable: string): XmlElement {
  return el(tag, undefined, { from_env: variable });
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attrText(attrs: Record<string, string>): string {
  return Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${xmlEscape(v).replace(/"/g, '&quot;')}"`)
    .join('');
}

function lines(node: XmlNode, pad: string): string[] {
  if ('comment' in node) return [`${pad}<!-- ${node.comment} -->`];
  const open = `${node.tag}${attrText(node.attrs)}`;
  if (node.body === undefined) return [`${pad}<${open}/>`];
  if (!Array.isArray(node.body)) return [`${pad}<${open}>${xmlEscape(String(node.body))}</${node.tag}>`];
  return [`${pad}<${open}>`, ...node.body.flatMap((n) => lines(n, `${pad}  `)), `${pad}</${node.tag}>`];
}

/** A config file: the declaration, comments about the file, then the root element holding `body`. */
export function xmlDocument(root: string, body: XmlNode[], about: string[] = []): string {
  const head = ['<?xml version="1.0"?>', ...about.flatMap((c) => lines(comment(c), ''))];
  return `${[...head, ...lines(el(root, body), '')].join('\n')}\n`;
}
