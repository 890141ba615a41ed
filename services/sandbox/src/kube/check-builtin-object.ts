/**
 * What kube-apiserver's decoder does with a built-in kind's body: it is decoded into the Go types,
 * so a value of the wrong JSON type fails the request whatever `fieldValidation` says (the first
 * such error, worded as Go's JSON decoder words it), and a field the type does not declare is
 * dropped — reported under `fieldValidation=Strict` or `Warn`, silently under `Ignore`.
 * Server-side apply converts the configuration to a typed value instead, with its own wording
 * (`.spec.replicass: field not declared in schema`).
 */
import { SCHEMA_REF_PREFIX } from './builtin-schemas.js';
import { isPlainObject, listMapKey, type JsonObject } from './json-values.js';

export interface TypeMismatch {
  /** JSON path with list indices: `spec.template.spec.containers[0].ports[0].containerPort`. */
  path: string;
  /** Go's wording: `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`. */
  decodeMessage: string;
  /** Server-side apply's wording, after the path: `expected numeric (int or float), got string`. */
  applyMessage: string;
}

export interface BuiltinCheck {
  /** The body without undeclared fields. */
  object: unknown;
  /** Undeclared fields, as the server names them: `spec.replicass`, `spec.template.spec.containers[0].imagee`. */
  unknown: string[];
  /** The first value of the wrong type (the decoder stops at it). */
  mismatch?: TypeMismatch;
}

type Resolve = (id: string) => JsonObject | undefined;

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  return typeof value === 'object' ? 'object' : typeof value;
}

function applyKind(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (isPlainObject(value)) return 'map';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The Go package name of a definition: `io.k8s.api.apps.v1.Deployment` → `v1`, `…intstr.IntOrString` → `intstr`. */
function goTypeOfRef(id: string): string {
  const parts = id.split('.');
  return `${parts.at(-2) ?? ''}.${parts.at(-1) ?? ''}`;
}

export function checkBuiltinObject(resolve: Resolve, rootId: string, body: unknown): BuiltinCheck {
  const unknown: string[] = [];
  let mismatch: TypeMismatch | undefined;

  /** Follows `$ref` / single `allOf`, remembering the definition (the Go struct) it lands in. */
  function deref(node: JsonObject, struct: string): { node: JsonObject; struct: string; goType?: string } {
    let current = node;
    let owner = struct;
    let goType: string | undefined;
    for (let hops = 0; hops < 8; hops += 1) {
      const ref = typeof current.$ref === 'string' ? current.$ref : Array.isArray(current.allOf) && current.allOf.length === 1 && isPlainObject(current.allOf[0]) && typeof current.allOf[0].$ref === 'string' ? current.allOf[0].$ref : undefined;
      if (ref === undefined || !ref.startsWith(SCHEMA_REF_PREFIX)) break;
      const id = ref.slice(SCHEMA_REF_PREFIX.length);
      const target = resolve(id);
      if (!target) return { node: {}, struct: owner };
      current = target;
      owner = id.split('.').at(-1) ?? owner;
      goType = goTypeOfRef(id);
    }
    return goType === undefined ? { node: current, struct: owner } : { node: current, struct: owner, goType };
  }

  function goTypeOf(node: JsonObject, resolvedGoType: string | undefined): string {
    if (resolvedGoType !== undefined && !['string', 'integer', 'number', 'boolean'].includes(String(node.type))) return resolvedGoType;
    if (node.type === 'integer') return node.format === 'int32' ? 'int32' : 'int64';
    if (node.type === 'number') return 'float64';
    if (node.type === 'boolean') return 'bool';
    if (node.type === 'string') return node.format === 'byte' ? '[]uint8' : resolvedGoType === 'v1.Time' ? 'v1.Time' : 'string';
    if (node.type === 'array') {
      const items = isPlainObject(node.items) ? deref(node.items, '') : undefined;
      return `[]${items ? goTypeOf(items.node, items.goType) : 'interface {}'}`;
    }
    if (isPlainObject(node.additionalProperties)) {
      const values = deref(node.additionalProperties, '');
      return `map[string]${goTypeOf(values.node, values.goType)}`;
    }
    return resolvedGoType ?? 'map[string]interface {}';
  }

  function fail(path: string, struct: string, goPath: string, node: JsonObject, goType: string | undefined, value: unknown, expected: string): void {
    if (mismatch) return;
    // Go names the number only when it does not fit the integer it was meant for (1.5 into an int32).
    const shown = typeof value === 'number' && node.type === 'integer' ? `number ${String(value)}` : jsonKind(value);
    mismatch = {
      path,
      decodeMessage: `json: cannot unmarshal ${shown} into Go struct field ${struct}.${goPath} of type ${goTypeOf(node, goType)}`,
      applyMessage: `expected ${expected}, got ${applyKind(value)}`,
    };
  }

  function walk(schema: JsonObject, value: unknown, path: string, goPath: string, struct: string): unknown {
    if (value === null || value === undefined) return value;
    const { node, struct: owner, goType } = deref(schema, struct);
    // A field's error names the struct that declares it, not the one its value is.
    const fieldStruct = struct;
    if (node['x-kubernetes-int-or-string'] === true) {
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) fail(path, fieldStruct, goPath, node, goType, value, 'string or int');
      return value;
    }
    if (Array.isArray(node.oneOf)) {
      const types = node.oneOf.filter(isPlainObject).map((option) => option.type);
      const fits = types.some((type) => (type === 'string' ? typeof value === 'string' : type === 'number' || type === 'integer' ? typeof value === 'number' : false));
      if (!fits) fail(path, fieldStruct, goPath, node, goType, value, types.join(' or '));
      return value;
    }
    switch (node.type) {
      case 'string':
        if (typeof value !== 'string') fail(path, fieldStruct, goPath, node, goType, value, 'string');
        else if (node.format === 'byte' && (!BASE64.test(value) || value.length % 4 !== 0) && !mismatch) {
          const at = [...value].findIndex((char) => !/[A-Za-z0-9+/=]/.test(char));
          mismatch = { path, decodeMessage: `illegal base64 data at input byte ${at < 0 ? value.length - (value.length % 4) : at}`, applyMessage: 'illegal base64 data' };
        }
        return value;
      case 'integer':
        if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, fieldStruct, goPath, node, goType, value, 'numeric (int or float)');
        return value;
      case 'number':
        if (typeof value !== 'number') fail(path, fieldStruct, goPath, node, goType, value, 'numeric (int or float)');
        return value;
      case 'boolean':
        if (typeof value !== 'boolean') fail(path, fieldStruct, goPath, node, goType, value, 'boolean');
        return value;
      case 'array': {
        if (!Array.isArray(value)) {
          fail(path, fieldStruct, goPath, node, goType, value, 'list');
          return value;
        }
        const items = isPlainObject(node.items) ? node.items : undefined;
        return items ? value.map((item, index) => walk(items, item, `${path}[${index}]`, goPath, owner === struct ? struct : owner)) : value;
      }
      default:
        break;
    }
    const properties = isPlainObject(node.properties) ? node.properties : undefined;
    const additional = isPlainObject(node.additionalProperties) ? node.additionalProperties : undefined;
    if (node.type !== 'object' && !properties && !additional) return value;
    if (!isPlainObject(value)) {
      fail(path, fieldStruct, goPath, node, goType, value, 'map');
      return value;
    }
    // `type: object` without declared fields (RawExtension, JSON) holds anything, as do preserve-unknown-fields objects.
    const freeForm = !properties && !additional;
    if (freeForm || node['x-kubernetes-preserve-unknown-fields'] === true) return value;
    const out: JsonObject = {};
    const embedded = node['x-kubernetes-embedded-resource'] === true;
    for (const [key, child] of Object.entries(value)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      const childGoPath = goPath === '' ? key : `${goPath}.${key}`;
      const declared = properties?.[key];
      if (isPlainObject(declared)) out[key] = walk(declared, child, childPath, childGoPath, owner);
      // The decoder's error path names struct fields only, not map keys.
      else if (additional) out[key] = walk(additional, child, childPath, goPath, owner);
      else if (embedded && (key === 'apiVersion' || key === 'kind')) out[key] = walk({ type: 'string' }, child, childPath, childGoPath, owner);
      else if (embedded && key === 'metadata') out[key] = walk({ $ref: `${SCHEMA_REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta` }, child, childPath, childGoPath, owner);
      else unknown.push(childPath);
    }
    return out;
  }

  const root = resolve(rootId);
  if (!root) return { object: body, unknown };
  const object = walk({ $ref: `${SCHEMA_REF_PREFIX}${rootId}` }, body, '', '', rootId.split('.').at(-1) ?? '');
  return mismatch ? { object, unknown, mismatch } : { object, unknown };
}

/**
 * A path as structured-merge-diff prints it: keyed list items by their key
 * (`.spec.template.spec.containers[name="web"].imagee`), other items by index.
 */
export function applyPathOf(object: unknown, path: string): string {
  let current: unknown = object;
  let field = '';
  let out = '';
  for (const segment of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    const index = /^\[(\d+)\]$/.exec(segment);
    if (index && Array.isArray(current)) {
      const items: unknown[] = current;
      const item = items[Number(index[1])];
      const key = listMapKey(field, items);
      out += key !== undefined && isPlainObject(item) ? `[${key}=${JSON.stringify(item[key])}]` : segment;
      current = item;
    } else {
      out += `.${segment}`;
      field = segment;
      current = isPlainObject(current) ? current[segment] : undefined;
    }
  }
  return out;
}
