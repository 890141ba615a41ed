/**
 * client-node serializes a built-in kind through its generated model before sending it, reading
 * each field by its model name: `x_kubernetes_preserve_unknown_fields`, `_enum`, `_default`,
 * `ref` (for `$ref`), `_from` … An object written in the wire format (as manifests, charts and
 * our own builders write them) would lose those fields on the way: a CRD applied from a chart
 * would arrive without its defaults, enums and `x-kubernetes-*` markers, a NetworkPolicy without
 * `from`. `toModel` renames wire fields to model fields, by the models' own attribute maps, so the
 * serializer writes them back under their wire names. Custom resources are sent as they are.
 */
import * as models from '@kubernetes/client-node';

interface Attribute {
  name: string;
  baseName: string;
  type: string;
}

type ModelClass = { getAttributeTypeMap(): Attribute[] };

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;
const OPTIONAL = / \| (null|undefined)$/;

function modelClass(type: string): ModelClass | undefined {
  const candidate = (models as unknown as Record<string, unknown>)[type];
  const getter = typeof candidate === 'function' ? (candidate as unknown as Partial<ModelClass>).getAttributeTypeMap : undefined;
  return typeof getter === 'function' ? (candidate as unknown as ModelClass) : undefined;
}

/** `data` (wire field names) as the model `type` names its fields; what the model does not know is left as it is. */
export function toModel(data: unknown, type: string): unknown {
  if (data === null || data === undefined || typeof data !== 'object') return data;
  const bare = type.replace(OPTIONAL, '');
  const array = ARRAY.exec(bare);
  if (array) return Array.isArray(data) ? data.map((item) => toModel(item, array[1]!)) : data;
  const map = MAP.exec(bare);
  if (map) return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, toModel(value, map[1]!)]));
  const model = modelClass(bare);
  if (model === undefined || Array.isArray(data)) return data;
  const source = data as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const attribute of model.getAttributeTypeMap()) {
    if (Object.hasOwn(source, attribute.baseName)) out[attribute.name] = toModel(source[attribute.baseName], attribute.type);
  }
  return out;
}

/** The generated model of a built-in kind (`V1CustomResourceDefinition`), as client-node picks it; `undefined` for a custom resource. */
export function modelTypeOf(apiVersion: string | undefined, kind: string | undefined): string | undefined {
  if (apiVersion === undefined || kind === undefined) return undefined;
  const slash = apiVersion.indexOf('/');
  const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
  const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return modelClass(type) === undefined ? undefined : type;
}
