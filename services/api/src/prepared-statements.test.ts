/**
 * Prepared statements on a real Postgres server: the write path's two statements, the read of one
 * object and the status write go prepared through the API's pool (kysely) and the relay's session,
 * nothing else does, and a batch create padded to its room writes exactly its objects.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import { migrateToLatest } from '@tugboat/migrations';
import { TEST_DATABASE_URL, uniqueName } from './api-test-harness.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { prepared, preparedName, preparedQuery } from './prepared-statements.js';
import type { RegisteredKind } from './kind-registry.js';
import { findWithOwners } from './resource-reads.js';
import { WRITE_STATUS } from './resource-writes.js';
import { CREATE_BATCH_PARAMETERS, createBatchQuery, createBatchRoom, READ_OUTBOX_BATCH, RESOURCE_COLUMNS } from './write-path-statements.js';

describe('prepared statements', () => {
  let database: OpenDatabase;

  beforeAll(async () => {
    // One connection, so what one query prepared is what the next one lists.
    database = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema: uniqueName('prepared_test'), poolSize: 1 });
    const { error } = await migrateToLatest(database.db as unknown as Kysely<unknown>);
    if (error) throw error;
    await database.db.executeQuery(
      CompiledQuery.raw(
        `insert into resources (uid, kind, project, name, labels, spec, secrets, status, generation, resource_version, finalizers, created_at, updated_at)
         values ($1, 'Project', '', 'p', '{}', '{}', '{}', '{}', 1, nextval('resource_version_seq'), '{}', now(), now())`,
        [randomUUID()],
      ),
    );
  });

  afterAll(async () => {
    await database.db.executeQuery(CompiledQuery.raw(`drop schema "${database.schema}" cascade`, []));
    await database.close();
  });

  async function preparedOnServer(db: Kysely<unknown> = database.db as unknown as Kysely<unknown>): Promise<string[]> {
    const { rows } = await db.executeQuery<{ name: string }>(CompiledQuery.raw('select name from pg_prepared_statements order by name', []));
    return rows.map((row) => row.name);
  }

  it('sends a registered text under its name and anything else unnamed', async () => {
    const text = prepared('tugboat-test-registered', 'select $1::int + 1 as n');
    const { rows } = await database.db.executeQuery<{ n: number }>(CompiledQuery.raw(text, [41]));
    expect(rows).toEqual([{ n: 42 }]);
    await database.db.executeQuery(CompiledQuery.raw('select $1::int + 2 as n', [40]));
    const names = await preparedOnServer();
    expect(names).toContain('tugboat-test-registered');
    expect(names).toHaveLength(1);
    // Run again: the connection reuses what it prepared (pg would refuse a second prepare of the name).
    expect((await database.db.executeQuery<{ n: number }>(CompiledQuery.raw(text, [1]))).rows).toEqual([{ n: 2 }]);
  });

  it('refuses a name registered with another text, and names only registered texts for pg callers', () => {
    prepared('tugboat-test-once', 'select 1');
    expect(prepared('tugboat-test-once', 'select 1')).toBe('select 1');
    expect(() => prepared('tugboat-test-once', 'select 2')).toThrow(/registered with another text/);
    expect(preparedName('select 1')).toBe('tugboat-test-once');
    expect(preparedQuery('select 1', [])).toEqual({ name: 'tugboat-test-once', text: 'select 1', values: [] });
    expect(preparedQuery('select 3', [])).toEqual({ text: 'select 3', values: [] });
  });

  it("runs the relay's read prepared on the relay's own session", async () => {
    const session = await database.openRelaySession();
    try {
      const { rows } = await session.db.executeQuery(CompiledQuery.raw(READ_OUTBOX_BATCH, [[], [], 10]));
      expect(rows).toEqual([]);
      expect(await preparedOnServer(session.db as unknown as Kysely<unknown>)).toEqual(['tugboat-read-outbox-batch']);
    } finally {
      await session.close();
    }
  });

  function batchOf(count: number): { uids: string[]; query: { text: string; values: unknown[] } } {
    const now = new Date();
    const uids = Array.from({ length: count }, () => randomUUID());
    const parameters = uids.flatMap((uid, position) => [
      uid, 'Widget', 'p', `w-${uid}`, '{}', '{}', '{}', [], 'tester', `t.res.Widget.p.w-${uid}`, '{}', position,
      'tester', 'user', 'tester', randomUUID(), 'api',
    ]);
    expect(parameters).toHaveLength(count * CREATE_BATCH_PARAMETERS);
    return { uids, query: createBatchQuery(count, parameters, now, now.toISOString()) };
  }

  it('rounds a batch up to a power of two and writes exactly its objects: rows, revisions, outbox rows and audit records', async () => {
    expect([1, 2, 3, 4, 5, 9, 16, 17, 64].map(createBatchRoom)).toEqual([1, 2, 4, 4, 8, 16, 16, 32, 64]);
    expect(() => createBatchRoom(0)).toThrow(RangeError);
    expect(() => createBatchQuery(2, [], new Date(), '')).toThrow(/34 parameters, not 0/);
    for (const count of [1, 3, 5]) {
      const { uids, query } = batchOf(count);
      expect(query.values).toHaveLength(createBatchRoom(count) * CREATE_BATCH_PARAMETERS + 2);
      const { rows } = await database.db.executeQuery<{ uid: string }>(CompiledQuery.raw(query.text, query.values));
      expect(rows.map((row) => row.uid).sort()).toEqual([...uids].sort());
      for (const table of ['revisions', 'outbox', 'audit_records']) {
        const column = table === 'revisions' ? 'resource_uid' : table === 'outbox' ? 'object_uid' : 'name';
        const keys = table === 'audit_records' ? uids.map((uid) => `w-${uid}`) : uids;
        const counted = await database.db.executeQuery<{ n: string }>(CompiledQuery.raw(`select count(*) as n from ${table} where ${column}::text = any($1::text[])`, [keys]));
        expect([table, Number(counted.rows[0]!.n)]).toEqual([table, count]);
      }
    }
    expect(await preparedOnServer()).toEqual(expect.arrayContaining(['tugboat-create-batch-1', 'tugboat-create-batch-4', 'tugboat-create-batch-8']));
    // Nothing was written for the padding: every object in the table is one of the batches' or the project.
    const total = await database.db.executeQuery<{ n: string }>(CompiledQuery.raw(`select count(*) as n from resources`, []));
    expect(Number(total.rows[0]!.n)).toBe(1 + 3 + 5 + 1);
  });

  it("reads an object with its owners prepared, in the owners' order, and keeps reading after a migration adds a column", async () => {
    const owned = batchOf(1);
    const owners = batchOf(2);
    for (const batch of [owned, owners]) await database.db.executeQuery(CompiledQuery.raw(batch.query.text, batch.query.values));
    await database.db.executeQuery(
      CompiledQuery.raw(`insert into owner_references (owned_uid, owner_uid, position) values ($1, $2, 0), ($1, $3, 1)`, [owned.uids[0], owners.uids[1], owners.uids[0]]),
    );
    const kind = { definition: { kind: 'Widget' } } as RegisteredKind;
    const read = () => findWithOwners(database.db, kind, { project: 'p', name: `w-${owned.uids[0]}` });
    const found = await read();
    expect(found!.row.uid).toBe(owned.uids[0]);
    expect(Object.keys(found!.row).sort()).toEqual([...RESOURCE_COLUMNS].sort());
    expect(found!.owners).toEqual([owners.uids[1], owners.uids[0]].map((uid) => ({ kind: 'Widget', name: `w-${uid}`, uid })));
    expect(await preparedOnServer()).toContain('tugboat-find-with-owners');
    // A newer replica's migration, while this connection holds the statement prepared.
    await database.db.executeQuery(CompiledQuery.raw(`alter table resources add column later_read_column text`, []));
    try {
      expect((await read())!.row.uid).toBe(owned.uids[0]);
      expect(await findWithOwners(database.db, kind, { project: 'p', name: 'absent' })).toBeUndefined();
    } finally {
      await database.db.executeQuery(CompiledQuery.raw(`alter table resources drop column later_read_column`, []));
    }
  });

  it("answers with every column of resources (but the generated ones), named, and keeps working prepared after a migration adds one", async () => {
    const { rows: columns } = await database.db.executeQuery<{ column_name: string }>(
      CompiledQuery.raw(`select column_name from information_schema.columns where table_schema = $1 and table_name = 'resources' and is_generated = 'NEVER' order by column_name`, [database.schema]),
    );
    expect(columns.map((c) => c.column_name)).toEqual([...RESOURCE_COLUMNS].sort());
    const before = batchOf(2);
    await database.db.executeQuery(CompiledQuery.raw(before.query.text, before.query.values));
    // A newer replica's migration, while this connection holds the statement prepared.
    await database.db.executeQuery(CompiledQuery.raw(`alter table resources add column later_column text`, []));
    const after = batchOf(2);
    const { rows } = await database.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(after.query.text, after.query.values));
    expect(rows.map((row) => row['uid']).sort()).toEqual([...after.uids].sort());
    expect(Object.keys(rows[0]!).sort()).toEqual([...RESOURCE_COLUMNS].sort());
  });
  it('writes a status prepared: the row, its outbox row and audit record once, nothing for a stale version or an equal status, and keeps working after a migration adds a column', async () => {
    const { uids, query } = batchOf(1);
    await database.db.executeQuery(CompiledQuery.raw(query.text, query.values));
    const name = `w-${uids[0]}`;
    const requestId = randomUUID();
    const write = (status: unknown, expectedVersion: string | null) =>
      database.db.executeQuery<Record<string, unknown>>(
        CompiledQuery.raw(WRITE_STATUS, [
          'Widget', 'p', name, JSON.stringify(status), new Date(), expectedVersion, `t.status.Widget.p.${name}`, JSON.stringify({ kind: 'Widget', cause: 'status' }),
          'bot', 'controller', 'bot-token', 'writeStatus', 'Widget', 'p', name, 'success', 200, requestId, '127.0.0.1',
        ]),
      );
    const outboxRows = async () => (await database.db.executeQuery<{ subject: string; payload: Record<string, unknown> }>(CompiledQuery.raw(`select subject, payload from outbox where object_uid = $1 and subject like 't.status.%'`, [uids[0]]))).rows;
    const auditRows = async () => (await database.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(`select actor, actor_type, token, action, name, request_id, source from audit_records where request_id = $1`, [requestId]))).rows;

    const first = (await write({ phase: 'Ready' }, null)).rows;
    expect(first).toHaveLength(1);
    expect(Object.keys(first[0]!).sort()).toEqual([...RESOURCE_COLUMNS, 'owners', 'written'].sort());
    expect(first[0]).toMatchObject({ uid: uids[0], status: { phase: 'Ready' }, written: true, owners: null });
    const version = String(first[0]!['resource_version']);
    expect(await outboxRows()).toEqual([{ subject: `t.status.Widget.p.${name}`, payload: { kind: 'Widget', cause: 'status', uid: uids[0], generation: 1, resourceVersion: version } }]);
    expect(await auditRows()).toEqual([{ actor: 'bot', actor_type: 'controller', token: 'bot-token', action: 'writeStatus', name, request_id: requestId, source: '127.0.0.1' }]);
    expect(await preparedOnServer()).toContain('tugboat-write-status');

    // A stale version and an equal status write nothing: the answer is the current row.
    for (const [status, expected] of [[{ phase: 'Failed' }, 'not-a-version'], [{ phase: 'Failed' }, String(Number(version) - 1)], [{ phase: 'Ready' }, version], [{ phase: 'Ready' }, null]] as const) {
      const { rows } = await write(status, expected);
      expect(rows).toEqual([expect.objectContaining({ resource_version: version, status: { phase: 'Ready' }, written: false })]);
    }
    expect(await outboxRows()).toHaveLength(1);
    expect(await auditRows()).toHaveLength(1);

    // A newer replica's migration, while this connection holds the statement prepared.
    await database.db.executeQuery(CompiledQuery.raw(`alter table resources add column later_status_column text`, []));
    try {
      const { rows } = await write({ phase: 'Deleting' }, version);
      expect(rows).toEqual([expect.objectContaining({ status: { phase: 'Deleting' }, written: true })]);
      expect(Object.keys(rows[0]!)).not.toContain('later_status_column');
      // An absent object: no row (the store answers 404).
      expect((await database.db.executeQuery(CompiledQuery.raw(WRITE_STATUS, ['Widget', 'p', 'absent', '{}', new Date(), null, 's', '{}', 'a', 'user', null, 'writeStatus', 'Widget', 'p', 'absent', 'success', 200, null, null]))).rows).toEqual([]);
    } finally {
      await database.db.executeQuery(CompiledQuery.raw(`alter table resources drop column later_status_column`, []));
    }
  });
});
