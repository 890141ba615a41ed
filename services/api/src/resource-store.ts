/**
 * Every read and write of resources, composed from one module per seam: `resource-reads.ts`,
 * `resource-writes.ts`, `resource-deletion.ts` and `resource-events.ts`. Each write runs in one
 * transaction that changes the resource, appends its revision and its outbox row (and then notifies
 * the relay): `recordChange` (`change-recorder.ts`) is the only way a write ends, so no code path
 * can change a resource without the other two. The one exception in form, not in effect, is
 * `createBatch` in `resource-writes.ts`: creates with nothing to resolve write their resources,
 * revisions and outbox rows in a single statement, and creates that arrive while earlier ones are
 * on their way share one (group commit, see `group-commit.ts`).
 */
import type { Kysely } from 'kysely';
import type { Referrer, Resource, ResourceEvent, ResourceStatus } from '@tugboat/resource-model';
import { createAdmission, type Admission } from './admission.js';
import { createAuditTrail, type Actor, type AuditTrail } from './audit-trail.js';
import { createChangeRecorder } from './change-recorder.js';
import type { Database } from './database-schema.js';
import type { KillPoint } from './kill-point.js';
import type { KindRegistry, RegisteredKind } from './kind-registry.js';
import { createResourceDeletion, type DeleteResult } from './resource-deletion.js';
import { createResourceEvents } from './resource-events.js';
import type { ResourceWriteInput } from './resource-input.js';
import { createResourceReads, type ListOptions } from './resource-reads.js';
import type { ObjectKey } from './resource-row.js';
import { createResourceWrites, type ApplyItem, type ApplyOptions, type ApplyOutcome } from './resource-writes.js';
import type { SecretBox } from './secret-box.js';
import type { ChildOutcome } from './application-expansion.js';
import type { RolloutDecisionInput, RolloutDecisionResult, UndoInput, UndoResult } from './rollout-decisions.js';
import { createSpecSealer } from './spec-sealer.js';

export type { ApplyItem, ApplyOptions, ApplyOutcome, DeleteResult, ListOptions, ObjectKey };
export { mapDatabaseError } from './change-recorder.js';
export { toResource } from './resource-row.js';

/** An event as the API answers it (`ResourceEvent` in resource-model). */
export type ObjectEvent = ResourceEvent;
export type { Referrer };

export interface ResourceStore {
  create(kind: RegisteredKind, input: ResourceWriteInput, actor: Actor): Promise<Resource>;
  get(kind: RegisteredKind, key: ObjectKey): Promise<Resource | undefined>;
  getOrThrow(kind: RegisteredKind, key: ObjectKey): Promise<Resource>;
  list(kind: RegisteredKind, options: ListOptions): Promise<{ items: Resource[]; continue?: string }>;
  replace(kind: RegisteredKind, key: ObjectKey, input: ResourceWriteInput, expectedVersion: string | undefined, actor: Actor): Promise<Resource>;
  patch(kind: RegisteredKind, key: ObjectKey, patch: { labels?: unknown; spec?: unknown }, expectedVersion: string | undefined, actor: Actor): Promise<Resource>;
  writeStatus(kind: RegisteredKind, key: ObjectKey, status: ResourceStatus, expectedVersion: string | undefined, actor: Actor): Promise<Resource>;
  delete(kind: RegisteredKind, key: ObjectKey, options: { cascade: boolean }, actor: Actor): Promise<DeleteResult>;
  removeFinalizer(kind: RegisteredKind, key: ObjectKey, finalizer: string, actor: Actor): Promise<DeleteResult>;
  /** The object's secret fields in the clear; the read is recorded in the audit trail first, in the same transaction. */
  readSecrets(kind: RegisteredKind, key: ObjectKey, actor: Actor): Promise<Record<string, unknown>>;
  recordEvent(kind: RegisteredKind, key: ObjectKey, event: Pick<ObjectEvent, 'type' | 'reason' | 'message'>, actor: Actor): Promise<ObjectEvent>;
  listEvents(kind: RegisteredKind, key: ObjectKey): Promise<ObjectEvent[]>;
  referrers(kind: RegisteredKind, key: ObjectKey): Promise<Referrer[]>;
  /**
   * Creates or updates each object, in the order given, in one transaction. Commits only when it is
   * not a dry run and no object is blocked; otherwise everything is rolled back.
   */
  applyAll(items: ApplyItem[], actor: Actor, options: ApplyOptions): Promise<{ outcomes: ApplyOutcome[]; committed: boolean }>;
  /**
   * Expands an Application again onto its clusters as they are now (a tier gained or lost one), in
   * one transaction; a dry run answers the plan and writes nothing. Refused children refuse it all.
   */
  expandApplication(kind: RegisteredKind, key: ObjectKey, options: { dryRun: boolean }, actor: Actor): Promise<ChildOutcome[]>;
  /**
   * Approves or rejects a Rollout that waits for a decision (`approver` answers the role the caller
   * approves in, or throws the 403 naming the roles that may). An approval applies the Rollout's
   * tier when its changes are still exactly the ones it shows; otherwise a new proposal supersedes
   * it and the answer is a 409 naming it. Each decision is an audit record.
   */
  decideRollout(key: ObjectKey, decision: RolloutDecisionInput, actor: Actor): Promise<RolloutDecisionResult>;
  /**
   * Rolls an Application's tiers back to the release they ran before (or a named one), through the
   * same path as any change: applied at once where `decide` approves, waiting for approval otherwise.
   */
  undoApplication(key: ObjectKey, undo: UndoInput, actor: Actor): Promise<UndoResult>;
  /** Operator controls: each writes a revision (with a note), an outbox row and an event, in one transaction. */
  setSuspended(kind: RegisteredKind, key: ObjectKey, suspended: boolean, actor: Actor): Promise<Resource>;
  requestReconcile(kind: RegisteredKind, key: ObjectKey, actor: Actor): Promise<Resource>;
  forceRemoveFinalizer(kind: RegisteredKind, key: ObjectKey, finalizer: string, actor: Actor): Promise<DeleteResult>;
}

export interface ResourceStoreOptions {
  db: Kysely<Database>;
  kinds: KindRegistry;
  secrets: SecretBox;
  /** NATS prefix: the subject of each outbox row derives from it. */
  prefix: string;
  /** NOTIFY channel the relay listens on (notified after each commit that wrote an outbox row). */
  outboxChannel: string;
  /**
   * The relay of this process: while it is the active one, a commit wakes it directly instead of
   * through a NOTIFY (one statement, and one commit flush, less per write). Otherwise NOTIFY wakes
   * whichever replica holds the relay lock.
   */
  localRelay?: { readonly active: boolean; wake(): void };
  killPoint: KillPoint;
  /**
   * Creates with nothing to resolve that arrive while `maxInFlight` (default 1) batches are on
   * their way go together as the next one, up to `maxBatch` (default 64) objects.
   */
  groupCommit?: { maxInFlight?: number; maxBatch?: number; maxQueued?: number };
  /** See `ApiServerOptions.rolloutHistoryLimit`. */
  rolloutHistoryLimit?: number;
  /** Write-time checks against other objects (guardrails, default cluster); `createAdmission()` when absent. */
  admission?: Admission;
  /**
   * Where every write and secret read records itself, in its own transaction. Default: a trail of
   * its own (records name the identity each call is given, without request id or source).
   */
  audit?: AuditTrail;
}

export function createResourceStore(options: ResourceStoreOptions): ResourceStore {
  const { db, kinds, prefix, killPoint } = options;
  const audit = options.audit ?? createAuditTrail();
  const changes = createChangeRecorder({
    audit,
    db,
    prefix,
    outboxChannel: options.outboxChannel,
    killPoint,
    ...(options.localRelay ? { localRelay: options.localRelay } : {}),
  });
  const sealer = createSpecSealer(options.secrets);
  const deletion = createResourceDeletion({ kinds, changes });
  return {
    ...createResourceReads({ db, sealer, audit }),
    ...createResourceEvents({ db, sealer, audit }),
    ...createResourceWrites({
      db,
      kinds,
      sealer,
      changes,
      prefix,
      killPoint,
      admission: options.admission ?? createAdmission(),
      audit,
      deleteInTransaction: deletion.deleteInTransaction,
      ...(options.groupCommit ? { groupCommit: options.groupCommit } : {}),
      ...(options.rolloutHistoryLimit ? { rolloutHistoryLimit: options.rolloutHistoryLimit } : {}),
    }),
    delete: deletion.delete,
    removeFinalizer: deletion.removeFinalizer,
    forceRemoveFinalizer: deletion.forceRemoveFinalizer,
  };
}
