import type { ErrorDetail } from './errors.js';

/** What a JSON Schema validator (ajv) reports for one failure; structural, so no ajv dependency here. */
export interface SchemaValidationError {
  instancePath: string;
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
