/** The store's reads: one object (with its owners), pages of a kind by label selector, referrers, secrets. */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { InputError, type LabelRequirement, type Referrer } from '@tugboat/resource-model';
import type { AuditTrail } from './audit-trail.js';
import { mapDatabaseError } from './change-recorder.js';
import type { Database } from './database-schema.js';
import { jsonb } from './database.js';
import type { RegisteredKind } from './kind-registry.js';
import type { ResourceStore } from './resource-store.js';
import { notFound, toResource, toResources, type Executor, type ObjectKey, type Owner, type Row } from './resource-row.js';
import type { SpecSealer } from './spec-sealer.js';
import { unsafeStringRule } from './string-safety.js';
import { prepared } from './prepared-statements.js';
import { RESOURCE_COLUMNS } from './write-path-statements.js';

export interface ListOptions {
  project?: string;
  /** Only objects in these projects (the caller's): authorization narrows the query, not the answer. */
  projects?: readonly string[];
  /** Only objects with these names (a `Project` list narrowed to the caller's projects). */
  names?: readonly string[];
  selector?: LabelRequirement[];
  limit?: number;
  continue?: string;
}

export interface ResourceReadsOptions {
  db: Kysely<Database>;
  sealer: SpecSealer;
  audit: AuditTrail;
}

export type ResourceReads = Pick<ResourceStore, 'get' | 'getOrThrow' | 'list' | 'readSecrets' | 'referrers'>;

const MAX_LIST_LIMIT = 1000;
const DEFAULT_LIST_LIMIT = 100;

export function createResourceReads(options: ResourceReadsOptions): ResourceReads {
  const { db, sealer, audit } = options;
  return {
    async get(kind, key) {
      const found = await findWithOwners(db, kind, key);
      return found ? toResource(found.row, found.owners) : undefined;
    },

    async getOrThrow(kind, key) {
      const found = await findWithOwners(db, kind, key);
      if (!found) throw notFound(kind, key);
      return toResource(found.row, found.owners);
    },

    async list(kind, listOptions) {
      const limit = listOptions.limit ?? DEFAULT_LIST_LIMIT;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
        throw new InputError(`limit: must be an integer from 1 to ${MAX_LIST_LIMIT}`, { details: [{ path: 'limit', rule: 'range' }] });
      }
      let query = db.selectFrom('resources').selectAll().where('kind', '=', kind.definition.kind);
      if (listOptions.project !== undefined) query = query.where('project', '=', listOptions.project);
      if (listOptions.projects !== undefined) {
        if (listOptions.projects.length === 0) return { items: [] };
        query = query.where('project', 'in', [...listOptions.projects]);
      }
      if (listOptions.names !== undefined) {
        if (listOptions.names.length === 0) return { items: [] };
        query = query.where('name', 'in', [...listOptions.names]);
      }
      for (const requirement of listOptions.selector ?? []) {
        const pair = { [requirement.key]: requirement.op === 'eq' || requirement.op === 'neq' ? requirement.value : '' };
        if (requirement.op === 'eq') query = query.where(sql<boolean>`labels @> ${jsonb(pair)}`);
        else if (requirement.op === 'neq') query = query.where(sql<boolean>`not (labels @> ${jsonb(pair)})`);
        else if (requirement.op === 'exists') query = query.where(sql<boolean>`jsonb_exists(labels, ${requirement.key})`);
        else query = query.where(sql<boolean>`not jsonb_exists(labels, ${requirement.key})`);
      }
      if (listOptions.continue) {
        const [afterProject, afterName] = decodeContinue(listOptions.continue);
        query = query.where(sql<boolean>`(project, name) > (${afterProject}, ${afterName})`);
      }
      const rows = await query.orderBy('project').orderBy('name').limit(limit + 1).execute();
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { items: await toResources(db, page), ...(rows.length > limit && last ? { continue: encodeContinue(last.project, last.name) } : {}) };
    },

    async readSecrets(kind, key, actor) {
      // No secret leaves without its record: the record commits with the read, or the read fails.
      try {
        return await db.transaction().execute(async (tx) => {
          const row = await findRowOrThrow(tx, kind, key);
          await audit.record(tx, { action: 'readSecrets', kind: kind.definition.kind, project: key.project, name: key.name }, audit.contextOf(actor));
          return sealer.openSecrets(row);
        });
      } catch (error) {
        throw mapDatabaseError(error);
      }
    },

    async referrers(kind, key) {
      const row = await findRowOrThrow(db, kind, key);
      return (await referrersOf(db, row.uid)).map(({ kind: k, project, name, uid, path }) => ({ kind: k, project, name, uid, path }));
    },
  };
}

/**
 * The owners of the object whose uid is `uidColumn` (a column of the outer query, e.g. `x.uid`), in
 * their order, as JSON: a subquery for a select list, as SQL text (the prepared read is text). The
 * column is named by code, never by a request.
 */
export function ownersSubquery(uidColumn: string): string {
  return `(select json_agg(json_build_object('kind', owner.kind, 'name', owner.name, 'uid', owner.uid) order by link.position)
     from owner_references link join resources owner on owner.uid = link.owner_uid where link.owned_uid = ${uidColumn})`;
}

/**
 * `findWithOwners`'s statement, sent prepared (`prepared-statements.ts`): every GET and every
 * controller's read of an object after it took its lease run it, and unprepared the server parsed
 * and planned it each time. Its columns are named, as the batch create's are (`RESOURCE_COLUMNS`):
 * a prepared statement answering `*` fails once a migration adds a column.
 */
export const FIND_WITH_OWNERS = prepared('tugboat-find-with-owners', `
  select ${RESOURCE_COLUMNS.map((column) => `o.${column}`).join(', ')}, ${ownersSubquery('o.uid')} as owners
  from resources o
  where o.kind = $1 and o.project = $2 and o.name = $3`);

/**
 * An object with its owners in one query (`toResources` reads owners with a second one): the read path of
 * every GET and of a controller's read after its lease.
 */
export async function findWithOwners(executor: Executor, kind: RegisteredKind, key: ObjectKey): Promise<{ row: Row; owners: Owner[] } | undefined> {
  const { rows } = await executor.executeQuery<Row & { owners: Owner[] | null }>(CompiledQuery.raw(FIND_WITH_OWNERS, [kind.definition.kind, key.project, key.name]));
  const found = rows[0];
  if (!found) return undefined;
  const { owners, ...row } = found;
  return { row, owners: owners ?? [] };
}

/** An object's row, unlocked (reads that need its uid or its sealed secrets). */
export async function findRowOrThrow(db: Executor, kind: RegisteredKind, key: ObjectKey): Promise<Row> {
  const row = await db
    .selectFrom('resources')
    .selectAll()
    .where('kind', '=', kind.definition.kind)
    .where('project', '=', key.project)
    .where('name', '=', key.name)
    .executeTakeFirst();
  if (!row) throw notFound(kind, key);
  return row;
}

export async function referrersOf(tx: Executor, uid: string): Promise<Array<Referrer & { deletionRequested: boolean }>> {
  const rows = await tx
    .selectFrom('references as ref')
    .innerJoin('resources as r', 'r.uid', 'ref.from_uid')
    .select(['r.kind', 'r.project', 'r.name', 'r.uid', 'ref.path', 'r.deletion_requested_at'])
    .where('ref.to_uid', '=', uid)
    .orderBy('r.kind')
    .orderBy('r.project')
    .orderBy('r.name')
    .execute();
  return rows.map((r) => ({ kind: r.kind, project: r.project, name: r.name, uid: r.uid, path: `spec.${r.path}`, deletionRequested: r.deletion_requested_at !== null }));
}

function encodeContinue(project: string, name: string): string {
  return Buffer.from(JSON.stringify([project, name])).toString('base64url');
}

function decodeContinue(token: string): [string, string] {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    // Only strings Postgres can compare: a NUL or a lone surrogate decoded from a forged token was a 500.
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string' && unsafeStringRule(parsed[0]) === undefined && unsafeStringRule(parsed[1]) === undefined) {
      return [parsed[0], parsed[1]];
    }
  } catch {
    // fall through to the input error
  }
  throw new InputError('continue: not a token this API issued', { details: [{ path: 'continue', rule: 'format' }] });
}
