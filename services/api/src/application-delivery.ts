/**
 * The delivery records of one Application, read and written inside its expansion's transaction:
 * its Releases, the platform's DeliveryPolicies and its Rollouts (one per change per tier, the
 * tier's history). The decisions themselves (which release a tier runs, whether a change waits for
 * an approval) are made in `application-expansion.ts`; this module only keeps the rows.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { PolicyRecord, ReleaseRecord, RolloutChange, RolloutRecord, RolloutRelease } from '@tugboat/applications';
import { APPLICATION, APPLICATION_LABELS, DELIVERY_POLICY, RELEASE, ROLLOUT, TIER_LABEL, type Condition, type RolloutDecision, type RolloutState } from '@tugboat/resource-model';
import { sql } from 'kysely';
import type { Actor } from './audit-trail.js';
import type { JsonObject } from './json-value.js';
import type { KindRegistry, RegisteredKind } from './kind-registry.js';
import type { ResourceWriteInput } from './resource-input.js';
import type { Row, Tx } from './resource-row.js';

export type { RolloutDecision };

export interface RolloutStatus extends JsonObject {
  phase: string;
  state: RolloutState;
  reason: string;
  message: string;
}

export interface StoredRollout extends RolloutRecord {
  row: Row;
  cause: string;
}

export interface DeliveryWriters {
  insert(tx: Tx, kind: RegisteredKind, uid: string, input: ResourceWriteInput, actor: Actor): Promise<Row>;
  setStatus(tx: Tx, kind: RegisteredKind, row: Row, status: JsonObject, actor: Actor): Promise<Row>;
  remove(tx: Tx, row: Row, actor: Actor): Promise<Row | undefined>;
}

/** Decided Rollouts kept per Application and tier by default: a history as long as a Deployment's revisionHistoryLimit allows, five times over. */
export const ROLLOUT_HISTORY_LIMIT = 50;

/** The longest object name (a DNS label). */
const MAX_NAME = 63;

export function createDeliveryRecords(options: { kinds: KindRegistry; writers: DeliveryWriters; historyLimit?: number }) {
  const { kinds, writers } = options;
  const historyLimit = options.historyLimit ?? ROLLOUT_HISTORY_LIMIT;

  /** The Application's Releases, oldest first. */
  async function releasesOf(tx: Tx, app: Row): Promise<ReleaseRecord[]> {
    const rows = await tx
      .selectFrom('resources')
      .select(['name', 'spec'])
      .where('kind', '=', RELEASE.kind)
      .where('project', '=', app.project)
      .where(sql<boolean>`spec->'application'->>'name' = ${app.name}`)
      .orderBy('created_at')
      .orderBy('resource_version')
      .execute();
    return rows.map((r) => {
      const spec = r.spec as Record<string, string>;
      return { name: r.name, component: spec['component']!, image: spec['image']!, commit: spec['commit']!, ...(spec['buildUrl'] ? { buildUrl: spec['buildUrl'] } : {}) };
    });
  }

  async function policies(tx: Tx): Promise<PolicyRecord[]> {
    const rows = await tx.selectFrom('resources').select(['name', 'spec']).where('kind', '=', DELIVERY_POLICY.kind).where('project', '=', '').where('deletion_requested_at', 'is', null).execute();
    return rows.map((r) => {
      const spec = r.spec as { tier: string; mode: 'automatic' | 'approval'; approvers?: { roles: string[] }; requires?: { tier: string } };
      return { name: r.name, tier: spec.tier, mode: spec.mode, approvers: spec.approvers?.roles ?? [], ...(spec.requires ? { requires: spec.requires.tier } : {}) };
    });
  }

  /** The Application's Rollouts, every tier, oldest first. */
  async function rolloutsOf(tx: Tx, app: Row): Promise<StoredRollout[]> {
    const rows = await tx
      .selectFrom('resources')
      .selectAll()
      .where('kind', '=', ROLLOUT.kind)
      .where('project', '=', app.project)
      .where(sql<boolean>`spec->'application'->>'name' = ${app.name}`)
      .orderBy(sql`(spec->>'revision')::int`)
      .execute();
    return rows.map(stored);
  }

  /** Writes a new Rollout of the tier, owned by the Application, with its status. */
  async function record(
    tx: Tx,
    app: Row,
    rollout: { tier: string; revision: number; cause: string; releases: RolloutRelease[]; changes: RolloutChange[]; contentHash: string; previousRevision?: number },
    status: RolloutStatus,
    actor: Actor,
  ): Promise<StoredRollout> {
    const kind = await kinds.getOrThrow(ROLLOUT.kind);
    const name = rolloutName(app.name, rollout.tier, rollout.revision);
    const spec: JsonObject = {
      application: { name: app.name },
      tier: rollout.tier,
      revision: rollout.revision,
      cause: rollout.cause,
      releases: rollout.releases as unknown as JsonObject[],
      changes: rollout.changes as unknown as JsonObject[],
      contentHash: rollout.contentHash,
      ...(rollout.previousRevision === undefined ? {} : { previousRevision: rollout.previousRevision }),
    };
    const labels = { [APPLICATION_LABELS.application]: app.name, [TIER_LABEL]: rollout.tier };
    const row = await writers.insert(tx, kind, randomUUID(), { name, project: app.project, labels, ownerReferences: [{ kind: APPLICATION.kind, name: app.name }], spec }, actor);
    const written = stored(await writers.setStatus(tx, kind, row, status, actor));
    await pruneHistory(tx, app, rollout.tier, actor);
    return written;
  }

  /**
   * Keeps the tier's history bounded: decided Rollouts beyond the newest `historyLimit` go (a
   * waiting one always stays). What they recorded is still in the audit trail and the revisions.
   */
  async function pruneHistory(tx: Tx, app: Row, tier: string, actor: Actor): Promise<void> {
    const old = await tx
      .selectFrom('resources')
      .selectAll()
      .where('kind', '=', ROLLOUT.kind)
      .where('project', '=', app.project)
      .where(sql<boolean>`spec->'application'->>'name' = ${app.name}`)
      .where(sql<boolean>`spec->>'tier' = ${tier}`)
      .where(sql<boolean>`coalesce(status->>'state', '') not in ('PendingApproval', 'Waiting')`)
      .orderBy(sql`(spec->>'revision')::int`, 'desc')
      .offset(historyLimit)
      .limit(100)
      .execute();
    for (const row of old) await writers.remove(tx, row, actor);
  }

  async function setState(tx: Tx, rollout: StoredRollout, status: RolloutStatus, actor: Actor): Promise<StoredRollout> {
    const kind = await kinds.getOrThrow(ROLLOUT.kind);
    return stored(await writers.setStatus(tx, kind, rollout.row, status, actor));
  }

  /** Makes `release` owned by its Application (it goes with it). */
  async function adoptRelease(tx: Tx, app: Row, release: Row): Promise<void> {
    await tx.insertInto('owner_references').values({ owned_uid: release.uid, owner_uid: app.uid, position: 0 }).onConflict((oc) => oc.doNothing()).execute();
  }

  return { releasesOf, policies, rolloutsOf, record, setState, adoptRelease };
}

export type DeliveryRecords = ReturnType<typeof createDeliveryRecords>;

function stored(row: Row): StoredRollout {
  const spec = row.spec as { tier: string; revision: number; cause: string; releases: RolloutRelease[]; changes: RolloutChange[]; contentHash: string };
  const status = row.status as { state?: RolloutState };
  return {
    row,
    name: row.name,
    tier: spec.tier,
    revision: spec.revision,
    cause: spec.cause,
    state: status.state ?? 'PendingApproval',
    releases: spec.releases,
    changes: spec.changes,
    contentHash: spec.contentHash,
  };
}

/** `<application>-<tier>-<revision>`, shortened to a DNS label when that is too long. */
export function rolloutName(application: string, tier: string, revision: number): string {
  const name = `${application}-${tier}-${revision}`;
  if (name.length <= MAX_NAME) return name;
  const digest = createHash('sha256').update(`${application}/${tier}`).digest('hex').slice(0, 8);
  return `${application.slice(0, MAX_NAME - 20).replace(/-+$/, '')}-${digest}-${revision}`;
}

/** A Rollout's status for its state: phase, Ready and PendingApproval conditions, the decision. */
export function rolloutStatus(state: RolloutState, message: string, extra: { decision?: RolloutDecision; waitingFor?: string; reason?: string; approvers?: string[] } = {}): RolloutStatus {
  const at = extra.decision?.at ?? new Date().toISOString();
  const phase = state === 'Applied' ? 'Ready' : state === 'PendingApproval' || state === 'Waiting' ? 'Pending' : 'Failed';
  const reason = extra.reason ?? state;
  const conditions: Condition[] = [
    { type: 'Ready', status: state === 'Applied' ? 'True' : 'False', reason, message, lastTransitionTime: at },
    { type: 'PendingApproval', status: state === 'PendingApproval' || state === 'Waiting' ? 'True' : 'False', reason, message, lastTransitionTime: at },
  ];
  return {
    phase,
    state,
    reason,
    message,
    conditions: conditions as unknown as JsonObject[],
    ...(extra.decision ? { decision: extra.decision as unknown as JsonObject } : {}),
    ...(extra.waitingFor ? { waitingFor: extra.waitingFor } : {}),
    ...(extra.approvers ? { approvers: extra.approvers } : {}),
  };
}

/** A digest of what a Rollout changes: the same proposal hashes the same, so an approval applies exactly what was shown. */
export function contentHash(releases: readonly RolloutRelease[], changes: ReadonlyArray<RolloutChange & { spec?: unknown }>): string {
  const canonical = JSON.stringify({ releases, changes: changes.map((c) => ({ kind: c.kind, name: c.name, action: c.action, spec: c.spec ?? null, waitsFor: c.waitsFor ?? null })) }, sortedKeys);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
