/**
 * Reads an object's history: one revision per committed change (who, when, why, the redacted
 * spec and labels after it), and the field-level diff between two of them. A revision's number is
 * the resourceVersion its change produced, so it never changes when older revisions are pruned.
 * The history outlives the object: after a delete, the last object of that name is shown.
 */
import type { Kysely, Selectable } from 'kysely';
import { InputError, NotFoundError, type ChangeCause, type Revision, type RevisionDiff } from '@tugboat/resource-model';
import type { Database, RevisionsTable } from './database-schema.js';
import { diffJson } from './json-diff.js';
import type { RegisteredKind } from './kind-registry.js';
import type { ObjectKey } from './resource-store.js';

export type { Revision, RevisionDiff };

export interface RevisionHistory {
  /** Newest first. */
  list(kind: RegisteredKind, key: ObjectKey): Promise<Revision[]>;
  get(kind: RegisteredKind, key: ObjectKey, revision: number): Promise<Revision | undefined>;
  /** `to` defaults to the newest revision. Labels show as `metadata.labels.*`, the spec as `spec.*`. */
  diff(kind: RegisteredKind, key: ObjectKey, from: number, to: number | undefined): Promise<RevisionDiff>;
}

export function createRevisionHistory(options: { db: Kysely<Database> }): RevisionHistory {
  const { db } = options;

  /** The object's uid: the live one, or else the newest one that had this name. */
  async function uidOf(kind: RegisteredKind, key: ObjectKey): Promise<string> {
    const live = await db
      .selectFrom('resources')
      .select('uid')
      .where('kind', '=', kind.definition.kind)
      .where('project', '=', key.project)
      .where('name', '=', key.name)
      .executeTakeFirst();
    if (live) return live.uid;
    const past = await db
      .selectFrom('revisions')
      .select('resource_uid')
      .where('kind', '=', kind.definition.kind)
      .where('project', '=', key.project)
      .where('name', '=', key.name)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (past) return past.resource_uid;
    throw new NotFoundError(`${kind.definition.kind} "${key.name}" not found${key.project ? ` in project ${key.project}` : ''}, and it has no history`, {
      details: [{ path: 'metadata.name', rule: 'not-found' }],
    });
  }

  async function one(uid: string, revision: number): Promise<Revision | undefined> {
    const row = await db.selectFrom('revisions').selectAll().where('resource_uid', '=', uid).where('resource_version', '=', String(revision)).executeTakeFirst();
    return row ? toRevision(row) : undefined;
  }

  return {
    async list(kind, key) {
      const uid = await uidOf(kind, key);
      const rows = await db.selectFrom('revisions').selectAll().where('resource_uid', '=', uid).orderBy('id', 'desc').execute();
      return rows.map(toRevision);
    },

    async get(kind, key, revision) {
      return one(await uidOf(kind, key), revision);
    },

    async diff(kind, key, from, to) {
      const uid = await uidOf(kind, key);
      const older = await one(uid, from);
      if (!older) throw new NotFoundError(`revision ${from} not found (it may have been pruned)`, { details: [{ path: 'from', rule: 'not-found' }] });
      let newer: Revision | undefined;
      if (to === undefined) {
        const row = await db.selectFrom('revisions').selectAll().where('resource_uid', '=', uid).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
        newer = toRevision(row);
      } else {
        newer = await one(uid, to);
        if (!newer) throw new NotFoundError(`revision ${to} not found (it may have been pruned)`, { details: [{ path: 'to', rule: 'not-found' }] });
      }
      const view = (r: Revision) => ({ metadata: { labels: r.labels }, spec: r.spec });
      return { from: older.revision, to: newer.revision, diff: diffJson(view(older), view(newer)) };
    },
  };
}

/** `?from=` / `?to=` / the path segment: a revision number as the API issued it. */
export function parseRevisionNumber(value: unknown, path: string): number {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw new InputError(`${path}: must be a revision number (as the revisions list shows)`, { details: [{ path, rule: 'type' }] });
  }
  return Number(value);
}

function toRevision(row: Selectable<RevisionsTable>): Revision {
  return {
    revision: Number(row.resource_version),
    generation: Number(row.generation),
    cause: row.cause as ChangeCause,
    actor: row.actor,
    at: new Date(row.at).toISOString(),
    labels: row.labels as Record<string, string>,
    spec: row.spec as Record<string, unknown>,
    ...(row.note ? { note: row.note } : {}),
  };
}
