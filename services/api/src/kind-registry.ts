/**
 * Kinds as data: the built-in kinds from `@tugboat/resource-model` plus the kinds registered at run
 * time (table `kinds`), each with a compiled ajv validator for its `spec`. A lookup that misses
 * re-reads the table, so a kind registered through another API replica is found too.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { Kysely } from 'kysely';
import {
  BUILTIN_KINDS,
  ConflictError,
  InputError,
  NotFoundError,
  isDnsLabel,
  type ErrorDetail,
  type KindDefinition,
} from '@tugboat/resource-model';
import type { Database } from './database-schema.js';
import { jsonb } from './database.js';
import { isJsonObject } from './json-value.js';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** Path segments the API itself serves under `/v1`. */
const RESERVED_NAMES = new Set(['kinds', 'tokens', 'whoami', 'kind', 'token', 'apply', 'watch']);

export interface RegisteredKind {
  definition: KindDefinition;
  validateSpec(spec: unknown): ErrorDetail[];
}

export interface KindRegistry {
  /** By kind, plural, singular or short name (case-insensitive); `undefined` when unknown. */
  get(name: string): Promise<RegisteredKind | undefined>;
  getOrThrow(name: string): Promise<RegisteredKind>;
  list(): Promise<KindDefinition[]>;
  register(input: unknown): Promise<KindDefinition>;
}

export function createKindRegistry(options: { db: Kysely<Database> }): KindRegistry {
  const { db } = options;
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  const byName = new Map<string, RegisteredKind>();
  const byKind = new Map<string, RegisteredKind>();

  function add(definition: KindDefinition): RegisteredKind {
    const validate: ValidateFunction = ajv.compile(definition.schema);
    const registered: RegisteredKind = {
      definition,
      validateSpec(spec) {
        return validate(spec) ? [] : (validate.errors ?? []).map((error) => toDetail('spec', error));
      },
    };
    byKind.set(definition.kind, registered);
    for (const name of namesOf(definition)) byName.set(name, registered);
    return registered;
  }

  for (const builtIn of BUILTIN_KINDS) add(builtIn);

  async function refresh(): Promise<void> {
    const rows = await db.selectFrom('kinds').select(['kind', 'definition']).orderBy('created_at').execute();
    for (const row of rows) if (!byKind.has(row.kind)) add(row.definition as unknown as KindDefinition);
  }

  async function get(name: string): Promise<RegisteredKind | undefined> {
    const key = name.toLowerCase();
    const found = byName.get(key);
    if (found) return found;
    await refresh();
    return byName.get(key);
  }

  return {
    get,
    async getOrThrow(name) {
      const found = await get(name);
      if (!found) throw new NotFoundError(`unknown kind "${name}"`, { details: [{ path: 'kind', rule: 'unknown-kind' }] });
      return found;
    },
    async list() {
      await refresh();
      return [...byKind.values()].map((k) => k.definition);
    },
    async register(input) {
      const definition = parseKindDefinition(input, ajv);
      await refresh();
      for (const name of namesOf(definition)) {
        const taken = byName.get(name);
        if (taken) {
          throw new ConflictError(`"${name}" is already used by kind ${taken.definition.kind}`, {
            details: [{ path: taken.definition.kind === definition.kind ? 'kind' : 'plural', rule: 'unique' }],
          });
        }
      }
      for (const reference of definition.references) {
        if (reference.kind !== definition.kind && !byKind.has(reference.kind)) {
          throw new InputError(`references: kind "${reference.kind}" is unknown`, {
            status: 422,
            details: [{ path: 'references', rule: 'unknown-kind' }],
          });
        }
      }
      const inserted = await db
        .insertInto('kinds')
        .values({ kind: definition.kind, plural: definition.plural, definition: jsonb(definition) })
        .onConflict((oc) => oc.doNothing())
        .returning('kind')
        .executeTakeFirst();
      if (!inserted) throw new ConflictError(`kind ${definition.kind} is already registered`, { details: [{ path: 'kind', rule: 'unique' }] });
      add(definition);
      return definition;
    },
  };
}

function namesOf(definition: KindDefinition): string[] {
  return [...new Set([definition.kind, definition.plural, definition.singular, ...definition.shortNames].map((n) => n.toLowerCase()))];
}

/** ajv error → `{ path: 'spec.replicas', rule: 'minimum' }`. */
export function toDetail(root: string, error: ErrorObject): ErrorDetail {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') segments.push(params['additionalProperty']);
  if (error.keyword === 'required' && typeof params['missingProperty'] === 'string') segments.push(params['missingProperty']);
  const path = [root, ...segments].map((s, i) => (i > 0 && /^\d+$/.test(s) ? `[${s}]` : s)).join('.').replace(/\.\[/g, '[');
  return { path, rule: error.keyword, message: error.keyword === 'additionalProperties' ? 'unknown field' : (error.message ?? error.keyword) };
}

function parseKindDefinition(input: unknown, ajv: Ajv): KindDefinition {
  const details: ErrorDetail[] = [];
  const fail = (path: string, rule: string, message: string) => details.push({ path, rule, message });
  if (!isJsonObject(input)) throw new InputError('body: must be a kind definition object', { status: 422, details: [{ path: 'body', rule: 'type' }] });

  const allowed = new Set(['kind', 'plural', 'singular', 'shortNames', 'scope', 'controller', 'schema', 'references', 'secretFields']);
  for (const key of Object.keys(input)) if (!allowed.has(key)) fail(key, key === 'builtIn' ? 'read-only' : 'additionalProperties', 'unknown field');

  const { kind, plural, singular, shortNames, scope, controller, schema, references, secretFields } = input;
  if (typeof kind !== 'string' || !/^[A-Z][A-Za-z0-9]{0,62}$/.test(kind)) fail('kind', 'pattern', 'must be PascalCase letters and digits');
  if (!isDnsLabel(plural) || !/^[a-z0-9]+$/.test(plural)) fail('plural', 'pattern', 'must be lower-case letters and digits');
  else if (RESERVED_NAMES.has(plural)) fail('plural', 'reserved', 'is reserved by the API');
  if (singular !== undefined && (typeof singular !== 'string' || !/^[a-z0-9]+$/.test(singular))) fail('singular', 'pattern', 'must be lower-case letters and digits');
  if (shortNames !== undefined && (!Array.isArray(shortNames) || !shortNames.every((s) => typeof s === 'string' && /^[a-z0-9]+$/.test(s)))) {
    fail('shortNames', 'pattern', 'must be lower-case letters and digits');
  }
  if (scope !== 'Project' && scope !== 'Platform') fail('scope', 'enum', 'must be Project or Platform');
  if (!isDnsLabel(controller)) fail('controller', 'dns-label', 'must be a DNS label');
  let specSchema: Record<string, unknown> = {};
  if (!isJsonObject(schema) || schema['type'] !== 'object') fail('schema', 'type', 'must be a JSON Schema of type object');
  else {
    // Unknown fields are rejected unless the schema says otherwise.
    specSchema = schema['additionalProperties'] === undefined ? { ...schema, additionalProperties: false } : schema;
    try {
      ajv.compile(specSchema);
    } catch (error) {
      fail('schema', 'schema', `does not compile: ${(error as Error).message}`);
    }
  }
  const refs: KindDefinition['references'] = [];
  if (references !== undefined) {
    if (!Array.isArray(references)) fail('references', 'type', 'must be an array');
    else
      references.forEach((ref, i) => {
        if (!isJsonObject(ref) || typeof ref['path'] !== 'string' || !/^[A-Za-z_][\w.]*$/.test(ref['path']) || typeof ref['kind'] !== 'string') {
          fail(`references[${i}]`, 'type', 'must be { path, kind, required? }');
        } else refs.push({ path: ref['path'], kind: ref['kind'], ...(ref['required'] === true ? { required: true } : {}) });
      });
  }
  if (secretFields !== undefined && (!Array.isArray(secretFields) || !secretFields.every((s) => typeof s === 'string' && /^[A-Za-z_][\w.]*$/.test(s)))) {
    fail('secretFields', 'type', 'must be an array of dotted paths');
  }
  if (details.length > 0) {
    throw new InputError(details.map((d) => `${d.path}: ${d.message}`).join('; '), { status: 422, details: details.map(({ path, rule }) => ({ path, rule })) });
  }
  return {
    kind: kind as string,
    plural: plural as string,
    singular: (singular as string | undefined) ?? (kind as string).toLowerCase(),
    shortNames: (shortNames as string[] | undefined) ?? [],
    scope: scope as KindDefinition['scope'],
    controller: controller as string,
    schema: specSchema,
    references: refs,
    secretFields: (secretFields as string[] | undefined) ?? [],
  };
}
