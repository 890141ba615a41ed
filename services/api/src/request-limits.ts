/**
 * Bounds on what one request may make the API parse, checked before the parser allocates: nesting
 * depth of JSON and YAML, YAML aliases and documents, and query parameters. A deep value used to
 * crash the YAML parser (out of memory) and reach Postgres (whose jsonb recursion limit answered
 * 500). Each refusal is a 4xx naming the limit (`body/max-depth`, `query/max-parameters` …).
 */
import { parse as parseQuery } from 'node:querystring';
import { InputError } from '@tugboat/resource-model';

export interface RequestLimits {
  /** Deepest nesting of arrays and objects in a body (JSON or YAML). */
  maxDepth: number;
  /** YAML aliases resolved per document (the yaml library's `maxAliasCount`). */
  maxAliases: number;
  /** YAML documents in one body, empty ones included. */
  maxDocuments: number;
  /**
   * Scalars (keys and values) in one YAML body. The yaml library takes ~10 µs a scalar here, so a
   * 1 MiB body of `1,1,1,…` held the event loop for seconds; JSON has no such cost.
   */
  maxYamlScalars: number;
  /** Query parameters in one URL. */
  maxQueryParameters: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxDepth: 64,
  maxAliases: 100,
  maxDocuments: 1000,
  maxYamlScalars: 100_000,
  maxQueryParameters: 64,
};

export function depthError(maxDepth: number, where = 'body'): InputError {
  return new InputError(`${where}: nested deeper than ${maxDepth} levels (the API's limit)`, { details: [{ path: where, rule: 'max-depth' }] });
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Throws when JSON text nests deeper than `maxDepth`. One pass over the bytes, skipping strings;
 * run on the raw body before `JSON.parse`, so a deep body costs no more than its length.
 */
export function assertJsonTextDepth(text: Uint8Array, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > maxDepth) throw depthError(maxDepth);
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) depth--;
  }
}

/** Throws when a parsed value nests deeper than `maxDepth`; iterative, so any depth is safe to walk. */
export function assertValueDepth(value: unknown, maxDepth: number, where = 'body'): void {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > maxDepth) throw depthError(maxDepth, where);
    for (const item of Array.isArray(node) ? node : Object.values(node)) pending.push([item, depth + 1]);
  }
}

/**
 * Express's `query parser`: flat `name=value` pairs (a repeated name gives an array, never nested
 * objects as `qs` would build), at most `maxQueryParameters` of them. More is a 400 when a route
 * reads the query, instead of being dropped silently.
 */
export function createQueryParser(limits: Pick<RequestLimits, 'maxQueryParameters'>): (query: string | null | undefined) => Record<string, unknown> {
  return (query) => {
    // Express passes null when the URL has no `?`.
    const text = query ?? '';
    // Counting separators is cheaper than parsing what will be refused anyway.
    let parameters = text === '' ? 0 : 1;
    for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) parameters++;
    if (parameters > limits.maxQueryParameters) {
      throw new InputError(`query: more than ${limits.maxQueryParameters} parameters (the API's limit)`, { details: [{ path: 'query', rule: 'max-parameters' }] });
    }
    // A null-prototype object: `?__proto__=x` is a plain key, never a prototype.
    return Object.assign(Object.create(null) as Record<string, unknown>, parseQuery(text, '&', '=', { maxKeys: limits.maxQueryParameters }));
  };
}
