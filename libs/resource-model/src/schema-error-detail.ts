import type { ErrorDetail } from './errors.js';

/** What a JSON Schema validator (ajv) reports for one failure; structural, so no ajv dependency here. */
export interface SchemaValidationError {
  instancePath: string;
  /** Where in the schema the failing keyword sits (`#/properties/spec/oneOf`). */
  schemaPath?: string;
  keyword: string;
  params: unknown;
  message?: string | undefined;
}

/**
 * A validator's error as the API names it: `{ path: 'spec.replicas', rule: 'minimum' }`, with the
 * unknown or missing property appended to the path and array indexes written `[i]`. The API and
 * the testing fake both answer with these, so a client sees the same details from either.
 */
export function schemaErrorDetail(root: string, error: SchemaValidationError): ErrorDetail {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = (error.params ?? {}) as Record<string, unknown>;
  if (error.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') segments.push(params['additionalProperty']);
  if (error.keyword === 'required' && typeof params['missingProperty'] === 'string') segments.push(params['missingProperty']);
  const path = [root, ...segments].map((s, i) => (i > 0 && /^\d+$/.test(s) ? `[${s}]` : s)).join('.').replace(/\.\[/g, '[');
  return { path, rule: error.keyword, message: error.keyword === 'additionalProperties' ? 'unknown field' : (error.message ?? error.keyword) };
}

/**
 * Every error of one validation, each as `schemaErrorDetail` names it, except a choice of fields:
 * a `oneOf` whose branches each only require one property (`oneOf: [{required: [container]},
 * {required: [manifests]}]`). The validator says "must match exactly one schema in oneOf" at the
 * object and adds a `required` per branch; this says which fields, in one detail:
 * `spec.manifests` (rule `oneOf`) "set only one of container, manifests", or `spec.container`
 * "set one of container, manifests".
 */
export function schemaErrorDetails(root: string, given: readonly SchemaValidationError[], schema: unknown): ErrorDetail[] {
  // An `if` that failed its `then` (or `else`) is said by that branch's own errors ("must match
  // \"then\" schema" says nothing a user can act on).
  const errors = given.some((error) => error.keyword !== 'if') ? given.filter((error) => error.keyword !== 'if') : given;
  const choices = new Map<string, string[]>();
  for (const error of errors) {
    if (error.keyword !== 'oneOf' || error.schemaPath === undefined) continue;
    const fields = choiceFields(schemaAt(schema, error.schemaPath));
    if (fields) choices.set(error.schemaPath, fields);
  }
  if (choices.size === 0) return errors.map((error) => schemaErrorDetail(root, error));
  const details: ErrorDetail[] = [];
  for (const error of errors) {
    const fields = error.schemaPath === undefined ? undefined : choices.get(error.schemaPath);
    if (fields === undefined) {
      // A branch's own `required` error is said by the choice's detail.
      const branchOfChoice = [...choices.keys()].some((at) => error.schemaPath?.startsWith(`${at}/`) && error.keyword === 'required');
      if (!branchOfChoice) details.push(schemaErrorDetail(root, error));
      continue;
    }
    const passing = ((error.params ?? {}) as Record<string, unknown>)['passingSchemas'];
    const at = schemaErrorDetail(root, { ...error, keyword: 'oneOf' }).path;
    const named = fields.join(', ');
    if (Array.isArray(passing) && passing.length > 1) {
      const extra = fields[passing[1] as number] ?? fields[fields.length - 1]!;
      details.push({ path: `${at}.${extra}`, rule: 'oneOf', message: `set only one of ${named}: they are alternatives` });
    } else {
      details.push({ path: `${at}.${fields[0]!}`, rule: 'oneOf', message: `set one of ${named}` });
    }
  }
  return details;
}

/** The node at a schema path (`#/properties/container/oneOf`), own keys only. */
function schemaAt(schema: unknown, schemaPath: string): unknown {
  let node = schema;
  for (const raw of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (raw === '') continue;
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** The one field each branch requires, when every branch of a `oneOf` is only that. */
function choiceFields(branches: unknown): string[] | undefined {
  if (!Array.isArray(branches) || branches.length < 2) return undefined;
  const fields: string[] = [];
  for (const branch of branches) {
    if (typeof branch !== 'object' || branch === null) return undefined;
    const keys = Object.keys(branch);
    const required = (branch as Record<string, unknown>)['required'];
    if (keys.length !== 1 || !Array.isArray(required) || required.length !== 1 || typeof required[0] !== 'string') return undefined;
    fields.push(required[0]);
  }
  return fields;
}
