/**
 * The Secrets Manager stand-in's state and rules, per region: secrets with versions and staging
 * labels (`AWSCURRENT`, `AWSPREVIOUS`), idempotent writes by client request token, tags, and
 * deletion with a recovery window that runs on the simulated clock. `secrets-manager-operations.ts`
 * does the wire. Unlike RDS, this service's job is to keep secret values, so they are kept (and
 * saved in the state file) as given.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { SandboxCounters } from '../../counters.js';
import type { SimClock } from '../../sim-clock.js';
import { AwsError } from '../aws-error.js';

export interface SecretTag {
  Key: string;
  Value: string;
}

export interface SecretVersionRecord {
  versionId: string;
  secretString?: string;
  /** Base64, as on the wire. */
  secretBinary?: string;
  stages: string[];
  createdAt: number;
}

export interface SecretRecord {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  /** The AWS service that manages the secret (`rds`), when one does. */
  owningService?: string;
  tags: SecretTag[];
  versions: SecretVersionRecord[];
  createdAt: number;
  lastChangedAt: number;
  /** Midnight UTC of the day of the last read of a value, as Secrets Manager records it. */
  lastAccessedAt?: number;
  /** Set while the secret is scheduled for deletion: when it was asked for, and the recovery window. */
  deletion?: { requestedAt: number; recoveryDays: number };
}

export interface SecretsManagerSnapshot {
  regions: Record<string, { secrets: SecretRecord[] }>;
}

export const SECRET_COUNTER_TYPE = 'secretsmanager:secret';
export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';
const DAY_MS = 24 * 60 * 60_000;
const NAME = /^[a-zA-Z0-9/_+=.@-]{1,512}$/;
/** Services name the secrets they manage with a `!` (`rds!db-…`), which a user's secret name cannot have. */
const SERVICE_NAME = /^[a-zA-Z0-9/_+=.@!-]{1,512}$/;
const TAGS_PER_SECRET = 50;
const MAX_SECRET_BYTES = 65_536;
/** Versions without a staging label are deprecated; Secrets Manager keeps about this many. */
const DEPRECATED_VERSIONS_KEPT = 100;

export interface SecretValueInput {
  secretString?: string;
  secretBinary?: string;
}

export interface CreateSecretInput extends SecretValueInput {
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: SecretTag[];
  clientRequestToken?: string;
  /** Set by another simulated service (RDS) creating a secret it manages: allows `aws:` tags. */
  owningService?: string;
}

export interface PutSecretValueInput extends SecretValueInput {
  secretId: string;
  clientRequestToken?: string;
  versionStages?: string[];
}

export interface DeleteSecretInput {
  secretId: string;
  recoveryWindowInDays?: number;
  forceDeleteWithoutRecovery?: boolean;
}

export interface SecretsManagerSimulator {
  createSecret(region: string, input: CreateSecretInput): { secret: SecretRecord; version?: SecretVersionRecord };
  /** By name, full ARN or ARN without its random suffix; `ResourceNotFoundException` otherwise. Secrets scheduled for deletion are found. */
  secret(region: string, secretId: string): SecretRecord;
  getSecretValue(region: string, input: { secretId: string; versionId?: string; versionStage?: string }): { secret: SecretRecord; version: SecretVersionRecord };
  putSecretValue(region: string, input: PutSecretValueInput): { secret: SecretRecord; version: SecretVersionRecord };
  list(region: string): SecretRecord[];
  deleteSecret(region: string, input: DeleteSecretInput): { secret: SecretRecord; deletionDate: number };
  restoreSecret(region: string, secretId: string): SecretRecord;
  tagResource(region: string, secretId: string, tags: SecretTag[]): void;
  untagResource(region: string, secretId: string, keys: string[]): void;
  /** Real instant a scheduled deletion is due at the current time scale. */
  deletionDueAt(secret: SecretRecord): number | undefined;
  /** Removes secrets whose recovery window has passed; called before every read. */
  advance(): void;
  inventory(): Array<{ region: string; name: string; arn: string; versions: number; scheduledForDeletion: boolean }>;
  snapshot(): SecretsManagerSnapshot;
  restore(snapshot: SecretsManagerSnapshot | undefined): void;
  reset(): void;
}

export interface SecretsManagerSimulatorOptions {
  clock: SimClock;
  counters: SandboxCounters;
  accountId: string;
  onChange?: () => void;
  /**
   * Called before every read: brings the services that own secrets up to date first (an RDS
   * instance that is gone by now has taken its managed secret with it), as time would on AWS.
   */
  beforeRead?: () => void;
}

export function invalidParameter(message: string): AwsError {
  return new AwsError('InvalidParameterException', message, { status: 400 });
}

function invalidRequest(message: string): AwsError {
  return new AwsError('InvalidRequestException', message, { status: 400 });
}

function notFound(message = "Secrets Manager can't find the specified secret."): AwsError {
  return new AwsError('ResourceNotFoundException', message, { status: 400 });
}

const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";

function checkToken(token: string | undefined): string {
  if (token === undefined) return randomUUID();
  if (token.length < 32 || token.length > 64) {
    throw invalidParameter('ClientRequestToken must be between 32 and 64 characters long.');
  }
  return token;
}

function checkValue(value: SecretValueInput, required: boolean): void {
  if (value.secretString !== undefined && value.secretBinary !== undefined) {
    throw invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  if (required && value.secretString === undefined && value.secretBinary === undefined) {
    throw invalidParameter('You must provide either SecretString or SecretBinary.');
  }
  const size = value.secretString !== undefined ? Buffer.byteLength(value.secretString) : value.secretBinary !== undefined ? Buffer.from(value.secretBinary, 'base64').length : 0;
  if (size > MAX_SECRET_BYTES) throw invalidParameter(`The secret value exceeds the maximum size of ${MAX_SECRET_BYTES} bytes.`);
}

function checkTags(tags: SecretTag[], allowReserved: boolean): SecretTag[] {
  for (const tag of tags) {
    if (tag.Key === '' || tag.Key.length > 128) throw invalidParameter('Tag keys must be between 1 and 128 characters.');
    if (tag.Value.length > 256) throw invalidParameter('Tag values must be at most 256 characters.');
    if (!allowReserved && tag.Key.toLowerCase().startsWith('aws:')) throw invalidParameter(`Tag keys starting with 'aws:' are reserved for AWS use: ${tag.Key}`);
  }
  return tags;
}

function sameValue(version: SecretVersionRecord, value: SecretValueInput): boolean {
  return version.secretString === value.secretString && version.secretBinary === value.secretBinary;
}

export function createSecretsManagerSimulator(options: SecretsManagerSimulatorOptions): SecretsManagerSimulator {
  const { clock, counters, accountId } = options;
  let regions = new Map<string, { secrets: SecretRecord[] }>();
  const changed = () => options.onChange?.();

  function region(name: string): { secrets: SecretRecord[] } {
    let state = regions.get(name);
    if (state === undefined) {
      state = { secrets: [] };
      regions.set(name, state);
    }
    return state;
  }

  function arnPrefix(regionName: string): string {
    return `arn:aws:secretsmanager:${regionName}:${accountId}:secret:`;
  }

  function secretArn(regionName: string, name: string): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    return `${arnPrefix(regionName)}${name}-${[...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('')}`;
  }

  function find(regionName: string, secretId: string): SecretRecord | undefined {
    advance();
    const secrets = region(regionName).secrets;
    if (!secretId.startsWith('arn:')) return secrets.find((s) => s.name === secretId);
    return secrets.find((s) => s.arn === secretId) ?? secrets.find((s) => `${arnPrefix(regionName)}${s.name}` === secretId);
  }

  function secret(regionName: string, secretId: string): SecretRecord {
    if (secretId === '') throw invalidParameter('The parameter SecretId must be provided and must not be blank.');
    const found = find(regionName, secretId);
    if (found === undefined) throw notFound();
    return found;
  }

  function live(regionName: string, secretId: string): SecretRecord {
    const found = secret(regionName, secretId);
    if (found.deletion !== undefined) throw invalidRequest(MARKED_FOR_DELETION);
    return found;
  }

  function deletionDueAt(record: SecretRecord): number | undefined {
    if (record.deletion === undefined) return undefined;
    return record.deletion.requestedAt + clock.real(record.deletion.recoveryDays * DAY_MS);
  }

  /** Adds a version holding `stages`; those labels leave the versions that had them, and a replaced AWSCURRENT becomes AWSPREVIOUS. */
  function addVersion(record: SecretRecord, versionId: string, value: SecretValueInput, stages: string[]): SecretVersionRecord {
    const now = clock.now();
    if (stages.includes(AWSCURRENT)) {
      const current = record.versions.find((v) => v.stages.includes(AWSCURRENT));
      if (current !== undefined) {
        for (const v of record.versions) v.stages = v.stages.filter((s) => s !== AWSPREVIOUS);
        current.stages.push(AWSPREVIOUS);
      }
    }
    for (const v of record.versions) v.stages = v.stages.filter((s) => !stages.includes(s));
    const version: SecretVersionRecord = {
      versionId,
      ...(value.secretString !== undefined ? { secretString: value.secretString } : {}),
      ...(value.secretBinary !== undefined ? { secretBinary: value.secretBinary } : {}),
      stages: [...stages],
      createdAt: now,
    };
    record.versions.push(version);
    const deprecated = record.versions.filter((v) => v.stages.length === 0);
    if (deprecated.length > DEPRECATED_VERSIONS_KEPT) {
      const dropped = new Set(deprecated.slice(0, deprecated.length - DEPRECATED_VERSIONS_KEPT));
      record.versions = record.versions.filter((v) => !dropped.has(v));
    }
    record.lastChangedAt = now;
    return version;
  }

  function remove(regionName: string, record: SecretRecord): void {
    const state = region(regionName);
    state.secrets = state.secrets.filter((s) => s !== record);
    counters.deleted(SECRET_COUNTER_TYPE);
  }

  function advance(): void {
    options.beforeRead?.();
    let moved = false;
    for (const [, state] of regions) {
      const gone = state.secrets.filter((s) => s.deletion !== undefined && clock.elapsed(s.deletion.requestedAt, s.deletion.recoveryDays * DAY_MS));
      if (gone.length === 0) continue;
      state.secrets = state.secrets.filter((s) => !gone.includes(s));
      for (const _secret of gone) counters.deleted(SECRET_COUNTER_TYPE);
      moved = true;
    }
    if (moved) changed();
  }

  function mergeTags(record: SecretRecord, tags: SecretTag[]): void {
    const merged = record.tags.map((t) => ({ ...t }));
    for (const tag of tags) {
      const existing = merged.find((t) => t.Key === tag.Key);
      if (existing) existing.Value = tag.Value;
      else merged.push({ ...tag });
    }
    if (merged.length > TAGS_PER_SECRET) throw invalidParameter(`A secret may have at most ${TAGS_PER_SECRET} tags.`);
    record.tags = merged;
  }

  return {
    secret,
    deletionDueAt,
    advance,

    createSecret(regionName, input) {
      if (!(input.owningService === undefined ? NAME : SERVICE_NAME).test(input.name)) {
        throw invalidParameter('Invalid name. Must be 1 to 512 characters: letters, digits and /_+=.@- only.');
      }
      checkValue(input, false);
      checkTags(input.tags, input.owningService !== undefined);
      const token = checkToken(input.clientRequestToken);
      const hasValue = input.secretString !== undefined || input.secretBinary !== undefined;
      const existing = find(regionName, input.name);
      if (existing !== undefined) {
        if (existing.deletion !== undefined) {
          throw invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.");
        }
        // A retry of the same create (same token, same value) gets the same answer.
        const version = existing.versions.find((v) => v.versionId === token);
        if (version !== undefined && sameValue(version, input)) return { secret: existing, version };
        throw new AwsError('ResourceExistsException', `The operation failed because the secret ${input.name} already exists.`, { status: 400 });
      }
      const now = clock.now();
      const record: SecretRecord = {
        arn: secretArn(regionName, input.name),
        name: input.name,
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.kmsKeyId !== undefined ? { kmsKeyId: input.kmsKeyId } : {}),
        ...(input.owningService !== undefined ? { owningService: input.owningService } : {}),
        tags: [],
        versions: [],
        createdAt: now,
        lastChangedAt: now,
      };
      mergeTags(record, input.tags);
      const version = hasValue ? addVersion(record, token, input, [AWSCURRENT]) : undefined;
      region(regionName).secrets.push(record);
      counters.created(SECRET_COUNTER_TYPE);
      changed();
      return { secret: record, ...(version !== undefined ? { version } : {}) };
    },

    getSecretValue(regionName, input) {
      const record = live(regionName, input.secretId);
      let version: SecretVersionRecord | undefined;
      if (input.versionId !== undefined) {
        version = record.versions.find((v) => v.versionId === input.versionId);
        if (version === undefined) throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${input.versionId}`);
        if (input.versionStage !== undefined && !version.stages.includes(input.versionStage)) {
          throw invalidParameter(`You provided a VersionStage that is not associated to the provided VersionId.`);
        }
      } else {
        const stage = input.versionStage ?? AWSCURRENT;
        version = record.versions.find((v) => v.stages.includes(stage));
        if (version === undefined) throw notFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`);
      }
      const today = Math.floor(clock.now() / DAY_MS) * DAY_MS;
      if (record.lastAccessedAt !== today) {
        record.lastAccessedAt = today;
        changed();
      }
      return { secret: record, version };
    },

    putSecretValue(regionName, input) {
      const record = live(regionName, input.secretId);
      checkValue(input, true);
      const token = checkToken(input.clientRequestToken);
      const stages = input.versionStages ?? [AWSCURRENT];
      if (stages.length === 0 || stages.length > 20) throw invalidParameter('VersionStages must name between 1 and 20 staging labels.');
      const existing = record.versions.find((v) => v.versionId === token);
      if (existing !== undefined) {
        if (sameValue(existing, input)) return { secret: record, version: existing };
        throw new AwsError('ResourceExistsException', "You can't modify an existing version, you can only create a new version.", { status: 400 });
      }
      const version = addVersion(record, token, input, stages);
      changed();
      return { secret: record, version };
    },

    list(regionName) {
      advance();
      return [...region(regionName).secrets];
    },

    deleteSecret(regionName, input) {
      const record = secret(regionName, input.secretId);
      if (input.forceDeleteWithoutRecovery === true && input.recoveryWindowInDays !== undefined) {
        throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
      }
      if (input.forceDeleteWithoutRecovery === true) {
        remove(regionName, record);
        changed();
        return { secret: record, deletionDate: clock.now() };
      }
      if (record.deletion !== undefined) throw invalidRequest(MARKED_FOR_DELETION);
      const days = input.recoveryWindowInDays ?? 30;
      if (!Number.isInteger(days) || days < 7 || days > 30) {
        throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
      }
      record.deletion = { requestedAt: clock.now(), recoveryDays: days };
      record.lastChangedAt = clock.now();
      changed();
      return { secret: record, deletionDate: deletionDueAt(record) as number };
    },

    restoreSecret(regionName, secretId) {
      const record = secret(regionName, secretId);
      if (record.deletion !== undefined) {
        delete record.deletion;
        record.lastChangedAt = clock.now();
        changed();
      }
      return record;
    },

    tagResource(regionName, secretId, tags) {
      const record = live(regionName, secretId);
      mergeTags(record, checkTags(tags, false));
      record.lastChangedAt = clock.now();
      changed();
    },

    untagResource(regionName, secretId, keys) {
      const record = live(regionName, secretId);
      for (const key of keys) if (key.toLowerCase().startsWith('aws:')) throw invalidParameter(`Tag keys starting with 'aws:' are reserved for AWS use: ${key}`);
      record.tags = record.tags.filter((t) => !keys.includes(t.Key));
      record.lastChangedAt = clock.now();
      changed();
    },

    inventory() {
      advance();
      return [...regions].flatMap(([name, state]) =>
        state.secrets.map((s) => ({ region: name, name: s.name, arn: s.arn, versions: s.versions.length, scheduledForDeletion: s.deletion !== undefined })),
      );
    },

    snapshot: () => ({ regions: structuredClone(Object.fromEntries(regions)) }),
    restore(snapshot) {
      regions = new Map(Object.entries(structuredClone(snapshot?.regions ?? {})).map(([name, state]) => [name, { secrets: state.secrets ?? [] }]));
    },
    reset() {
      regions = new Map();
    },
  };
}
