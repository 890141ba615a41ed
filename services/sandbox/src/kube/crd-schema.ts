/**
 * What a real API server does with a custom resource against its CRD's `openAPIV3Schema`:
 * applies `default`s, checks types, `required`, `enum`, bounds, patterns and lengths (422 Invalid
 * naming each field, worded as the server words it), and prunes fields the schema does not declare
 * unless `x-kubernetes-preserve-unknown-fields` keeps them — or, under `fieldValidation=Strict`
 * (kubectl's default), refuses them with 400.
 */
import { clone, isPlainObject, type JsonObject } from './json-values.js';
import type { FieldError } from './kube-status.js';

export interface SchemaCheck {
  object: JsonObject;
  errors: FieldError[];
  /** Paths of fields the schema does not declare (already pruned from `object`). */
  unknown: string[];
}

type Schema = JsonObject;

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value === 'object' ? 'object' : typeof value;
}

function typeMatches(expected: unknown, value: unknown): boolean {
  const actual = typeOf(value);
  if (expected === undefined) return true;
  if (expected === 'number') return actual === 'number' || actual === 'integer';
  return expected === actual;
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** Metadata is the server's; only these top-level fields are not the schema's business. */
const ENVELOPE = new Set(['apiVersion', 'kind', 'metadata']);
const NOTHING = new Set<string>();

export function checkCustomResource(schema: unknown, input: JsonObject): SchemaCheck {
  const errors: FieldError[] = [];
  const unknown: string[] = [];
  const invalidValue = (path: string, value: unknown, rule: string) =>
    errors.push({ field: path, type: 'FieldValueInvalid', message: `Invalid value: ${show(value)}: ${rule}` });

  function walk(node: Schema, value: unknown, path: string): unknown {
    if (value === null) return node.nullable === true ? null : undefined;
    if (node['x-kubernetes-int-or-string'] === true) {
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) invalidValue(path, value, `${path} in body must be of type integer,string: ${show(typeOf(value))}`);
      return value;
    }
    if (!typeMatches(node.type, value)) {
      invalidValue(path, value, `${path} in body must be of type ${String(node.type)}: ${show(typeOf(value))}`);
      return value;
    }
    if (Array.isArray(node.enum) && !node.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
      errors.push({ field: path, type: 'FieldValueNotSupported', message: `Unsupported value: ${show(value)}: supported values: ${node.enum.map((allowed) => show(allowed)).join(', ')}` });
    }
    if (typeof value === 'number') {
      if (typeof node.minimum === 'number' && value < node.minimum) invalidValue(path, value, `${path} in body should be greater than or equal to ${node.minimum}`);
      if (typeof node.maximum === 'number' && value > node.maximum) invalidValue(path, value, `${path} in body should be less than or equal to ${node.maximum}`);
    }
    if (typeof value === 'string') {
      if (typeof node.minLength === 'number' && value.length < node.minLength) invalidValue(path, value, `${path} in body should be at least ${node.minLength} chars long`);
      if (typeof node.maxLength === 'number' && value.length > node.maxLength) errors.push({ field: path, type: 'FieldValueInvalid', message: `Too long: may not be more than ${node.maxLength} bytes` });
      if (typeof node.pattern === 'string' && !new RegExp(node.pattern, 'u').test(value)) invalidValue(path, value, `${path} in body should match '${node.pattern}'`);
    }
    if (Array.isArray(value)) {
      if (typeof node.minItems === 'number' && value.length < node.minItems) invalidValue(path, value, `${path} in body should have at least ${node.minItems} items`);
      if (typeof node.maxItems === 'number' && value.length > node.maxItems) errors.push({ field: path, type: 'FieldValueInvalid', message: `Too many: ${value.length}: must have at most ${node.maxItems} items` });
      const items = isPlainObject(node.items) ? node.items : undefined;
      return items ? value.map((item, index) => walk(items, item, `${path}[${index}]`)).filter((item) => item !== undefined) : value;
    }
    // An embedded resource always has room for its type and metadata, declared or not.
    if (isPlainObject(value)) return walkObject(node, value, path, node['x-kubernetes-embedded-resource'] === true ? ENVELOPE : undefined);
    return value;
  }

  function walkObject(node: Schema, value: JsonObject, path: string, skip: Set<string> = NOTHING): JsonObject {
    const properties = isPlainObject(node.properties) ? node.properties : {};
    const additional = node.additionalProperties;
    const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(value)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      if (skip.has(key)) {
        out[key] = child;
        continue;
      }
      const childSchema = properties[key];
      if (isPlainObject(childSchema)) {
        const walked = walk(childSchema, child, childPath);
        if (walked !== undefined) out[key] = walked;
      } else if (isPlainObject(additional)) {
        const walked = walk(additional, child, childPath);
        if (walked !== undefined) out[key] = walked;
      } else if (preserve || additional === true) {
        out[key] = child;
      } else {
        unknown.push(childPath);
      }
    }
    for (const [key, childSchema] of Object.entries(properties)) {
      if (out[key] === undefined && isPlainObject(childSchema) && childSchema.default !== undefined) out[key] = clone(childSchema.default);
    }
    const required = Array.isArray(node.required) ? node.required : [];
    for (const key of required) {
      if (out[key] === undefined) errors.push({ field: path === '' ? String(key) : `${path}.${String(key)}`, type: 'FieldValueRequired', message: 'Required value' });
    }
    return out;
  }

  if (!isPlainObject(schema)) return { object: input, errors, unknown };
  const object = walkObject(schema, input, '', ENVELOPE);
  return { object, errors, unknown };
}

/** The `openAPIV3Schema` of one version of a CRD, if it declares one. */
export function schemaOfCrdVersion(crd: JsonObject | undefined, version: string): unknown {
  const spec = isPlainObject(crd?.spec) ? crd.spec : {};
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isPlainObject) : [];
  const schema = versions.find((candidate) => candidate.name === version)?.schema;
  return isPlainObject(schema) ? schema.openAPIV3Schema : undefined;
}
