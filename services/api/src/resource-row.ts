/**
 * The resources row as the store reads it, its mapping to the API's `Resource`, and the version bump
 * of a locked row: shared by the reads, writes and deletion of `resource-store.ts`.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { API_VERSION, ConflictError, NotFoundError, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import type { Database, ResourcesTable } from './database-schema.js';
import type { RegisteredKind } from './kind-registry.js';

export type Row = Selectable<ResourcesTable>;
export type Owner = { kind: string; name: string; uid: string };
export type Tx = Transaction<Database>;
/** Reads run on the pool or inside a write's transaction. */
export type Executor = Kysely<Database> | Tx;

export interface ObjectKey {
  project: string;
  name: string;
}

export function toResource(row: Row, owners?: Owner[]): Resource {
  return {
    apiVersion: API_VERSION,
    kind: row.kind,
    metadata: {
      name: row.name,
      project: row.project,
      uid: row.uid,
      labels: row.labels as Record<string, string>,
      generation: Number(row.generation),
      resourceVersion: String(row.resource_version),
      finalizers: row.finalizers,
      deletionRequestedAt: row.deletion_requested_at ? new Date(row.deletion_requested_at).toISOString() : null,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
      ...(owners && owners.length > 0 ? { ownerReferences: owners } : {}),
      ...(row.suspended ? { suspended: true } : {}),
    },
    spec: row.spec as Record<string, unknown>,
    status: row.status as ResourceStatus,
  };
}

async function ownersOf(executor: Executor, uids: string[]): Promise<Map<string, Array<{ kind: string; name: string; uid: string }>>> {
  const owners = new Map<string, Array<{ kind: string; name: string; uid: string }>>();
  if (uids.length === 0) return owners;
  const rows = await executor
    .selectFrom('owner_references as o')
    .innerJoin('resources as r', 'r.uid', 'o.owner_uid')
    .select(['o.owned_uid', 'r.kind', 'r.name', 'r.uid'])
    .where('o.owned_uid', 'in', uids)
    .orderBy('o.position')
    .execute();
  for (const row of rows) {
    const list = owners.get(row.owned_uid) ?? [];
    list.push({ kind: row.kind, name: row.name, uid: row.uid });
    owners.set(row.owned_uid, list);
  }
  return owners;
}

export async function toResources(executor: Executor, rows: Row[]): Promise<Resource[]> {
  const owners = await ownersOf(executor, rows.map((r) => r.uid));
  return rows.map((row) => toResource(row, owners.get(row.uid)));
}

export async function toResourceOne(executor: Executor, row: Row): Promise<Resource> {
  return (await toResources(executor, [row]))[0]!;
}

export function checkVersion(row: Row, expected: string | undefined): void {
  if (expected !== undefined && expected !== String(row.resource_version)) {
    throw new ConflictError(`${row.kind} "${row.name}" was changed: resourceVersion ${expected} is stale (now ${String(row.resource_version)}); re-read and retry`, {
      details: [{ path: 'metadata.resourceVersion', rule: 'stale' }],
    });
  }
}

export function notFound(kind: RegisteredKind, key: ObjectKey): NotFoundError {
  return new NotFoundError(`${kind.definition.kind} "${key.name}" not found${key.project ? ` in project ${key.project}` : ''}`, {
    details: [{ path: 'metadata.name', rule: 'not-found' }],
  });
}

/** Bumps the resourceVersion (and sets what `changes` says) of a locked row; the caller records the change. */
export async function touch(tx: Tx, current: Row, changes: { suspended?: boolean; finalizers?: string[] } = {}): Promise<Row> {
  return tx
    .updateTable('resources')
    .set({ ...changes, resource_version: sql`nextval('resource_version_seq')`, updated_at: new Date() })
    .where('uid', '=', current.uid)
    .returningAll()
    .executeTakeFirstOrThrow();
}
