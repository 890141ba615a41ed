/**
 * Reading EC2's flattened form parameters: `VpcId.1`, `Filter.2.Value.1`,
 * `TagSpecification.1.Tag.1.Key`. Lists are numbered from 1 and read in index order.
 */
import { AwsError } from '../aws-error.js';
import type { Ec2Tag } from './ec2-simulator.js';

export type Ec2Parameters = Record<string, unknown>;

export function optionalString(input: Ec2Parameters, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredString(input: Ec2Parameters, name: string): string {
  const value = optionalString(input, name);
  if (value === undefined || value === '') throw new AwsError('MissingParameter', `The request must contain the parameter ${name}`, { status: 400 });
  return value;
}

export function optionalBoolean(input: Ec2Parameters, name: string): boolean | undefined {
  const value = optionalString(input, name);
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new AwsError('InvalidParameterValue', `Value (${value}) for parameter ${name} is invalid. Expected: 'true' or 'false'.`, { status: 400 });
}

/** The members of list `prefix`: `{ '1': {...}, '2': {...} }` in index order, each with the keys below `prefix.N.`. */
export function structList(input: Ec2Parameters, prefix: string): Ec2Parameters[] {
  const byIndex = new Map<number, Ec2Parameters>();
  for (const [key, value] of Object.entries(input)) {
    if (!key.startsWith(`${prefix}.`)) continue;
    const rest = key.slice(prefix.length + 1);
    const dot = rest.indexOf('.');
    const indexText = dot < 0 ? rest : rest.slice(0, dot);
    if (!/^[1-9]\d*$/.test(indexText)) continue;
    const index = Number(indexText);
    const member = byIndex.get(index) ?? {};
    member[dot < 0 ? '' : rest.slice(dot + 1)] = value;
    byIndex.set(index, member);
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, member]) => member);
}

/** A list of strings: `VpcId.1`, `VpcId.2` … */
export function stringList(input: Ec2Parameters, prefix: string): string[] {
  return structList(input, prefix)
    .map((member) => member[''])
    .filter((value): value is string => typeof value === 'string');
}

export function tagList(input: Ec2Parameters, prefix = 'Tag'): Ec2Tag[] {
  return structList(input, prefix).map((member) => {
    const key = optionalString(member, 'Key');
    if (key === undefined || key === '') throw new AwsError('InvalidParameterValue', 'Tag keys must not be empty.', { status: 400 });
    const value = optionalString(member, 'Value') ?? '';
    checkTag(key, value);
    return { key, value };
  });
}

function checkTag(key: string, value: string): void {
  if (key.length > 128) throw new AwsError('InvalidParameterValue', `Tag key exceeds the maximum length of 128 characters: ${key}`, { status: 400 });
  if (value.length > 256) throw new AwsError('InvalidParameterValue', `Tag value exceeds the maximum length of 256 characters: ${value}`, { status: 400 });
  if (key.toLowerCase().startsWith('aws:')) {
    throw new AwsError('InvalidParameterValue', `Value (${key}) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use`, {
      status: 400,
    });
  }
}

/** The tags of `TagSpecification.N` for `resourceType`; another resource type is refused, as EC2 does. */
export function tagsAtCreation(input: Ec2Parameters, resourceType: string): Ec2Tag[] {
  const tags: Ec2Tag[] = [];
  for (const specification of structList(input, 'TagSpecification')) {
    const type = optionalString(specification, 'ResourceType');
    if (type === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter TagSpecification.ResourceType', { status: 400 });
    if (type !== resourceType) {
      throw new AwsError('InvalidParameterValue', `'${type}' is not a valid taggable resource type for this operation.`, { status: 400 });
    }
    tags.push(...tagList(specification));
  }
  return tags;
}

export interface Ec2Filter {
  name: string;
  values: string[];
}

export function filterList(input: Ec2Parameters): Ec2Filter[] {
  return structList(input, 'Filter').map((member) => {
    const name = optionalString(member, 'Name');
    if (name === undefined || name === '') throw new AwsError('InvalidParameterValue', 'The filter name must not be empty', { status: 400 });
    return { name, values: stringList(member, 'Value') };
  });
}

/** EC2 filter values may hold `*` (any run) and `?` (one character); `\` escapes them. */
function filterValueMatches(pattern: string, value: string): boolean {
  let regex = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] as string;
    if (char === '\\' && i + 1 < pattern.length) {
      i += 1;
      regex += (pattern[i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (char === '*') regex += '[\\s\\S]*';
    else if (char === '?') regex += '[\\s\\S]';
    else regex += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${regex}$`).test(value);
}

/** How a resource type answers each filter name it knows: the record's values for it. */
export type FilterAttributes<T> = Record<string, (record: T) => Array<string | boolean | undefined>>;

/**
 * Keeps the records every filter matches (any of its values); a filter name the resource type does
 * not know is refused, as EC2 does. `tag:Key`, `tag-key` and `tag-value` work on every type.
 */
export function applyFilters<T extends { tags: Ec2Tag[] }>(records: T[], filters: Ec2Filter[], attributes: FilterAttributes<T>): T[] {
  const getters = filters.map((filter) => {
    if (filter.name.startsWith('tag:')) {
      const key = filter.name.slice(4);
      return (record: T) => record.tags.filter((t) => t.key === key).map((t) => t.value);
    }
    if (filter.name === 'tag-key') return (record: T) => record.tags.map((t) => t.key);
    if (filter.name === 'tag-value') return (record: T) => record.tags.map((t) => t.value);
    const getter = Object.hasOwn(attributes, filter.name) ? attributes[filter.name] : undefined;
    if (getter === undefined) throw new AwsError('InvalidParameterValue', `The filter '${filter.name}' is invalid`, { status: 400 });
    return getter;
  });
  return records.filter((record) =>
    filters.every((filter, index) => {
      const values = (getters[index] as (record: T) => Array<string | boolean | undefined>)(record)
        .filter((v) => v !== undefined)
        .map(String);
      return filter.values.some((pattern) => values.some((value) => filterValueMatches(pattern, value)));
    }),
  );
}
