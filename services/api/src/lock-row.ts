/** Row locks of a write transaction (`for update`, and `for share` on link targets): the one place that spells the lookup of a locked object. */
import type { RegisteredKind } from './kind-registry.js';
import { notFound, type ObjectKey, type Row, type Tx } from './resource-row.js';
import { memoInTx } from './tx-memo.js';

export async function lockRow(tx: Tx, kind: RegisteredKind, key: ObjectKey): Promise<Row> {
  const row = await lockRowIfExists(tx, kind, key);
  if (!row) throw notFound(kind, key);
  return row;
}

/** The object's row, locked for the rest of the transaction; `undefined` when there is none. */
export async function lockRowIfExists(tx: Tx, kind: RegisteredKind, key: ObjectKey): Promise<Row | undefined> {
  return tx
    .selectFrom('resources')
    .selectAll()
    .where('kind', '=', kind.definition.kind)
    .where('project', '=', key.project)
    .where('name', '=', key.name)
    .forUpdate()
    .executeTakeFirst();
}

export async function lockByUid(tx: Tx, uid: string): Promise<Row | undefined> {
  return tx.selectFrom('resources').selectAll().where('uid', '=', uid).forUpdate().executeTakeFirst();
}

/**
 * The row a new reference or owner link points at, locked `for share` so it cannot be deleted
 * before this transaction commits; `undefined` when there is none.
 */
export async function shareLinkTarget(tx: Tx, kind: RegisteredKind, key: ObjectKey): Promise<Pick<Row, 'uid' | 'deletion_requested_at'> | undefined> {
  // Within an apply, once per target: the lock holds until the transaction ends (tx-memo.ts).
  return memoInTx(tx, kind.definition.kind, `share\u0000${key.project}\u0000${key.name}`, () =>
    tx
      .selectFrom('resources')
      .select(['uid', 'deletion_requested_at'])
      .where('kind', '=', kind.definition.kind)
      .where('project', '=', key.project)
      .where('name', '=', key.name)
      .forShare()
      .executeTakeFirst(),
  );
}
