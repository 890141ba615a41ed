/**
 * The IAM stand-in's state and rules: roles (name, path, trust policy, tags, session duration) and
 * the AWS managed policies attached to them. IAM is global: one set of roles per sandbox, whatever
 * region a request was signed for. Policies are stored and checked for well-formedness, never
 * evaluated — except a trust policy's `sts:ExternalId` condition, which STS AssumeRole enforces.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SandboxCounters } from '../../counters.js';
import { AwsError } from '../aws-error.js';

/** The AWS managed policies that exist in the sandbox (only these can be attached). */
export const AWS_MANAGED_POLICIES: readonly string[] = [
  'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
  'arn:aws:iam::aws:policy/AmazonEKSServicePolicy',
  'arn:aws:iam::aws:policy/AmazonEKSVPCResourceController',
  'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
  'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
  'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
  'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly',
  'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
  'arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy',
];

/** IAM's quotas that the sandbox enforces. */
const MANAGED_POLICIES_PER_ROLE = 10;
const TAGS_PER_ROLE = 50;
const TRUST_POLICY_MAX_CHARS = 2048;

export interface IamTag {
  Key: string;
  Value: string;
}

interface RoleRecord {
  roleName: string;
  path: string;
  roleId: string;
  arn: string;
  /** Real epoch ms. */
  createdAt: number;
  /** The trust policy as given (decoded). */
  assumeRolePolicyDocument: string;
  description?: string;
  maxSessionDuration: number;
  tags: IamTag[];
  attachedPolicies: string[];
}

export interface IamSnapshot {
  roles: RoleRecord[];
}

export interface CreateRoleInput {
  roleName: string;
  assumeRolePolicyDocument: string;
  path?: string;
  description?: string;
  maxSessionDuration?: number;
  tags?: IamTag[];
}

export interface IamPage {
  marker?: string;
  maxItems?: number;
}

export interface IamRoleView {
  Path: string;
  RoleName: string;
  RoleId: string;
  Arn: string;
  CreateDate: string;
  /** URL-encoded, as IAM returns policy documents. */
  AssumeRolePolicyDocument: string;
  Description?: string;
  MaxSessionDuration: number;
  Tags: IamTag[];
}

/** What STS needs to know about a role it is asked to assume. */
export interface IamRoleForSts {
  roleName: string;
  roleId: string;
  arn: string;
  maxSessionDuration: number;
  /** `undefined`: the trust policy asks for no external id. Otherwise the ids it accepts. */
  externalIds: string[] | undefined;
}

export interface IamSimulator {
  createRole(input: CreateRoleInput): IamRoleView;
  getRole(roleName: string): IamRoleView;
  listRoles(pathPrefix: string | undefined, page: IamPage): { roles: IamRoleView[]; marker?: string };
  deleteRole(roleName: string): void;
  attachRolePolicy(roleName: string, policyArn: string): void;
  detachRolePolicy(roleName: string, policyArn: string): void;
  listAttachedRolePolicies(roleName: string, pathPrefix: string | undefined, page: IamPage): { policies: Array<{ PolicyName: string; PolicyArn: string }>; marker?: string };
  tagRole(roleName: string, tags: IamTag[]): void;
  untagRole(roleName: string, tagKeys: string[]): void;
  listRoleTags(roleName: string, page: IamPage): { tags: IamTag[]; marker?: string };
  /** The role an ARN names in this account, `undefined` when IAM has no role of that name. */
  roleForSts(roleArn: string): IamRoleForSts | undefined;
  /**
   * Whether the role an ARN names exists in this account (same path and name) and its trust policy
   * lets `servicePrincipal` (`eks.amazonaws.com`) assume it: what a service checks before it uses a
   * role it was given.
   */
  roleTrusts(roleArn: string, servicePrincipal: string): boolean;
  /** What exists now, for the control API's counters. */
  inventory(): { roles: Array<{ name: string; arn: string; attachedPolicies: string[] }> };
  snapshot(): IamSnapshot;
  restore(snapshot: IamSnapshot | undefined): void;
  reset(): void;
}

export interface IamSimulatorOptions {
  accountId: string;
  counters: SandboxCounters;
  logger: Logger;
  now?: () => number;
  /** Called after every change of state (to persist it). */
  onChange?: () => void;
}

const ROLE_NAME = /^[\w+=,.@-]+$/;
const PATH = /^(\/|\/[\u0021-\u007E]+\/)$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
// IAM's pattern for descriptions: tab, line feed, carriage return and printable Latin-1.
const DESCRIPTION = new RegExp('^[\\t\\n\\r\\u0020-\\u007E\\u00A1-\\u00FF]*$');
const POLICY_ARN = /^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/(?:[\u0021-\u007E]+\/)*[\w+=,.@-]+$/;

export function createIamSimulator(options: IamSimulatorOptions): IamSimulator {
  const { accountId, counters, logger } = options;
  const now = options.now ?? Date.now;
  /** Keyed by the lower-cased name: IAM role names are unique regardless of case. */
  let roles = new Map<string, RoleRecord>();
  const changed = () => options.onChange?.();

  function roleOrThrow(roleName: string): RoleRecord {
    const role = roles.get(roleName.toLowerCase());
    if (!role) throw new AwsError('NoSuchEntity', `The role with name ${roleName} cannot be found.`, { status: 404 });
    return role;
  }

  function render(role: RoleRecord): IamRoleView {
    return {
      Path: role.path,
      RoleName: role.roleName,
      RoleId: role.roleId,
      Arn: role.arn,
      CreateDate: new Date(role.createdAt).toISOString(),
      AssumeRolePolicyDocument: encodeURIComponent(role.assumeRolePolicyDocument),
      ...(role.description !== undefined ? { Description: role.description } : {}),
      MaxSessionDuration: role.maxSessionDuration,
      Tags: role.tags.map((tag) => ({ ...tag })),
    };
  }

  return {
    createRole(input) {
      const roleName = validRoleName(input.roleName);
      const path = input.path ?? '/';
      if (path.length > 512) throw constraint(path, 'path', 'Member must have length less than or equal to 512');
      if (!PATH.test(path)) throw constraint(path, 'path', 'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)');
      if (input.description !== undefined) {
        if (input.description.length > 1000) throw constraint(input.description, 'description', 'Member must have length less than or equal to 1000');
        if (!DESCRIPTION.test(input.description)) {
          throw constraint(input.description, 'description', 'Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*');
        }
      }
      const maxSessionDuration = input.maxSessionDuration ?? 3600;
      if (!Number.isInteger(maxSessionDuration) || maxSessionDuration < 3600) {
        throw constraint(String(input.maxSessionDuration), 'maxSessionDuration', 'Member must have value greater than or equal to 3600');
      }
      if (maxSessionDuration > 43200) {
        throw constraint(String(input.maxSessionDuration), 'maxSessionDuration', 'Member must have value less than or equal to 43200');
      }
      checkTrustPolicy(input.assumeRolePolicyDocument);
      const tags = validTags(input.tags ?? []);
      if (tags.length > TAGS_PER_ROLE) throw limitExceeded(`Cannot exceed quota for TagsPerRole: ${TAGS_PER_ROLE}.`);
      if (roles.has(roleName.toLowerCase())) {
        throw new AwsError('EntityAlreadyExists', `Role with name ${roleName} already exists.`, { status: 409 });
      }
      const role: RoleRecord = {
        roleName,
        path,
        roleId: `AROA${uniqueIdSuffix()}`,
        arn: `arn:aws:iam::${accountId}:role${path}${roleName}`,
        createdAt: now(),
        assumeRolePolicyDocument: input.assumeRolePolicyDocument,
        ...(input.description !== undefined ? { description: input.description } : {}),
        maxSessionDuration,
        tags,
        attachedPolicies: [],
      };
      roles.set(roleName.toLowerCase(), role);
      counters.created('iam:role');
      logger.info({ role: roleName }, 'iam role created');
      changed();
      return render(role);
    },

    getRole: (roleName) => render(roleOrThrow(validRoleName(roleName))),

    listRoles(pathPrefix, page) {
      const prefix = validPathPrefix(pathPrefix);
      const all = [...roles.values()].filter((role) => role.path.startsWith(prefix)).sort(byName);
      const { items, marker } = pageOf(all, (role) => role.roleName.toLowerCase(), page);
      return { roles: items.map(render), ...(marker !== undefined ? { marker } : {}) };
    },

    deleteRole(roleName) {
      const role = roleOrThrow(validRoleName(roleName));
      if (role.attachedPolicies.length > 0) {
        throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', { status: 409 });
      }
      roles.delete(role.roleName.toLowerCase());
      counters.deleted('iam:role');
      logger.info({ role: role.roleName }, 'iam role deleted');
      changed();
    },

    attachRolePolicy(roleName, policyArn) {
      const role = roleOrThrow(validRoleName(roleName));
      const arn = validPolicyArn(policyArn);
      if (!AWS_MANAGED_POLICIES.includes(arn)) {
        throw new AwsError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`, { status: 404 });
      }
      if (role.attachedPolicies.includes(arn)) return;
      if (role.attachedPolicies.length >= MANAGED_POLICIES_PER_ROLE) {
        throw limitExceeded(`Cannot exceed quota for PoliciesPerRole: ${MANAGED_POLICIES_PER_ROLE}`);
      }
      role.attachedPolicies.push(arn);
      changed();
    },

    detachRolePolicy(roleName, policyArn) {
      const role = roleOrThrow(validRoleName(roleName));
      const arn = validPolicyArn(policyArn);
      if (!role.attachedPolicies.includes(arn)) throw new AwsError('NoSuchEntity', `Policy ${arn} was not found.`, { status: 404 });
      role.attachedPolicies = role.attachedPolicies.filter((attached) => attached !== arn);
      changed();
    },

    listAttachedRolePolicies(roleName, pathPrefix, page) {
      const role = roleOrThrow(validRoleName(roleName));
      const prefix = validPathPrefix(pathPrefix);
      const policies = role.attachedPolicies
        .map((arn) => ({ arn, path: policyPathOf(arn), name: arn.slice(arn.lastIndexOf('/') + 1) }))
        .filter((policy) => policy.path.startsWith(prefix))
        .sort((a, b) => compareKeys(a.name, b.name));
      const { items, marker } = pageOf(policies, (policy) => policy.name, page);
      return { policies: items.map((policy) => ({ PolicyName: policy.name, PolicyArn: policy.arn })), ...(marker !== undefined ? { marker } : {}) };
    },

    tagRole(roleName, tags) {
      const role = roleOrThrow(validRoleName(roleName));
      const added = validTags(tags);
      const merged = new Map(role.tags.map((tag) => [tag.Key, tag.Value]));
      for (const tag of added) merged.set(tag.Key, tag.Value);
      if (merged.size > TAGS_PER_ROLE) throw limitExceeded(`Cannot exceed quota for TagsPerRole: ${TAGS_PER_ROLE}.`);
      role.tags = [...merged].map(([Key, Value]) => ({ Key, Value }));
      changed();
    },

    untagRole(roleName, tagKeys) {
      const role = roleOrThrow(validRoleName(roleName));
      if (tagKeys.length > TAGS_PER_ROLE) throw constraint(`[${tagKeys.join(', ')}]`, 'tagKeys', `Member must have length less than or equal to ${TAGS_PER_ROLE}`);
      for (const key of tagKeys) checkTagKey(key);
      role.tags = role.tags.filter((tag) => !tagKeys.includes(tag.Key));
      changed();
    },

    listRoleTags(roleName, page) {
      const role = roleOrThrow(validRoleName(roleName));
      const { items, marker } = pageOf(role.tags, (tag) => tag.Key, page, false);
      return { tags: items.map((tag) => ({ ...tag })), ...(marker !== undefined ? { marker } : {}) };
    },

    roleForSts(roleArn) {
      const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
      if (!match || match[1] !== accountId) return undefined;
      const role = roles.get((match[2] as string).toLowerCase());
      if (!role) return undefined;
      return {
        roleName: role.roleName,
        roleId: role.roleId,
        arn: role.arn,
        maxSessionDuration: role.maxSessionDuration,
        externalIds: externalIdsOf(role.assumeRolePolicyDocument),
      };
    },

    roleTrusts(roleArn, servicePrincipal) {
      const match = /^arn:aws[a-z-]*:iam::(\d{12}):role(\/(?:.*\/)?)([^/]+)$/.exec(roleArn);
      if (!match || match[1] !== accountId) return false;
      const role = roles.get((match[3] as string).toLowerCase());
      if (!role || role.path !== match[2]) return false;
      return trustsServicePrincipal(role.assumeRolePolicyDocument, servicePrincipal);
    },

    inventory: () => ({
      roles: [...roles.values()].sort(byName).map((role) => ({ name: role.roleName, arn: role.arn, attachedPolicies: [...role.attachedPolicies] })),
    }),

    snapshot: () => ({ roles: [...roles.values()].map((role) => structuredClone(role)) }),

    restore(snapshot) {
      roles = new Map((snapshot?.roles ?? []).map((role) => [role.roleName.toLowerCase(), structuredClone(role)]));
    },

    reset() {
      roles = new Map();
      changed();
    },
  };
}

function byName(a: RoleRecord, b: RoleRecord): number {
  return compareKeys(a.roleName.toLowerCase(), b.roleName.toLowerCase());
}

/** Code-unit order, the same order the markers' `>` uses. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function constraint(value: string | undefined, field: string, rule: string): AwsError {
  const shown = value === undefined ? 'null' : `'${value}'`;
  return new AwsError('ValidationError', `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${rule}`, { status: 400 });
}

function limitExceeded(message: string): AwsError {
  return new AwsError('LimitExceeded', message, { status: 409 });
}

function malformed(message: string): AwsError {
  return new AwsError('MalformedPolicyDocument', message, { status: 400 });
}

function validRoleName(roleName: string | undefined): string {
  if (roleName === undefined || roleName === '') throw constraint(undefined, 'roleName', 'Member must not be null');
  if (roleName.length > 64) throw constraint(roleName, 'roleName', 'Member must have length less than or equal to 64');
  if (!ROLE_NAME.test(roleName)) throw constraint(roleName, 'roleName', 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
  return roleName;
}

function validPathPrefix(pathPrefix: string | undefined): string {
  if (pathPrefix === undefined) return '/';
  if (pathPrefix.length > 512) throw constraint(pathPrefix, 'pathPrefix', 'Member must have length less than or equal to 512');
  if (!/^\/[\u0021-\u007F]*$/.test(pathPrefix)) {
    throw constraint(pathPrefix, 'pathPrefix', 'Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*');
  }
  return pathPrefix;
}

function validPolicyArn(policyArn: string | undefined): string {
  if (policyArn === undefined || policyArn === '') throw constraint(undefined, 'policyArn', 'Member must not be null');
  if (policyArn.length < 20) throw constraint(policyArn, 'policyArn', 'Member must have length greater than or equal to 20');
  if (!POLICY_ARN.test(policyArn)) throw new AwsError('InvalidInput', `ARN ${policyArn} is not valid.`, { status: 400 });
  return policyArn;
}

function policyPathOf(arn: string): string {
  const afterType = arn.slice(arn.indexOf(':policy/') + ':policy'.length);
  return afterType.slice(0, afterType.lastIndexOf('/') + 1);
}

function checkTagKey(key: string): void {
  if (key.length === 0 || key.length > 128) throw constraint(key, 'tags.member.key', 'Member must have length between 1 and 128');
  if (!TAG_KEY.test(key)) throw constraint(key, 'tags.member.key', 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+');
}

function validTags(tags: IamTag[]): IamTag[] {
  const seen = new Set<string>();
  for (const tag of tags) {
    checkTagKey(tag.Key);
    if (tag.Value.length > 256) throw constraint(tag.Value, 'tags.member.value', 'Member must have length less than or equal to 256');
    if (!TAG_VALUE.test(tag.Value)) throw constraint(tag.Value, 'tags.member.value', 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*');
    if (seen.has(tag.Key.toLowerCase())) throw new AwsError('InvalidInput', `Duplicate tag keys found. Please note that Tag keys are case insensitive.`, { status: 400 });
    seen.add(tag.Key.toLowerCase());
  }
  return tags.map((tag) => ({ Key: tag.Key, Value: tag.Value }));
}

/** A trust policy: JSON with `Statement`s that each have an `Effect`, a `Principal` and an `Action`, and no `Resource`. */
function checkTrustPolicy(document: string | undefined): void {
  if (document === undefined || document === '') throw constraint(undefined, 'assumeRolePolicyDocument', 'Member must not be null');
  if (document.length > TRUST_POLICY_MAX_CHARS) throw limitExceeded(`Cannot exceed quota for ACLSizePerRole: ${TRUST_POLICY_MAX_CHARS}`);
  let policy: unknown;
  try {
    policy = JSON.parse(document);
  } catch {
    throw malformed('This policy contains invalid Json');
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw malformed('This policy contains invalid Json');
  const { Version: version, Statement: statement } = policy as Record<string, unknown>;
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') throw malformed(`Invalid policy version: ${String(version)}`);
  if (statement === undefined) throw malformed('Missing required field Statement');
  const statements = Array.isArray(statement) ? statement : [statement];
  if (statements.length === 0) throw malformed('Missing required field Statement');
  for (const item of statements) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw malformed('Syntax errors in policy.');
    const fields = item as Record<string, unknown>;
    if (fields.Effect !== 'Allow' && fields.Effect !== 'Deny') throw malformed(fields.Effect === undefined ? 'Missing required field Effect' : `Invalid effect: ${String(fields.Effect)}`);
    if (fields.Principal === undefined && fields.NotPrincipal === undefined) throw malformed('Missing required field Principal');
    if (fields.Action === undefined && fields.NotAction === undefined) throw malformed('Missing required field Action');
    if (fields.Resource !== undefined || fields.NotResource !== undefined) throw malformed('Has prohibited field Resource');
    if (fields.Condition !== undefined && (typeof fields.Condition !== 'object' || fields.Condition === null || Array.isArray(fields.Condition))) {
      throw malformed('Syntax errors in policy.');
    }
  }
}

/**
 * The external ids a trust policy demands: `undefined` when some `Allow` statement for
 * `sts:AssumeRole` has no `sts:ExternalId` condition (then none is needed), else the ids that the
 * `StringEquals` conditions of those statements accept (an empty list: none is accepted).
 */
export function externalIdsOf(document: string): string[] | undefined {
  let policy: { Statement?: unknown };
  try {
    policy = JSON.parse(document) as { Statement?: unknown };
  } catch {
    return undefined;
  }
  const statements = (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]) as Array<Record<string, unknown> | undefined>;
  const ids: string[] = [];
  let conditioned = false;
  for (const statement of statements) {
    if (statement?.Effect !== 'Allow' || !allowsAssumeRole(statement.Action)) continue;
    const conditions = (statement.Condition ?? {}) as Record<string, unknown>;
    const externalIdConditions = Object.entries(conditions).flatMap(([operator, block]) =>
      typeof block === 'object' && block !== null
        ? Object.entries(block as Record<string, unknown>)
            .filter(([key]) => key.toLowerCase() === 'sts:externalid')
            .map(([, value]) => ({ operator, value }))
        : [],
    );
    if (externalIdConditions.length === 0) return undefined;
    conditioned = true;
    for (const { operator, value } of externalIdConditions) {
      if (operator !== 'StringEquals') continue;
      for (const id of Array.isArray(value) ? value : [value]) if (typeof id === 'string') ids.push(id);
    }
  }
  return conditioned ? ids : undefined;
}

/**
 * Whether a trust policy lets a service principal call `sts:AssumeRole`: some `Allow` statement
 * names it under `Principal.Service` (or `Principal` is `*`) and no `Deny` statement names it.
 * Conditions are not evaluated: a service's own call carries no external id or source account here.
 */
export function trustsServicePrincipal(document: string, servicePrincipal: string): boolean {
  let policy: { Statement?: unknown };
  try {
    policy = JSON.parse(document) as { Statement?: unknown };
  } catch {
    return false;
  }
  const statements = (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]) as Array<Record<string, unknown> | undefined>;
  const naming = statements.filter((statement) => statement !== undefined && allowsAssumeRole(statement.Action) && namesService(statement.Principal, servicePrincipal));
  return naming.some((statement) => statement?.Effect === 'Allow') && !naming.some((statement) => statement?.Effect === 'Deny');
}

function namesService(principal: unknown, servicePrincipal: string): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  const service = (principal as Record<string, unknown>).Service;
  const services = Array.isArray(service) ? service : [service];
  return services.some((item) => typeof item === 'string' && item.toLowerCase() === servicePrincipal.toLowerCase());
}

function allowsAssumeRole(action: unknown): boolean {
  const actions = Array.isArray(action) ? action : [action];
  return actions.some((item) => typeof item === 'string' && ['sts:assumerole', 'sts:*', '*'].includes(item.toLowerCase()));
}

/** Pages a sorted list by an opaque marker naming the last key of the page before. */
function pageOf<T>(sorted: T[], keyOf: (item: T) => string, page: IamPage, ordered = true): { items: T[]; marker?: string } {
  const maxItems = page.maxItems ?? 100;
  let start = 0;
  if (page.marker !== undefined) {
    const after = decodeMarker(page.marker);
    start = ordered ? sorted.findIndex((item) => keyOf(item) > after) : sorted.findIndex((item) => keyOf(item) === after) + 1;
    if (start < 0 || (!ordered && start === 0)) start = sorted.length;
  }
  const items = sorted.slice(start, start + maxItems);
  const last = items[items.length - 1];
  return { items, ...(start + maxItems < sorted.length && last !== undefined ? { marker: encodeMarker(keyOf(last)) } : {}) };
}

function encodeMarker(lastKey: string): string {
  return Buffer.from(JSON.stringify({ after: lastKey })).toString('base64');
}

function decodeMarker(marker: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(marker, 'base64').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw constraint(marker, 'marker', 'Member must be a marker returned by a previous call');
}

/** 17 characters of IAM's unique-id alphabet (upper-case letters and digits). */
function uniqueIdSuffix(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(17)].map((byte) => alphabet[byte % 32]).join('');
}
