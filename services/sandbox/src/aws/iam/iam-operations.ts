/**
 * IAM on the wire (Query protocol, `Version=2010-05-08`): reads the flat form parameters
 * (`Tags.member.1.Key`), calls the simulator and shapes answers as IAM does (lists as `<member>`,
 * `IsTruncated` and `Marker` on paged lists, policy documents URL-encoded).
 */
import { AwsError } from '../aws-error.js';
import type { AwsOperation, AwsOperationContext } from '../aws-operation.js';
import type { IamPage, IamRoleView, IamSimulator, IamTag } from './iam-simulator.js';

export const IAM_XML_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';

export function iamOperations(iam: IamSimulator): AwsOperation[] {
  const op = (operation: string, handler: (ctx: AwsOperationContext) => unknown): AwsOperation => ({
    service: 'iam',
    protocol: 'query',
    operation,
    xmlNamespace: IAM_XML_NAMESPACE,
    handler,
  });
  return [
    op('CreateRole', (ctx) => {
      const input = ctx.input;
      if (input.PermissionsBoundary !== undefined) {
        throw new AwsError('ValidationError', 'permissionsBoundary: the sandbox does not simulate permissions boundaries.', { status: 400 });
      }
      const maxSessionDuration = optionalInteger(input, 'MaxSessionDuration', 'maxSessionDuration');
      const role = iam.createRole({
        roleName: text(input, 'RoleName') ?? '',
        assumeRolePolicyDocument: text(input, 'AssumeRolePolicyDocument') ?? '',
        ...optional('path', text(input, 'Path')),
        ...optional('description', text(input, 'Description')),
        ...optional('maxSessionDuration', maxSessionDuration),
        tags: tagList(input, 'Tags'),
      });
      return { Role: roleXml(role) };
    }),
    op('GetRole', (ctx) => ({ Role: { ...roleXml(iam.getRole(text(ctx.input, 'RoleName') ?? '')), RoleLastUsed: '' } })),
    op('ListRoles', (ctx) => {
      const { roles, marker } = iam.listRoles(text(ctx.input, 'PathPrefix'), pageOf(ctx.input));
      // ListRoles leaves tags out, as IAM does (GetRole or ListRoleTags have them).
      return { Roles: list(roles.map(({ Tags: _tags, ...role }) => role)), ...truncation(marker) };
    }),
    op('DeleteRole', (ctx) => {
      iam.deleteRole(text(ctx.input, 'RoleName') ?? '');
      return undefined;
    }),
    op('AttachRolePolicy', (ctx) => {
      iam.attachRolePolicy(text(ctx.input, 'RoleName') ?? '', text(ctx.input, 'PolicyArn') ?? '');
      return undefined;
    }),
    op('DetachRolePolicy', (ctx) => {
      iam.detachRolePolicy(text(ctx.input, 'RoleName') ?? '', text(ctx.input, 'PolicyArn') ?? '');
      return undefined;
    }),
    op('ListAttachedRolePolicies', (ctx) => {
      const { policies, marker } = iam.listAttachedRolePolicies(text(ctx.input, 'RoleName') ?? '', text(ctx.input, 'PathPrefix'), pageOf(ctx.input));
      return { AttachedPolicies: list(policies), ...truncation(marker) };
    }),
    op('TagRole', (ctx) => {
      const tags = tagList(ctx.input, 'Tags');
      if (tags.length === 0) throw new AwsError('ValidationError', "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null", { status: 400 });
      iam.tagRole(text(ctx.input, 'RoleName') ?? '', tags);
      return undefined;
    }),
    op('UntagRole', (ctx) => {
      const keys = memberList(ctx.input, 'TagKeys').map((entry) => entry[''] ?? '');
      if (keys.length === 0) throw new AwsError('ValidationError', "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null", { status: 400 });
      iam.untagRole(text(ctx.input, 'RoleName') ?? '', keys);
      return undefined;
    }),
    op('ListRoleTags', (ctx) => {
      const { tags, marker } = iam.listRoleTags(text(ctx.input, 'RoleName') ?? '', pageOf(ctx.input));
      return { Tags: list(tags), ...truncation(marker) };
    }),
  ];
}

function roleXml(role: IamRoleView): Record<string, unknown> {
  const { Tags: tags, ...rest } = role;
  return { ...rest, ...(tags.length > 0 ? { Tags: list(tags) } : {}) };
}

/** A Query list: `<member>` per item; an empty list is an empty element, as IAM sends it. */
function list(items: unknown[]): unknown {
  return items.length === 0 ? '' : { member: items };
}

function truncation(marker: string | undefined): Record<string, string> {
  return marker === undefined ? { IsTruncated: 'false' } : { IsTruncated: 'true', Marker: marker };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function text(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

/** The `camelCase` name IAM's validation messages use for a parameter. */
function memberName(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function optionalInteger(input: Record<string, unknown>, name: string, field = memberName(name)): number | undefined {
  const raw = text(input, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value)) {
    throw new AwsError('ValidationError', `1 validation error detected: Value '${raw}' at '${field}' failed to satisfy constraint: Member must be an integer`, { status: 400 });
  }
  return value;
}

function pageOf(input: Record<string, unknown>): IamPage {
  const maxItems = optionalInteger(input, 'MaxItems');
  if (maxItems !== undefined && (maxItems < 1 || maxItems > 1000)) {
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value '${maxItems}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`,
      { status: 400 },
    );
  }
  const marker = text(input, 'Marker');
  return { ...optional('maxItems', maxItems), ...optional('marker', marker === '' ? undefined : marker) };
}

/**
 * The items of a Query list parameter, in index order: `Name.member.N` (key `''`) or
 * `Name.member.N.Field` (key `Field`). `Name=` alone is how clients send an empty list.
 */
export function memberList(input: Record<string, unknown>, name: string): Array<Record<string, string>> {
  const items = new Map<number, Record<string, string>>();
  const prefix = `${name}.member.`;
  for (const [key, value] of Object.entries(input)) {
    if (!key.startsWith(prefix) || typeof value !== 'string') continue;
    const rest = key.slice(prefix.length);
    const dot = rest.indexOf('.');
    const index = Number(dot < 0 ? rest : rest.slice(0, dot));
    if (!Number.isInteger(index) || index < 1) {
      throw new AwsError('MalformedQueryString', `${key}: list members are numbered from 1.`, { status: 400 });
    }
    const item = items.get(index) ?? {};
    item[dot < 0 ? '' : rest.slice(dot + 1)] = value;
    items.set(index, item);
  }
  return [...items.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
}

function tagList(input: Record<string, unknown>, name: string): IamTag[] {
  return memberList(input, name).map((item, i) => {
    if (item.Key === undefined) {
      throw new AwsError('ValidationError', `1 validation error detected: Value null at '${memberName(name)}.${i + 1}.member.key' failed to satisfy constraint: Member must not be null`, {
        status: 400,
      });
    }
    return { Key: item.Key, Value: item.Value ?? '' };
  });
}
