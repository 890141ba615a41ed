/**
 * Fields given twice in one request body. `JSON.parse` keeps the last one silently, but
 * kube-apiserver's strict decoder reports them (`duplicate field "spec.replicas"`), so the raw text
 * is scanned. Paths are named as the server names unknown fields (`spec.containers[0].image`).
 */
import YAML, { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';

/** Scans text that `JSON.parse` has already accepted, so it only follows structure and keys. */
export function duplicateFieldsOfJson(text: string): string[] {
  const found: string[] = [];
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && (text[at] === ' ' || text[at] === '\n' || text[at] === '\r' || text[at] === '\t')) at += 1;
  };
  const readString = (): string => {
    const start = at;
    let escaped = false;
    at += 1;
    while (at < text.length && text[at] !== '"') {
      if (text[at] === '\\') {
        escaped = true;
        at += 2;
      } else at += 1;
    }
    at += 1;
    return escaped ? (JSON.parse(text.slice(start, at)) as string) : text.slice(start + 1, at - 1);
  };
  const readValue = (path: string): void => {
    skipSpace();
    const char = text[at];
    if (char === '{') {
      at += 1;
      const seen = new Set<string>();
      skipSpace();
      if (text[at] === '}') {
        at += 1;
        return;
      }
      while (at < text.length) {
        skipSpace();
        const key = readString();
        skipSpace();
        at += 1; // ':'
        const childPath = path === '' ? key : `${path}.${key}`;
        if (seen.has(key)) found.push(childPath);
        seen.add(key);
        readValue(childPath);
        skipSpace();
        const separator = text[at];
        at += 1;
        if (separator !== ',') return;
      }
      return;
    }
    if (char === '[') {
      at += 1;
      skipSpace();
      if (text[at] === ']') {
        at += 1;
        return;
      }
      for (let index = 0; at < text.length; index += 1) {
        readValue(`${path}[${index}]`);
        skipSpace();
        const separator = text[at];
        at += 1;
        if (separator !== ',') return;
      }
      return;
    }
    if (char === '"') {
      readString();
      return;
    }
    while (at < text.length && !',}] \n\r\t'.includes(text[at] as string)) at += 1;
  };
  readValue('');
  return found;
}

/** Parses a YAML body keeping duplicate keys (the last one wins, as when the server converts YAML to JSON) and names them. */
export function parseYamlNotingDuplicates(text: string): { value: unknown; duplicates: string[] } {
  const document = YAML.parseDocument(text, { uniqueKeys: false });
  if (document.errors.length > 0) throw document.errors[0] as Error;
  const duplicates: string[] = [];
  const visit = (node: Node | null | undefined, path: string) => {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const childPath = path === '' ? key : `${path}.${key}`;
        if (seen.has(key)) duplicates.push(childPath);
        seen.add(key);
        visit(pair.value as Node | null, childPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item as Node | null, `${path}[${index}]`));
    }
  };
  visit(document.contents, '');
  return { value: document.toJS() as unknown, duplicates };
}
