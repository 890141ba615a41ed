/**
 * Secrets Manager on the wire (AWS JSON 1.1, `X-Amz-Target: secretsmanager.<Operation>`): reads the
 * JSON input, calls the simulator, and answers with Secrets Manager's member names; dates are epoch
 * seconds, as the JSON protocols send them.
 */
import { AwsError } from '../aws-error.js';
import type { AwsOperation, AwsOperationContext } from '../aws-operation.js';
import { invalidParameter, type SecretRecord, type SecretsManagerSimulator, type SecretTag } from './secrets-manager-simulator.js';

type Input = Record<string, unknown>;

function text(input: Input, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`${name} must be a string.`);
  return value;
}

function required(input: Input, name: string): string {
  const value = text(input, name);
  if (value === undefined || value === '') throw invalidParameter(`The parameter ${name} must be provided and must not be blank.`);
  return value;
}

function integer(input: Input, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidParameter(`${name} must be an integer.`);
  return value;
}

function boolean(input: Input, name: string): boolean | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidParameter(`${name} must be true or false.`);
  return value;
}

function strings(input: Input, name: string): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidParameter(`${name} must be a list of strings.`);
  return value as string[];
}

function tags(input: Input): SecretTag[] {
  const value = input.Tags;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidParameter('Tags must be a list.');
  return value.map((item: unknown) => {
    const tag = (item ?? {}) as Input;
    const key = text(tag, 'Key');
    if (key === undefined) throw invalidParameter('Every tag needs a Key.');
    return { Key: key, Value: text(tag, 'Value') ?? '' };
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

const seconds = (ms: number) => ms / 1000;

const FILTER_KEYS = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'];

interface SecretFilter {
  key: string;
  values: string[];
}

/** ListSecrets filters: each value is a prefix (case-sensitive), or `!prefix` to exclude; values of one filter are or-ed, filters and-ed. */
function matchesFilter(secret: SecretRecord, region: string, filter: SecretFilter): boolean {
  const fields: Record<string, string[]> = {
    description: secret.description !== undefined ? [secret.description] : [],
    name: [secret.name],
    'tag-key': secret.tags.map((t) => t.Key),
    'tag-value': secret.tags.map((t) => t.Value),
    'primary-region': [region],
    'owning-service': secret.owningService !== undefined ? [secret.owningService] : [],
  };
  const candidates = filter.key === 'all' ? Object.values(fields).flat() : (fields[filter.key] ?? []);
  const include = filter.values.filter((v) => !v.startsWith('!'));
  const exclude = filter.values.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
  if (exclude.some((prefix) => candidates.some((c) => c.startsWith(prefix)))) return false;
  return include.length === 0 || include.some((prefix) => candidates.some((c) => c.startsWith(prefix)));
}

function filters(input: Input): SecretFilter[] {
  const value = input.Filters;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidParameter('Filters must be a list.');
  return value.map((item: unknown) => {
    const filter = (item ?? {}) as Input;
    const key = text(filter, 'Key') ?? '';
    if (!FILTER_KEYS.includes(key)) throw invalidParameter(`Invalid filter key: ${key}. Valid keys: ${FILTER_KEYS.join(', ')}.`);
    const values = strings(filter, 'Values') ?? [];
    if (values.length === 0) throw invalidParameter(`The filter ${key} needs at least one value.`);
    return { key, values };
  });
}

export interface SecretsManagerOperationsOptions {
  secrets: SecretsManagerSimulator;
}

export function secretsManagerOperations(options: SecretsManagerOperationsOptions): AwsOperation[] {
  const { secrets } = options;
  const op = (operation: string, handler: (ctx: AwsOperationContext, input: Input) => unknown): AwsOperation => ({
    service: 'secretsmanager',
    protocol: 'json',
    targetPrefix: 'secretsmanager',
    operation,
    handler: (ctx) => handler(ctx, ctx.input),
  });

  /** A secret another service manages (RDS's `rds!db-…`) changes only through that service, as on AWS. */
  const notManaged = (region: string, secretId: string) => {
    const secret = secrets.secret(region, secretId);
    if (secret.owningService !== undefined) {
      throw new AwsError('InvalidRequestException', `You can't modify secret ${secret.name} because it's managed by ${secret.owningService}. Use ${secret.owningService} to change it.`, { status: 400 });
    }
    return secretId;
  };

  const versionsToStages = (s: SecretRecord) => Object.fromEntries(s.versions.filter((v) => v.stages.length > 0).map((v) => [v.versionId, [...v.stages]]));

  const describe = (region: string, s: SecretRecord) => ({
    ARN: s.arn,
    Name: s.name,
    ...optional('Description', s.description),
    ...optional('KmsKeyId', s.kmsKeyId),
    RotationEnabled: false,
    LastChangedDate: seconds(s.lastChangedAt),
    ...optional('LastAccessedDate', s.lastAccessedAt === undefined ? undefined : seconds(s.lastAccessedAt)),
    ...optional('DeletedDate', s.deletion === undefined ? undefined : seconds(s.deletion.requestedAt)),
    Tags: s.tags.map((t) => ({ ...t })),
    ...optional('OwningService', s.owningService),
    CreatedDate: seconds(s.createdAt),
    PrimaryRegion: region,
  });

  return [
    op('CreateSecret', (ctx, input) => {
      const { secret, version } = secrets.createSecret(ctx.region, {
        name: required(input, 'Name'),
        ...optional('description', text(input, 'Description')),
        ...optional('kmsKeyId', text(input, 'KmsKeyId')),
        ...optional('secretString', text(input, 'SecretString')),
        ...optional('secretBinary', text(input, 'SecretBinary')),
        ...optional('clientRequestToken', text(input, 'ClientRequestToken')),
        tags: tags(input),
      });
      return { ARN: secret.arn, Name: secret.name, ...optional('VersionId', version?.versionId) };
    }),
    op('GetSecretValue', (ctx, input) => {
      const { secret, version } = secrets.getSecretValue(ctx.region, {
        secretId: required(input, 'SecretId'),
        ...optional('versionId', text(input, 'VersionId')),
        ...optional('versionStage', text(input, 'VersionStage')),
      });
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        ...optional('SecretString', version.secretString),
        ...optional('SecretBinary', version.secretBinary),
        VersionStages: [...version.stages],
        CreatedDate: seconds(version.createdAt),
      };
    }),
    op('PutSecretValue', (ctx, input) => {
      const { secret, version } = secrets.putSecretValue(ctx.region, {
        secretId: notManaged(ctx.region, required(input, 'SecretId')),
        ...optional('clientRequestToken', text(input, 'ClientRequestToken')),
        ...optional('secretString', text(input, 'SecretString')),
        ...optional('secretBinary', text(input, 'SecretBinary')),
        ...optional('versionStages', strings(input, 'VersionStages')),
      });
      return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
    }),
    op('DescribeSecret', (ctx, input) => {
      const secret = secrets.secret(ctx.region, required(input, 'SecretId'));
      return { ...describe(ctx.region, secret), VersionIdsToStages: versionsToStages(secret) };
    }),
    op('ListSecrets', (ctx, input) => {
      const maxResults = integer(input, 'MaxResults') ?? 100;
      if (maxResults < 1 || maxResults > 100) throw invalidParameter(`Invalid MaxResults ${maxResults}: must be between 1 and 100.`);
      const sortOrder = text(input, 'SortOrder') ?? 'asc';
      if (sortOrder !== 'asc' && sortOrder !== 'desc') throw invalidParameter(`Invalid SortOrder ${sortOrder}: must be asc or desc.`);
      const includePlannedDeletion = boolean(input, 'IncludePlannedDeletion') ?? false;
      const wanted = filters(input);
      const all = secrets
        .list(ctx.region)
        .filter((s) => includePlannedDeletion || s.deletion === undefined)
        .filter((s) => wanted.every((f) => matchesFilter(s, ctx.region, f)))
        .sort((a, b) => (sortOrder === 'asc' ? a.createdAt - b.createdAt : b.createdAt - a.createdAt));
      const token = text(input, 'NextToken');
      let start = 0;
      if (token !== undefined && token !== '') {
        const decoded = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''));
        if (!Number.isInteger(decoded) || decoded < 0) throw invalidParameter(`Invalid NextToken: ${token}`);
        start = decoded;
      }
      const end = start + maxResults;
      return {
        SecretList: all.slice(start, end).map((s) => ({ ...describe(ctx.region, s), SecretVersionsToStages: versionsToStages(s) })),
        ...(end < all.length ? { NextToken: Buffer.from(`offset:${end}`).toString('base64url') } : {}),
      };
    }),
    op('DeleteSecret', (ctx, input) => {
      const { secret, deletionDate } = secrets.deleteSecret(ctx.region, {
        secretId: notManaged(ctx.region, required(input, 'SecretId')),
        ...optional('recoveryWindowInDays', integer(input, 'RecoveryWindowInDays')),
        ...optional('forceDeleteWithoutRecovery', boolean(input, 'ForceDeleteWithoutRecovery')),
      });
      return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(deletionDate) };
    }),
    op('RestoreSecret', (ctx, input) => {
      const secret = secrets.restoreSecret(ctx.region, required(input, 'SecretId'));
      return { ARN: secret.arn, Name: secret.name };
    }),
    op('TagResource', (ctx, input) => {
      secrets.tagResource(ctx.region, required(input, 'SecretId'), tags(input));
      return {};
    }),
    op('UntagResource', (ctx, input) => {
      secrets.untagResource(ctx.region, required(input, 'SecretId'), strings(input, 'TagKeys') ?? []);
      return {};
    }),
  ];
}
