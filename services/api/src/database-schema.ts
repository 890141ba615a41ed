/** Row types of the tables `@tugboat/migrations` creates, as Kysely sees them. */
import type { ColumnType, Generated } from 'kysely';

/** bigint columns: pg returns strings, PGlite numbers; both are normalised with `String()`/`Number()`. */
type Int8 = ColumnType<string | number, string | number, string | number>;
/** bigserial: generated on insert. */
type Serial8 = ColumnType<string | number, string | number | undefined, string | number>;
/** jsonb columns are always written through `jsonb()` (an explicit cast of a JSON string). */
type Jsonb<T> = ColumnType<T, unknown, unknown>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** Timestamps the database fills in (`default now()`). */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ResourcesTable {
  uid: string;
  kind: string;
  project: string;
  name: string;
  labels: Jsonb<Record<string, string>>;
  spec: Jsonb<Record<string, unknown>>;
  secrets: Jsonb<Record<string, SealedSecret>>;
  status: Jsonb<Record<string, unknown>>;
  generation: Int8;
  resource_version: Int8;
  finalizers: string[];
  deletion_requested_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Set by the operator controls: no reconciles until resumed. */
  suspended: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface SealedSecret {
  keyId: string;
  iv: string;
  tag: string;
  data: string;
  /** The path it was sealed under, when a migration moved it (honoured only for `MOVED_SECRET_PATHS`). */
  sealedAt?: string;
}

export interface ReferencesTable {
  from_uid: string;
  path: string;
  to_uid: string;
}

export interface OwnerReferencesTable {
  owned_uid: string;
  owner_uid: string;
  position: number;
}

export interface RevisionsTable {
  id: Serial8;
  resource_uid: string;
  kind: string;
  project: string;
  name: string;
  resource_version: Int8;
  generation: Int8;
  cause: string;
  actor: string;
  at: Timestamp;
  labels: Jsonb<Record<string, string>>;
  spec: Jsonb<Record<string, unknown>>;
  /** What an operator did, when a control made this revision (e.g. `suspended`). */
  note: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface EventsTable {
  id: Serial8;
  resource_uid: string;
  type: string;
  reason: string;
  message: string;
  count: Generated<number>;
  first_seen: Timestamp;
  last_seen: Timestamp;
  source: string;
}

export interface OutboxTable {
  id: Serial8;
  object_uid: string;
  subject: string;
  msg_id: string;
  payload: Jsonb<Record<string, unknown>>;
  created_at: CreatedAt;
}

export interface KindsTable {
  kind: string;
  plural: string;
  definition: Jsonb<Record<string, unknown>>;
  created_at: CreatedAt;
  /** From `kind_version_seq` on every registration and update (the default takes the next one). */
  version: ColumnType<string | number, string | number | undefined, string | number>;
  updated_at: CreatedAt;
}

export interface TokensTable {
  token_hash: string;
  name: string;
  type: 'user' | 'serviceaccount' | 'controller';
  controller: string | null;
  /** Migration 0009: the user a user token speaks for (null = the token's name). */
  subject: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0009: the token's one grant: a project role (`project` + `role`) or a platform role (`role` alone). */
  project: ColumnType<string | null, string | null | undefined, string | null>;
  role: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  /** Migration 0008: absent = never expires. */
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Written at most once a minute per token. */
  last_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** A revoked token keeps its row (the audit trail names it); it no longer authenticates. */
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** Migration 0010: one row per mutation, secret read, refused or failed attempt (see `audit-trail.ts`). */
export interface AuditRecordsTable {
  id: Serial8;
  at: CreatedAt;
  actor: string;
  actor_type: string;
  /** The presented token's name; null for the bootstrap admin (not a stored token) and internal work. */
  token: string | null;
  action: string;
  kind: string | null;
  project: string | null;
  name: string | null;
  outcome: 'success' | 'denied' | 'failed';
  status: number;
  request_id: string | null;
  source: string | null;
  detail: Jsonb<Record<string, unknown> | null>;
}

export interface Database {
  resources: ResourcesTable;
  references: ReferencesTable;
  owner_references: OwnerReferencesTable;
  revisions: RevisionsTable;
  events: EventsTable;
  outbox: OutboxTable;
  kinds: KindsTable;
  tokens: TokensTable;
  audit_records: AuditRecordsTable;
}
