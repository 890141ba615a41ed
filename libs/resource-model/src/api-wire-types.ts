/**
 * The shapes the HTTP API sends and accepts beside the resource envelope (see services/api/README.md,
 * "HTTP contract"): one definition each, used by the API that writes them, the client that reads
 * them, and the in-memory fake that stands in for the API in unit tests.
 */
import type { ErrorDetail } from './errors.js';
import type { KindDefinition } from './kind-definition.js';
import type { ChangeCause, Resource, ResourceStatus } from './resource.js';

/** `GET /v1/{plural}`: one page of objects. */
export interface ResourceList<Spec = Record<string, unknown>, Status = ResourceStatus> {
  items: Array<Resource<Spec, Status>>;
  metadata: {
    /** Opaque cursor for the next page; absent on the last page. */
    continue?: string;
    /** Where a watch resumes to see every change after this list (absent from APIs without watch). */
    cursor?: string;
  };
}

/** `POST /v1/kinds`: a kind definition as a client registers it (`builtIn` is the API's to set). */
export type KindRegistration = Omit<KindDefinition, 'builtIn'>;

/** `PUT /v1/kinds/{kind}`: what it did (the `tugboat-kind-action` header) and the definition (the body). */
export interface KindApplyResult {
  action: 'created' | 'updated' | 'unchanged';
  definition: KindDefinition;
}

export type EventType = 'Normal' | 'Warning';

/** `POST …/events`: what a controller reports about an object. */
export interface EventInput {
  type: EventType;
  reason: string;
  message: string;
}

/** `GET …/events`: repeats of the same type, reason and message are counted, not stored again. */
export interface ResourceEvent extends EventInput {
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** The identity that recorded it. */
  source: string;
}

/** `GET …/referrers`: an object whose spec points at this one. */
export interface Referrer {
  kind: string;
  project: string;
  name: string;
  uid: string;
  /** Where the reference sits, e.g. `spec.clusterRef`. */
  path: string;
}

/**
 * `GET /v1/whoami`. `name` is the subject: a user's name (a user token speaks for a user), a
 * service account's (its token's name) or a controller token's name.
 */
export interface Identity {
  name: string;
  type: 'user' | 'serviceaccount' | 'controller';
  /** For controller identities: the controller name (its finalizer, the owner of its kinds' status). */
  controller?: string;
  /** The name of the token the caller presented; absent for the bootstrap admin token (not stored). */
  token?: string;
  /** `whoami` only: the platform role, then each project role the caller holds now. */
  roles?: Array<{ project?: string; role: string }>;
}

/**
 * `POST /v1/tokens`: `controller` alone makes a controller identity. `expiresIn` (`90m`, `12h`,
 * `30d`) or `expiresAt` (RFC 3339), at most a year ahead; neither = the token does not expire.
 */
export interface TokenInput {
  name: string;
  /** Inferred when left out: `controller` → controller, `user` → user, `project`/`role` → serviceaccount. */
  type?: 'user' | 'serviceaccount' | 'controller';
  controller?: string;
  /** For user tokens: the user (a member of projects); default the token's name. */
  user?: string;
  /** The token's grant: a project and one of its roles, or a platform role alone. */
  project?: string;
  role?: string;
  expiresIn?: string;
  expiresAt?: string;
}

export interface CreatedToken {
  /** Shown once; the API keeps only its hash. */
  token: string;
  identity: Identity;
  /** RFC 3339, or null when the token does not expire. */
  expiresAt: string | null;
}

/**
 * `GET /v1/tokens` (one item) and `DELETE /v1/tokens/{name}`: what is known of a token, never the
 * token or its hash. Times are RFC 3339; null when the token does not expire, was never used (the
 * API records a use at most once a minute) or is not revoked. A revoked token stays listed.
 */
export interface TokenSummary {
  name: string;
  type: 'user' | 'serviceaccount' | 'controller';
  controller: string | null;
  /** For user tokens: the user it speaks for. */
  user: string | null;
  project: string | null;
  role: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/**
 * `GET /v1/admin/keys`: how many stored secret values each key id seals, as the answering replica
 * sees it. `keys` lists the keys that replica was given (the current one first); `unknown` the key
 * ids stored values name that it was not given (a replica refuses to start with any).
 */
export interface SecretKeyStatus {
  current: string;
  keys: Array<{ id: string; current: boolean; values: number }>;
  unknown: Array<{ id: string; values: number }>;
}

/**
 * `GET /v1/audit` (one item): one mutation, secret read, or refused or failed attempt. Times are
 * RFC 3339. `project` is null outside projects (platform objects, kinds, tokens); `token` is null
 * for the bootstrap admin; `status` is the HTTP status the request was answered (or, for a
 * success, would be answered) with.
 */
export interface AuditRecord {
  /** Increasing in the order records were written. */
  id: string;
  at: string;
  actor: string;
  actorType: string;
  token: string | null;
  action: string;
  kind: string | null;
  project: string | null;
  name: string | null;
  outcome: 'success' | 'denied' | 'failed';
  status: number;
  requestId: string | null;
  source: string | null;
  detail: Record<string, unknown> | null;
}

/** `GET /v1/audit`: newest first; `metadata.continue` asks for the next (older) page. */
export interface AuditRecordList {
  items: AuditRecord[];
  metadata: { continue?: string };
}

/** The filters of `GET /v1/audit`; `since`/`until` are RFC 3339 (`until` exclusive). */
export interface AuditQuery {
  project?: string;
  identity?: string;
  kind?: string;
  action?: string;
  since?: string;
  until?: string;
  limit?: number;
  continue?: string;
}

/** One field that differs between two versions of a spec (or labels); secret values are `"<redacted>"`. */
export interface FieldChange {
  /** Dotted path with `[i]` for array items, e.g. `spec.env.LOG_LEVEL` or `spec.command[1]`. */
  path: string;
  op: 'add' | 'remove' | 'replace';
  from?: unknown;
  to?: unknown;
}

/** `deleted`: an object an Application owns and no longer wants (its expansion deletes it). */
/** `pending`: an Application's change in a tier that rolls out on approval: it waits in `rollout`. */
export type ApplyAction = 'created' | 'updated' | 'unchanged' | 'blocked' | 'deleted' | 'pending';

export interface ApplyItemResult {
  kind: string;
  project: string;
  name: string;
  action: ApplyAction;
  generation?: number;
  /** For `updated`. */
  diff?: FieldChange[];
  /** For `blocked` (dry runs only): what stops the object, by field and rule. */
  reasons?: ErrorDetail[];
  /** For an object an Application's expansion writes: `Application/<name>`, its component and cluster. */
  owner?: string;
  component?: string;
  cluster?: string;
  /** The spec the expansion writes (secrets redacted): a dry run's promise, compared object by object. */
  spec?: Record<string, unknown>;
  /** For a `deleted` database or secret: the owned workloads it waits for before it goes; for a migrating workload, its replacement. */
  waitsFor?: string[];
  /** For a `deleted` workload moving to another cluster: the replacement that must be Ready before it goes. */
  migratingTo?: string;
  /** For `pending`: the Rollout that holds the change until someone allowed approves it, and the change. */
  rollout?: string;
  pendingAction?: 'created' | 'updated' | 'deleted';
}

/** `POST /v1/apply`. */
export interface ApplyResult {
  dryRun: boolean;
  results: ApplyItemResult[];
}

/** `GET …/revisions`: one committed change of an object's desired state or an operator control. */
export interface Revision {
  /** The resourceVersion the change produced: stable while older revisions are pruned. */
  revision: number;
  generation: number;
  cause: ChangeCause;
  actor: string;
  at: string;
  /** Labels and spec after the change (secrets redacted). */
  labels: Record<string, string>;
  spec: Record<string, unknown>;
  /** What an operator control did (`suspended`, `resumed`, `reconcile requested`, `finalizer X force-removed`). */
  note?: string;
}

/** `GET …/revisions/diff`. */
export interface RevisionDiff {
  from: number;
  to: number;
  diff: FieldChange[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** The `data:` of one `event: change` on `GET /v1/watch`. */
export interface WatchChange<Spec = Record<string, unknown>, Status = ResourceStatus> {
  type: WatchEventType;
  cause: ChangeCause;
  key: { kind: string; project: string; name: string; uid: string };
  resourceVersion: string;
  /** The object as read when the change was fanned out (it may already be newer); absent for DELETED or when gone. */
  object?: Resource<Spec, Status>;
}

/** Who decided a Rollout, how and when (`status.decision`). */
export interface RolloutDecision {
  action: 'approve' | 'reject' | 'automatic';
  by: string;
  /** The role the decision was made in (one the tier's DeliveryPolicy names). */
  role?: string;
  /** RFC 3339. */
  at: string;
  message?: string;
}

/** One component's release after a Rollout; `release` and `image` are absent when it runs its definition's own image. */
export interface RolloutRelease {
  component: string;
  release?: string;
  /** `repo@sha256:…`, the release's image. */
  image?: string;
}

/** One object a Rollout changes in its tier. */
export interface RolloutChange {
  kind: string;
  name: string;
  cluster: string;
  action: 'created' | 'updated' | 'deleted';
  /** For `updated`: the field changes. */
  diff?: FieldChange[];
  /** For a removal that waits: what it waits for. */
  waitsFor?: string[];
}

/** A Rollout's spec: one change of an Application in one tier (written by the API alone). */
export interface RolloutSpec {
  application: { name: string };
  tier: string;
  /** 1, 2, 3 … per application and tier. */
  revision: number;
  cause: 'release' | 'change' | 'undo';
  /** What the tier runs after it. */
  releases: RolloutRelease[];
  changes: RolloutChange[];
  /** A digest of the changes: an approval applies exactly what was shown. */
  contentHash: string;
  previousRevision?: number;
}

/** A Release's spec: one build of one component of an Application, its image pinned by digest. */
export interface ReleaseSpec {
  application: { name: string };
  component: string;
  /** `<repo>@sha256:<64 hex>`. */
  image: string;
  /** The source commit, 7 to 64 hex characters. */
  commit: string;
  buildUrl?: string;
  description?: string;
}

