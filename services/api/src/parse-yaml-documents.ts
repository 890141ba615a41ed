/**
 * YAML text → the JavaScript value of each document, within `RequestLimits`. The yaml library's
 * parser slows down with nesting depth (2,000 nested `[` take half a second, 500,000 take 16 s and
 * 600 MB) and its composer recurses (2 KB of `[[[[…` ran the API out of memory), so its own lexer,
 * which is linear and keeps nothing, measures the text first: flow nesting exactly, block nesting as
 * a bound (indentation plus the indicators on a line). Only then is the text parsed, one document
 * at a time, with the library's own alias limit, and the values' real depth checked.
 */
import { Composer, Lexer, Parser, isScalar, visit, type Document } from 'yaml';
import { InputError } from '@tugboat/resource-model';
import { assertValueDepth, depthError, type RequestLimits } from './request-limits.js';

/**
 * Block nesting is only estimated by the pre-scan (it counts one level per indentation column),
 * so it refuses at a multiple of the limit; the exact check on the values follows.
 */
const BLOCK_ESTIMATE_FACTOR = 4;

/** What the yaml library's lexer yields before each scalar. */
const SCALAR_MARK = '\u001f';

/**
 * Where the text came from, for the errors: a request body (the default: a document's detail path
 * is `items[i]`), or a field holding YAML (`spec.manifests`: every detail names the field and the
 * message the document).
 */
export interface YamlSource {
  field: string;
  documentPath(index: number): string;
}

const BODY: YamlSource = { field: 'body', documentPath: (index) => `items[${index}]` };

/** A field's detail says which document (its path cannot); a body's path already does. */
const detailMessage = (source: YamlSource, message: string): { message?: string } => (source === BODY ? {} : { message });

/** The limits a YAML text is read within. */
export type YamlLimits = Pick<RequestLimits, 'maxDepth' | 'maxAliases' | 'maxDocuments' | 'maxYamlScalars'>;

export function parseYamlDocuments(text: string, limits: YamlLimits, source: YamlSource = BODY): unknown[] {
  prescan(text, limits, source.field);
  const values: unknown[] = [];
  // The library's own duplicate-key check compares each key with every other key of its mapping
  // (80,000 keys held the event loop for minutes): keys are checked here instead, with a set per mapping.
  const composer = new Composer({ uniqueKeys: false });
  const take = (document: Document.Parsed): void => {
    const index = values.length;
    const problem = document.errors[0];
    if (problem) {
      throw new InputError(`${source.field}: YAML document ${index + 1} does not parse: ${problem.message}`, {
        details: [{ path: source.documentPath(index), rule: 'yaml', ...detailMessage(source, `YAML document ${index + 1} does not parse: ${problem.message}`) }],
      });
    }
    const duplicate = duplicateKey(document);
    if (duplicate !== undefined) {
      const line = duplicate.offset === undefined ? undefined : lineAt(text, duplicate.offset);
      const message = `YAML document ${index + 1} has the key ${JSON.stringify(String(duplicate.key).slice(0, 64))} twice in one mapping${line === undefined ? '' : ` (line ${line})`}`;
      throw new InputError(`${source.field}: ${message}`, { details: [{ path: source.documentPath(index), rule: 'yaml', ...detailMessage(source, message) }] });
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: limits.maxAliases });
    } catch (error) {
      // The library's message for too many aliases ("a resource exhaustion attack") names no number.
      const aliases = /alias/i.test((error as Error).message);
      const message = aliases
        ? `YAML document ${index + 1} expands more than ${limits.maxAliases} aliases (the API's limit)`
        : `YAML document ${index + 1} cannot be read: ${(error as Error).message}`;
      throw new InputError(`${source.field}: ${message}`, { details: [{ path: source.documentPath(index), rule: aliases ? 'max-aliases' : 'yaml', ...detailMessage(source, message) }] });
    }
    assertValueDepth(value, limits.maxDepth, source.field);
    values.push(value);
  };
  for (const token of new Parser().parse(text)) for (const document of composer.next(token)) take(document);
  for (const document of composer.end()) take(document);
  return values;
}

/**
 * The first key a mapping of the document holds twice (scalar keys, compared by value as the
 * library compares them; merge keys are not enabled, so `<<` is a key like any other), with its
 * offset; linear in the keys.
 */
function duplicateKey(document: Document.Parsed): { key: unknown; offset?: number } | undefined {
  let found: { key: unknown; offset?: number } | undefined;
  visit(document, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = pair.key.value;
        if (seen.has(key)) {
          const offset = pair.key.range?.[0];
          found = { key, ...(offset === undefined ? {} : { offset }) };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) line++;
  return line;
}

function prescan(text: string, limits: Pick<RequestLimits, 'maxDepth' | 'maxDocuments' | 'maxYamlScalars'>, where: string): void {
  let flowDepth = 0;
  let scalars = 0;
  let documents = 1;
  let lineStart = true;
  let lineDepth = 0;
  for (const lexeme of new Lexer().lex(text)) {
    // The lexer marks every scalar with this control character before its text.
    if (lexeme === SCALAR_MARK) {
      if (++scalars > limits.maxYamlScalars) {
        throw new InputError(`${where}: more than ${limits.maxYamlScalars} keys and values in YAML (the API's limit); send JSON, or fewer objects per request`, {
          details: [{ path: where, rule: 'max-yaml-scalars' }],
        });
      }
    } else if (lexeme === '[' || lexeme === '{') {
      if (++flowDepth > limits.maxDepth) throw depthError(limits.maxDepth, where);
    } else if (lexeme === ']' || lexeme === '}') flowDepth = Math.max(0, flowDepth - 1);
    else if (lexeme === '\n') {
      lineStart = true;
      lineDepth = 0;
      continue;
    } else if (lexeme === '---') {
      if (++documents > limits.maxDocuments) {
        throw new InputError(`${where}: more than ${limits.maxDocuments} YAML documents (the API's limit)`, { details: [{ path: where, rule: 'max-documents' }] });
      }
    } else if (lineStart && /^ +$/.test(lexeme)) lineDepth += lexeme.length;
    else if (lexeme === '-' || lexeme === '?' || lexeme === ':') lineDepth++;
    if (lineDepth > limits.maxDepth * BLOCK_ESTIMATE_FACTOR) throw depthError(limits.maxDepth, where);
    lineStart = false;
  }
}
