/**
 * The OpenAPI schemas of the built-in Kubernetes types, read from the `kubernetes-models` package
 * (and its `@kubernetes-models/apimachinery` for `ObjectMeta`, `IntOrString`, `Quantity` …), which
 * ships them as JSON schema data generated from the Kubernetes OpenAPI document, with the
 * descriptions in its type declarations. No registry package ships the OpenAPI document of a newer
 * Kubernetes as data; see the README for the version.
 *
 * Definitions are read one file at a time on first use and cached: a sandbox that never serves
 * `/openapi/v3` nor validates a kind pays nothing. They are turned back into what kube-apiserver
 * serves under `/openapi/v3`: `#/components/schemas/…` references (wrapped in `allOf` as the real
 * documents do, so a field keeps its own description), no `nullable` markers, `IntOrString` with
 * `format: int-or-string`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isPlainObject, type JsonObject } from './json-values.js';

/** Which package and which Kubernetes version the schemas come from (the README says how it was told). */
export const BUILTIN_SCHEMA_SOURCE = { package: 'kubernetes-models', version: '4.3.1', kubernetes: '1.27' } as const;

export const SCHEMA_REF_PREFIX = '#/components/schemas/';

export interface BuiltinSchemas {
  /** A definition (`io.k8s.api.apps.v1.Deployment`) as kube-apiserver serves it, or undefined when the package has none. */
  definition(id: string): JsonObject | undefined;
  /** The definition id of a built-in kind. */
  idOfKind(kind: { group: string; version: string; kind: string }): string;
}

export interface BuiltinSchemasOptions {
  /** Where `kubernetes-models` is installed (default: resolved from this package). */
  modelsDir?: string;
  /** Where `@kubernetes-models/apimachinery` is installed (default: resolved from this package). */
  apimachineryDir?: string;
}

const APIMACHINERY = 'io.k8s.apimachinery.';
const STATUS = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';

function pascalFileName(id: string): string {
  return id
    .split(/[.-]/)
    .map((part) => (part === '' ? '' : part[0]?.toUpperCase() + part.slice(1)))
    .join('');
}

/** The generated module is `const schema = {…JSON…};` followed by its `addSchema`; only the literal is read, nothing is run. */
function schemaLiteralOf(source: string): unknown {
  const start = source.indexOf('const schema = ');
  const end = source.indexOf(';\nfunction addSchema', start);
  if (start < 0 || end < 0) return undefined;
  return JSON.parse(source.slice(start + 'const schema = '.length, end)) as unknown;
}

/** `/** text *\/` → text, with the generator's `*\/` escape undone. */
function commentText(comment: string): string {
  return comment
    .split('\n')
    .map((line) => line.replace(/^\s*\*( |$)/, ''))
    .join('\n')
    .replace(/^\s+|\s+$/g, '')
    .replace(/\*\\\//g, '*/');
}

interface Descriptions {
  type?: string;
  properties: Map<string, string>;
  /** Each declared property's TypeScript type (`string`, `Array<IIoK8s…ValidationRule>`). */
  types: Map<string, string>;
}

/** Reads the JSDoc of `export interface I{Name}` and of each of its properties. */
function descriptionsOf(declaration: string, name: string): Descriptions {
  const properties = new Map<string, string>();
  const types = new Map<string, string>();
  const head = new RegExp(`export interface I${name}(?: extends [^{]*)? \\{`).exec(declaration);
  if (!head) return { properties, types };
  const start = head.index;
  const end = declaration.indexOf('\n}', start);
  const body = declaration.slice(start + head[0].length, end < 0 ? undefined : end);
  // Inside an interface every comment documents the property right after it.
  const property = /\/\*\*([\s\S]*?)\*\/\s*"([^"]+)"\??:/g;
  for (const match of body.matchAll(property)) properties.set(match[2] as string, commentText(match[1] as string));
  for (const match of body.matchAll(/\n {4}"([^"]+)"\??: ([^;{\n]+);/g)) types.set(match[1] as string, (match[2] as string).trim());
  const before = declaration.slice(0, start).trimEnd();
  const typeComment = before.endsWith('*/') ? before.slice(before.lastIndexOf('/**') + 3, -2) : undefined;
  return typeComment === undefined ? { properties, types } : { type: commentText(typeComment), properties, types };
}

/** Rewrites the package's JSON-schema dialect into the served OpenAPI v3 form. */
function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (!isPlainObject(node)) return node;
  const oneOf = Array.isArray(node.oneOf) ? node.oneOf : undefined;
  // `oneOf: [X, {type: null}]` is the generator's way of saying "optional"; the server does not say it.
  if (oneOf?.length === 2 && isPlainObject(oneOf[1]) && oneOf[1].type === 'null') {
    const { oneOf: _oneOf, ...rest } = node;
    return normalise({ ...rest, ...(oneOf[0] as JsonObject) });
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    // Field names (JSONSchemaProps declares fields called `nullable` and `$ref`) are not keywords.
    if (key === 'properties' && isPlainObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, property]) => [name, normalise(property)]));
      continue;
    }
    if (key === 'nullable') continue;
    if (key === '$ref' && typeof value === 'string') continue;
    out[key] = normalise(value);
  }
  if (typeof node.$ref === 'string') {
    const ref = `${SCHEMA_REF_PREFIX}${node.$ref.replace(/#$/, '')}`;
    return Object.keys(out).length === 0 ? { allOf: [{ $ref: ref }] } : { ...out, allOf: [{ $ref: ref }] };
  }
  return out;
}

export function createBuiltinSchemas(options: BuiltinSchemasOptions = {}): BuiltinSchemas {
  const require = createRequire(import.meta.url);
  let roots: { models: string; apimachinery: string } | undefined;
  const cache = new Map<string, JsonObject | undefined>();

  function packageRoots() {
    roots ??= {
      models: options.modelsDir ?? dirname(require.resolve('kubernetes-models/package.json')),
      apimachinery: options.apimachineryDir ?? dirname(require.resolve('@kubernetes-models/apimachinery/package.json')),
    };
    return roots;
  }

  /** Where the type declaration of a definition lives: `apps/v1/Deployment.d.ts`, `v1/Pod.d.ts`, `apis/meta/v1/ObjectMeta.d.ts`. */
  function declarationFile(id: string): string | undefined {
    const { models, apimachinery } = packageRoots();
    const parts = id.split('.');
    if (id.startsWith(APIMACHINERY)) return join(apimachinery, ...parts.slice(4, -1), `${parts.at(-1)}.d.ts`);
    const [pkg, version, name] = parts.slice(-3);
    if (pkg === undefined || version === undefined || name === undefined) return undefined;
    if (pkg === 'core') return join(models, version, `${name}.d.ts`);
    for (const directory of [pkg, `${pkg}.k8s.io`, `${pkg}.authorization.k8s.io`, `${pkg}.apiserver.k8s.io`]) {
      const candidate = join(models, directory, version, `${name}.d.ts`);
      if (existsSync(candidate)) return candidate;
    }
    return undefined;
  }

  /** `string`, `boolean`, `Array<string>`, `Array<IIoK8s…>`: the shapes of the fields the generator dropped. */
  function schemaOfTsType(tsType: string): JsonObject | undefined {
    if (tsType === 'string' || tsType === 'boolean') return { type: tsType };
    const list = /^Array<(.+)>$/.exec(tsType);
    if (list) {
      const items = schemaOfTsType(list[1] as string);
      return items ? { type: 'array', items } : undefined;
    }
    const model = /^I(IoK8s\w+)$/.exec(tsType);
    if (!model) return undefined;
    const { models } = packageRoots();
    const file = join(models, '_schemas', `${model[1] as string}.js`);
    const registered = existsSync(file) ? /register\)\("([^"]+)"/.exec(readFileSync(file, 'utf8')) : undefined;
    return registered ? { allOf: [{ $ref: `${SCHEMA_REF_PREFIX}${registered[1] as string}` }] } : undefined;
  }

  function describe(id: string): Descriptions | undefined {
    const declaration = declarationFile(id);
    if (declaration === undefined || !existsSync(declaration)) return undefined;
    return descriptionsOf(readFileSync(declaration, 'utf8'), id.split('.').at(-1) as string);
  }

  /** Every kind's `apiVersion` and `kind` text, read once. */
  let typeMetaWords: Descriptions | undefined;

  function load(id: string): JsonObject | undefined {
    const { models, apimachinery } = packageRoots();
    const file = join(id.startsWith(APIMACHINERY) ? apimachinery : models, '_schemas', `${pascalFileName(id)}.js`);
    if (!existsSync(file)) return undefined;
    const literal = schemaLiteralOf(readFileSync(file, 'utf8'));
    if (!isPlainObject(literal)) return undefined;
    const schema = normalise(literal) as JsonObject;
    // The package pins `apiVersion`/`kind` of each kind with an enum and requires them; the server does neither.
    if (isPlainObject(schema.properties)) {
      for (const field of ['apiVersion', 'kind']) {
        const property = schema.properties[field];
        if (isPlainObject(property)) delete property.enum;
      }
    }
    if (Array.isArray(schema.required)) {
      schema.required = schema.required.filter((field) => field !== 'apiVersion' && field !== 'kind');
      if ((schema.required as unknown[]).length === 0) delete schema.required;
    }
    // These decode from a schema or a bool / a list (custom unmarshallers); the server declares no type for them.
    if (/\.JSONSchemaPropsOr(Bool|Array|StringArray)$/.test(id)) delete schema.type;
    if (id === `${APIMACHINERY}pkg.util.intstr.IntOrString`) {
      schema.format = 'int-or-string';
      schema['x-kubernetes-int-or-string'] = true;
    }
    const described = describe(id);
    if (described && isPlainObject(schema.properties)) {
      // The package's generator dropped fields whose names are schema keywords (`description`,
      // JSONSchemaProps' `x-kubernetes-*`); its type declarations still declare them.
      for (const [name, tsType] of described.types) {
        if (schema.properties[name] === undefined && name !== 'apiVersion' && name !== 'kind') {
          const restored = schemaOfTsType(tsType);
          if (restored) schema.properties[name] = restored;
        }
      }
    }
    if (described) {
      if (described.type !== undefined) schema.description = described.type;
      if (isPlainObject(schema.properties)) {
        for (const [name, property] of Object.entries(schema.properties)) {
          // Kinds declare `apiVersion` and `kind` through a shared TypeMeta without text; Status carries the same words.
          const text = described.properties.get(name) ?? (name === 'apiVersion' || name === 'kind' ? (typeMetaWords ??= describe(STATUS))?.properties.get(name) : undefined);
          if (text !== undefined && isPlainObject(property)) property.description = text;
        }
      }
    }
    return schema;
  }

  return {
    definition(id) {
      if (!cache.has(id)) cache.set(id, load(id));
      return cache.get(id);
    },
    idOfKind({ group, version, kind }) {
      if (group === 'apiextensions.k8s.io') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${version}.${kind}`;
      if (group === 'apiregistration.k8s.io') return `io.k8s.kube-aggregator.pkg.apis.apiregistration.${version}.${kind}`;
      return `io.k8s.api.${group === '' ? 'core' : group.split('.')[0]}.${version}.${kind}`;
    },
  };
}

/** The definition ids a schema refers to. */
export function referencesOf(node: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(node)) for (const item of node) referencesOf(item, into);
  else if (isPlainObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(SCHEMA_REF_PREFIX)) into.add(value.slice(SCHEMA_REF_PREFIX.length));
      else referencesOf(value, into);
    }
  }
  return into;
}
