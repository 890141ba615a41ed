/**
 * Turns a kind's JSON Schema into a validator the API can enforce on every write, or into a list
 * of reasons it cannot. A schema is refused when Tugboat could not enforce it synchronously and in
 * bounded time: `$async` (ajv would return a promise, which reads as "valid"), `$id` (ids live in
 * one ajv instance shared by every kind), a `$ref` that is not local (`#…`), an unknown keyword or
 * format (ajv's strict mode), and a `pattern` / `patternProperties` key that the linear-time
 * engine (RE2, through `re2js`) does not support (lookarounds, backreferences).
 *
 * Every pattern runs on RE2: matching is linear in the value's length, so `^(a+)+$` cannot stall
 * the event loop however the value is crafted.
 */
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import traverse from 'json-schema-traverse';
import { RE2JS } from 're2js';
import { schemaErrorDetails, type ErrorDetail } from '@tugboat/resource-model';
import { isJsonObject } from './json-value.js';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
type RegExpEngine = NonNullable<NonNullable<Options['code']>['regExp']>;

/**
 * Deeper schemas are refused before any recursive walk (and before ajv) sees them. Below the API's
 * body depth (64), so a request meets this rule (422 naming the schema) rather than the body limit.
 */
export const MAX_SCHEMA_DEPTH = 48;

/** `maxItems` an array checked with `uniqueItems` needs when its items are not scalars (ajv compares every pair). */
export const MAX_UNIQUE_ITEMS_COMPARED = 500;

/** Path segments that would reach an object's prototype instead of its own data. */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface SchemaProblem extends ErrorDetail {
  message: string;
}

export type CompiledSchema = { validate: (spec: unknown) => ErrorDetail[]; problems?: undefined } | { validate?: undefined; problems: SchemaProblem[] };

export interface KindSchemaCompiler {
  /** A validator for `spec`, or every reason the schema is refused (paths start at `schema`). */
  compile(schema: Record<string, unknown>): CompiledSchema;
  /** Forgets a schema compiled earlier (ajv caches every compiled schema by identity). */
  release(schema: Record<string, unknown>): void;
}

/** Compiles `pattern` for RE2; throws with RE2's reason when it is not supported. */
export function compileLinearPattern(pattern: string): RE2JS {
  return RE2JS.compile(RE2JS.translateRegExp(pattern));
}

/** ajv's `code.regExp`: every `pattern` and `patternProperties` key runs on RE2. */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string) => {
    const compiled = compileLinearPattern(pattern);
    // ajv keys its pattern cache by `toString()`: keep it distinct per pattern.
    return { test: (value: string) => compiled.test(value), toString: () => `re2:${pattern}` };
  },
  { code: 're2' },
);

export function createKindSchemaCompiler(): KindSchemaCompiler {
  const ajv = addFormats(
    new Ajv({
      allErrors: true,
      // Unknown keywords and formats are errors, not silently ignored constraints.
      strictSchema: true,
      strictNumbers: true,
      strictTuples: true,
      strictTypes: false,
      strictRequired: false,
      // A schema's `$id` is never added to the shared instance (and is refused anyway).
      addUsedSchema: false,
      code: { regExp: linearRegExp },
      logger: false,
    }),
  );
  return {
    compile(schema) {
      const problems = checkSchema(schema);
      if (problems.length > 0) return { problems };
      let validate: ValidateFunction;
      try {
        validate = ajv.compile(schema);
      } catch (error) {
        return { problems: [{ path: 'schema', rule: 'schema', message: `does not compile: ${(error as Error).message}` }] };
      }
      if ((validate as { $async?: unknown }).$async === true) {
        ajv.removeSchema(schema);
        return { problems: [{ path: 'schema', rule: 'async', message: 'asynchronous validation cannot be enforced on a write' }] };
      }
      return {
        validate(spec) {
          const valid: unknown = validate(spec);
          if (valid === true) return [];
          // Fail closed: anything but `false` (a promise) means the schema was not enforced.
          if (valid !== false) return [{ path: 'spec', rule: 'schema', message: 'the kind schema cannot be enforced synchronously' }];
          return schemaErrorDetails('spec', validate.errors ?? [], schema);
        },
      };
    },
    release(schema) {
      ajv.removeSchema(schema);
    },
  };
}

/** The checks ajv does not do: depth, `$async`, `$id`, non-local `$ref`, and RE2-compatible patterns. */
function checkSchema(schema: Record<string, unknown>): SchemaProblem[] {
  const depth = jsonDepth(schema);
  if (depth > MAX_SCHEMA_DEPTH) return [{ path: 'schema', rule: 'max-depth', message: `nests ${depth} levels deep, the limit is ${MAX_SCHEMA_DEPTH}` }];
  const problems: SchemaProblem[] = [];
  const at = (pointer: string, ...more: string[]) => pointerToPath(pointer, more);
  traverse(schema, { allKeys: false }, (node, pointer) => {
    if (Object.hasOwn(node, '$async')) problems.push({ path: at(pointer, '$async'), rule: 'async', message: 'asynchronous validation cannot be enforced on a write' });
    if (Object.hasOwn(node, '$id')) problems.push({ path: at(pointer, '$id'), rule: 'id', message: 'schema ids are not supported (they would be shared by every kind); use $defs and a local $ref' });
    const ref: unknown = node['$ref'];
    if (Object.hasOwn(node, '$ref') && (typeof ref !== 'string' || !ref.startsWith('#'))) {
      problems.push({ path: at(pointer, '$ref'), rule: 'remote-ref', message: `only local references ("#/…") are allowed, not ${JSON.stringify(ref)}` });
    }
    if (node['uniqueItems'] === true && !scalarItems(node['items'])) {
      // ajv compares every item with every other unless the items are of a scalar type: an ordinary
      // user's 15,000 nested arrays took 1.7 s, a 1 MiB body would have held the API for minutes.
      const maxItems: unknown = node['maxItems'];
      if (typeof maxItems !== 'number' || maxItems > MAX_UNIQUE_ITEMS_COMPARED) {
        problems.push({
          path: at(pointer, 'uniqueItems'),
          rule: 'unique-items-bound',
          message: `uniqueItems on items that are not of a scalar type (string, number, integer, boolean) needs maxItems of at most ${MAX_UNIQUE_ITEMS_COMPARED}: each item is compared with every other`,
        });
      }
    }
    const pattern: unknown = node['pattern'];
    if (typeof pattern === 'string') checkPattern(pattern, at(pointer, 'pattern'), problems);
    const patternProperties: unknown = node['patternProperties'];
    if (isJsonObject(patternProperties)) for (const key of Object.keys(patternProperties)) checkPattern(key, at(pointer, 'patternProperties', key), problems);
  });
  return problems;
}

/** Items ajv checks for uniqueness in linear time: a `type` that names only scalar types. */
function scalarItems(items: unknown): boolean {
  if (!isJsonObject(items)) return false;
  const type: unknown = items['type'];
  const types = Array.isArray(type) ? type : [type];
  return types.length > 0 && types.every((t) => t === 'string' || t === 'number' || t === 'integer' || t === 'boolean' || t === 'null');
}

function checkPattern(pattern: string, path: string, problems: SchemaProblem[]): void {
  try {
    compileLinearPattern(pattern);
  } catch (error) {
    problems.push({
      path,
      rule: 'pattern',
      message: `pattern ${JSON.stringify(pattern)} is not supported by the linear-time engine (RE2: no lookarounds or backreferences): ${(error as Error).message}`,
    });
  }
}

/** Deepest nesting of objects and arrays, walked with an explicit stack (no recursion to overflow). */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_SCHEMA_DEPTH) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** `/properties/name` + `pattern` → `schema.properties.name.pattern`. */
function pointerToPath(pointer: string, more: string[]): string {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return ['schema', ...segments, ...more].join('.');
}

/**
 * The schema node a dotted spec path is declared by, following `properties` only (own keys, no
 * `$ref` or combinators): what secret and reference fields must point at. A string says why not.
 */
export function declaredAt(schema: Record<string, unknown>, dotted: string): Record<string, unknown> | string {
  let node: Record<string, unknown> = schema;
  for (const part of dotted.split('.')) {
    // `name[]`: each item of the array `name` (reference paths only; the caller checks the syntax).
    const each = part.endsWith('[]');
    const segment = each ? part.slice(0, -2) : part;
    if (FORBIDDEN_SEGMENTS.has(segment)) return `"${segment}" is not allowed in a path`;
    const properties = node['properties'];
    if (!isJsonObject(properties) || !Object.hasOwn(properties, segment) || !isJsonObject(properties[segment])) {
      return `"${segment}" is not declared in the schema's properties`;
    }
    node = properties[segment];
    if (each) {
      const items = node['items'];
      if (node['type'] !== 'array' || !isJsonObject(items)) return `"${segment}" must be declared as an array with an items schema`;
      node = items;
    }
  }
  return node;
}

