/**
 * Parameters: `${name}` inside a component's string fields, replaced by the target's value (or the
 * declared default). Deliberately no expression language, as KubeVela's parameters or an
 * ApplicationSet's `{{ }}` in their simple form: a string that is exactly `${name}` takes the
 * parameter's typed value (so `replicas: "${replicas}"` becomes an integer), anywhere else the
 * value is written into the string. Values put in are never scanned again, so substitution is one
 * bounded pass over the spec. `$${` writes a literal `${`.
 */
import { InputError, type ErrorDetail } from '@tugboat/resource-model';
import type { ApplicationParameter, ParameterValue } from './application-types.js';

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const WHOLE = /^\$\{([a-zA-Z][a-zA-Z0-9_]{0,62})\}$/;
const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;
/** The longest string a substitution may produce (a field's own schema bounds it further). */
export const MAX_SUBSTITUTED_LENGTH = 4096;
/** Names every expansion provides: which application, project, cluster and tier a copy is for. */
export const BUILTIN_PARAMETERS = ['application', 'project', 'cluster', 'tier'] as const;

function refuse(path: string, rule: string, message: string): never {
  throw new InputError(`${path}: ${message}`, { status: 422, details: [{ path, rule, message }] satisfies ErrorDetail[] });
}

/** Whether `value` has the declared type. */
export function hasParameterType(value: unknown, type: ApplicationParameter['type']): value is ParameterValue {
  if (type === 'integer') return typeof value === 'number' && Number.isInteger(value);
  return typeof value === type;
}

/**
 * The values in force on one target: the declared defaults overlaid by the target's values, plus
 * the built-in names. A value of the wrong type, a value for an undeclared parameter or a
 * parameter left without a value is a 422 naming the target's field.
 */
export function resolveParameters(
  declared: readonly ApplicationParameter[],
  given: Record<string, ParameterValue>,
  builtins: Record<(typeof BUILTIN_PARAMETERS)[number], string>,
  at: string,
): Record<string, ParameterValue> {
  const values: Record<string, ParameterValue> = Object.create(null) as Record<string, ParameterValue>;
  const names = new Set<string>();
  declared.forEach((parameter, index) => {
    if ((BUILTIN_PARAMETERS as readonly string[]).includes(parameter.name)) refuse(`spec.parameters[${index}].name`, 'reserved', `"${parameter.name}" is provided by every expansion`);
    if (names.has(parameter.name)) refuse(`spec.parameters[${index}].name`, 'unique', `"${parameter.name}" is declared twice`);
    names.add(parameter.name);
    if (parameter.default !== undefined && !hasParameterType(parameter.default, parameter.type)) {
      refuse(`spec.parameters[${index}].default`, 'type', `must be of type ${parameter.type}`);
    }
  });
  for (const [name, value] of Object.entries(given)) {
    const parameter = declared.find((p) => p.name === name);
    if (!parameter) refuse(`${at}.parameters.${name}`, 'undeclared', `is not a parameter of the Application (declare it in spec.parameters)`);
    if (!hasParameterType(value, parameter.type)) refuse(`${at}.parameters.${name}`, 'type', `must be of type ${parameter.type}`);
  }
  for (const parameter of declared) {
    const value = Object.hasOwn(given, parameter.name) ? given[parameter.name] : parameter.default;
    if (value === undefined) refuse(`${at}.parameters.${parameter.name}`, 'required', `has no default: this target must set it`);
    values[parameter.name] = value;
  }
  for (const name of BUILTIN_PARAMETERS) values[name] = builtins[name];
  return values;
}

/** One string with its references replaced; `path` names it in a refusal. */
function substituteString(text: string, values: Record<string, ParameterValue>, path: string): ParameterValue {
  const whole = WHOLE.exec(text);
  if (whole) return valueOf(whole[1]!, values, path);
  const out = text.replace(REFERENCE, (match, name: string | undefined) => (match === '$${' ? '${' : String(valueOf(name ?? '', values, path))));
  if (out.length > MAX_SUBSTITUTED_LENGTH) refuse(path, 'maxLength', `is longer than ${MAX_SUBSTITUTED_LENGTH} characters once its parameters are substituted`);
  return out;
}

function valueOf(name: string, values: Record<string, ParameterValue>, path: string): ParameterValue {
  if (!NAME.test(name)) refuse(path, 'parameter', `"\${${name}}" is not a parameter reference: only \${name} is substituted (no expressions)`);
  if (!Object.hasOwn(values, name)) refuse(path, 'parameter', `"\${${name}}" names no parameter of the Application (nor application, project, cluster, tier)`);
  return values[name]!;
}

/** References (`definitionRef`, `expose.domainRef`, `ref` …): recorded by the API as written, so never substituted. */
const REFERENCE_KEY = /(^r|R)ef$/;

/** A copy of `value` with every string substituted; keys and references are never substituted. */
export function substituteParameters<T>(value: T, values: Record<string, ParameterValue>, path: string): T {
  if (typeof value === 'string') return substituteString(value, values, path) as T;
  if (Array.isArray(value)) return value.map((item, index) => substituteParameters(item, values, `${path}[${index}]`)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = REFERENCE_KEY.test(key) ? item : substituteParameters(item, values, `${path}.${key}`);
    return out as T;
  }
  return value;
}
