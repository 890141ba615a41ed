/**
 * Deletion: DELETE (dependents first with cascade, owned objects with their owner), finalizer
 * removal and its forced form. An object that finalizers or referrers hold is marked; the last
 * release removes it, then its former targets and owned objects that waited for it.
 */
import { ConflictError, keyString, type ErrorDetail, type Resource } from '@tugboat/resource-model';
import { sql } from 'kysely';
import type { ChangeRecorder } from './change-recorder.js';
import type { Actor } from './audit-trail.js';
import type { KindRegistry, RegisteredKind } from './kind-registry.js';
import { lockByUid, lockRow } from './lock-row.js';
import { insertEvent } from './resource-events.js';
import { referrersOf } from './resource-reads.js';
import { toResourceOne, touch, type Row, type Tx } from './resource-row.js';
import type { ResourceStore } from './resource-store.js';

export interface DeleteResult {
  deleted: boolean;
  object?: Resource;
}

export interface ResourceDeletionOptions {
  kinds: KindRegistry;
  changes: ChangeRecorder;
}

export type ResourceDeletion = Pick<ResourceStore, 'delete' | 'removeFinalizer' | 'forceRemoveFinalizer'> & {
  /**
   * DELETE of one object inside a caller's transaction (an Application's expansion removing what
   * it no longer wants): marked or removed as DELETE does, owned objects in dependency order.
   */
  deleteInTransaction(tx: Tx, row: Row, actor: Actor): Promise<Row | undefined>;
};

export function createResourceDeletion(options: ResourceDeletionOptions): ResourceDeletion {
  const { kinds } = options;
  const { write, recordChange, nextVersion } = options.changes;

  async function kindOfRow(row: Row): Promise<RegisteredKind> {
    return kinds.getOrThrow(row.kind);
  }

  /** Removes a row whose deletion was requested once no finalizer and no referrer holds it, then its former targets. */
  async function removeIfReleased(tx: Tx, row: Row, actor: Actor): Promise<boolean> {
    if (row.finalizers.length > 0 || (await referrersOf(tx, row.uid)).length > 0) return false;
    // An owned object still waiting for a sibling that uses it keeps its owner, and its link to it.
    if (await hasWaitingOwned(tx, row.uid)) return false;
    const targets = await tx.selectFrom('references').select('to_uid').where('from_uid', '=', row.uid).execute();
    const owned = await tx.selectFrom('owner_references').select('owned_uid').where('owner_uid', '=', row.uid).execute();
    await tx.deleteFrom('resources').where('uid', '=', row.uid).execute();
    await recordChange(tx, await kindOfRow(row), { ...row, resource_version: await nextVersion(tx) }, 'delete', actor);
    // A target whose own delete waited for this referrer may go now; so may an owned object that waited.
    for (const { uid } of [...targets.map((t) => ({ uid: t.to_uid })), ...owned.map((o) => ({ uid: o.owned_uid }))]) {
      const target = await lockByUid(tx, uid);
      if (target?.deletion_requested_at) await removeIfReleased(tx, target, actor);
      else if (target) await deleteIfOwnerLeaving(tx, target, actor);
    }
    return true;
  }

  /** Whether an object has owned objects not yet on their way out (they wait for a sibling that uses them). */
  async function hasWaitingOwned(tx: Tx, uid: string): Promise<boolean> {
    const waiting = await tx
      .selectFrom('owner_references as o')
      .innerJoin('resources as r', 'r.uid', 'o.owned_uid')
      .select('r.uid')
      .where('o.owner_uid', '=', uid)
      .where('r.deletion_requested_at', 'is', null)
      .executeTakeFirst();
    return waiting !== undefined;
  }

  /** The uids of an object's owners whose deletion was requested. */
  async function leavingOwners(tx: Tx, uid: string): Promise<string[]> {
    const rows = await tx
      .selectFrom('owner_references as o')
      .innerJoin('resources as r', 'r.uid', 'o.owner_uid')
      .select('r.uid')
      .where('o.owned_uid', '=', uid)
      .where('r.deletion_requested_at', 'is not', null)
      .execute();
    return rows.map((r) => r.uid);
  }

  /**
   * An owned object that waited for its last user (a sibling under the same owner) goes once that
   * user is gone, if its owner is being deleted: a database after the app that used it.
   */
  async function deleteIfOwnerLeaving(tx: Tx, row: Row, actor: Actor): Promise<void> {
    const owners = await leavingOwners(tx, row.uid);
    if (owners.length === 0 || (await referrersOf(tx, row.uid)).length > 0) return;
    await deleteRow(tx, row, false, actor, new Set());
    for (const uid of owners) {
      const owner = await lockByUid(tx, uid);
      if (owner?.deletion_requested_at) await removeIfReleased(tx, owner, actor);
    }
  }

  /** DELETE of one object inside a transaction: dependents first (cascade), then owned objects, then itself. */
  async function deleteRow(tx: Tx, row: Row, cascade: boolean, actor: Actor, visiting: Set<string>): Promise<Row | undefined> {
    if (row.deletion_requested_at || visiting.has(row.uid)) return row;
    visiting.add(row.uid);
    if (row.kind === 'Project' && row.project === '') await refuseUnlessEmpty(tx, row.name);
    const owned = await tx.selectFrom('owner_references').select('owned_uid').where('owner_uid', '=', row.uid).orderBy('owned_uid').execute();
    const ownedUids = new Set(owned.map((o) => o.owned_uid));
    // Owned objects go with their owner, so they never block it, even when they also reference it.
    const live = (await referrersOf(tx, row.uid)).filter((r) => !r.deletionRequested && !visiting.has(r.uid) && !ownedUids.has(r.uid));
    if (live.length > 0 && !cascade) {
      const details: ErrorDetail[] = live.map((r) => ({ path: keyString(r), rule: 'in-use' }));
      throw new ConflictError(`${row.kind} "${row.name}" is used by ${details.map((d) => d.path).join(', ')}; delete them first or pass cascade=true`, { details });
    }
    for (const referrer of live) {
      const referrerRow = await lockByUid(tx, referrer.uid);
      if (referrerRow) await deleteRow(tx, referrerRow, true, actor, visiting);
    }
    for (const { owned_uid } of owned) {
      const ownedRow = await lockByUid(tx, owned_uid);
      if (!ownedRow) continue;
      // In dependency order: an owned object a sibling uses (an app's database) waits until that sibling is gone.
      if ((await referrersOf(tx, owned_uid)).some((r) => ownedUids.has(r.uid))) continue;
      await deleteRow(tx, ownedRow, cascade, actor, visiting);
    }
    if (row.finalizers.length === 0 && (await removeIfReleased(tx, row, actor))) return undefined;
    // Finalizers (or dependents still finalizing) hold it: mark it; the last release removes it.
    const marked = await tx
      .updateTable('resources')
      .set({ deletion_requested_at: new Date(), resource_version: sql`nextval('resource_version_seq')`, updated_at: new Date() })
      .where('uid', '=', row.uid)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordChange(tx, await kindOfRow(marked), marked, 'metadata', actor);
    return marked;
  }

  /**
   * A project is deleted only when empty, cascade or not: its objects are other teams' running
   * things, not dependents to sweep away. The foreign key of migration 0009 holds the same rule
   * against a create racing this delete; this names what is left.
   */
  async function refuseUnlessEmpty(tx: Tx, project: string): Promise<void> {
    const left = await tx
      .selectFrom('resources')
      .select(['kind', sql<string>`count(*)`.as('count')])
      .where('project', '=', project)
      .groupBy('kind')
      .orderBy('kind')
      .execute();
    if (left.length === 0) return;
    const counts = left.map((k) => `${String(k.count)} ${k.kind}`);
    throw new ConflictError(`project ${project} still holds ${counts.join(', ')}: delete them first (tug get KIND --project ${project} lists them)`, {
      details: left.map((k) => ({ path: `${k.kind}/${project}`, rule: 'project-not-empty' })),
    });
  }

  return {
    deleteInTransaction: (tx, row, actor) => deleteRow(tx, row, false, actor, new Set()),

    async delete(kind, key, deleteOptions, actor) {
      return write(async (tx) => {
        const row = await lockRow(tx, kind, key);
        const after = await deleteRow(tx, row, deleteOptions.cascade, actor, new Set());
        return after ? { deleted: false, object: await toResourceOne(tx, after) } : { deleted: true };
      }, { action: 'delete', kind: kind.definition.kind, ...key, actor, ...(deleteOptions.cascade ? { detail: { cascade: true } } : {}) });
    },

    async removeFinalizer(kind, key, finalizer, actor) {
      return write(async (tx) => {
        const current = await lockRow(tx, kind, key);
        if (!current.finalizers.includes(finalizer)) return { deleted: false, object: await toResourceOne(tx, current) };
        const finalizers = current.finalizers.filter((f) => f !== finalizer);
        if (finalizers.length === 0 && current.deletion_requested_at && (await removeIfReleased(tx, { ...current, finalizers }, actor))) return { deleted: true };
        const row = await tx
          .updateTable('resources')
          .set({ finalizers, resource_version: sql`nextval('resource_version_seq')`, updated_at: new Date() })
          .where('uid', '=', current.uid)
          .returningAll()
          .executeTakeFirstOrThrow();
        await recordChange(tx, kind, row, 'metadata', actor);
        return { deleted: false, object: await toResourceOne(tx, row) };
      }, { action: 'removeFinalizer', kind: kind.definition.kind, ...key, actor, detail: { finalizer } });
    },

    async forceRemoveFinalizer(kind, key, finalizer, actor) {
      return write(async (tx) => {
        const current = await lockRow(tx, kind, key);
        if (!current.finalizers.includes(finalizer)) return { deleted: false, object: await toResourceOne(tx, current) };
        const note = `finalizer ${finalizer} force-removed`;
        // Recorded before the row may go; the revision outlives the object, the event goes with it.
        await insertEvent(tx, current.uid, { type: 'Warning', reason: 'FinalizerForceRemoved', message: `${note} by ${actor.name}` }, actor);
        const row = await touch(tx, current, { finalizers: current.finalizers.filter((f) => f !== finalizer) });
        await recordChange(tx, kind, row, 'metadata', actor, note);
        if (row.finalizers.length === 0 && row.deletion_requested_at && (await removeIfReleased(tx, row, actor))) return { deleted: true };
        return { deleted: false, object: await toResourceOne(tx, row) };
      }, { action: 'forceRemoveFinalizer', kind: kind.definition.kind, ...key, actor, detail: { finalizer } });
    },
  };
}
