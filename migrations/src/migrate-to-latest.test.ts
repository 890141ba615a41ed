import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { migrateToLatest, migrations } from './index.js';

const url = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const schema = `mig_test_${process.pid}_${Date.now()}`;

describe('migrateToLatest', () => {
  let db: Kysely<unknown>;
  beforeAll(async () => {
    db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${schema}` }) }),
    });
    await sql`create schema ${sql.id(schema)}`.execute(db);
  });
  afterAll(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
    await db.destroy();
  });

  it('applies every migration once, in order, into the search_path schema', async () => {
    const first = await migrateToLatest(db);
    expect(first.error).toBeUndefined();
    expect(first.results?.map((r) => [r.migrationName, r.status])).toEqual(Object.keys(migrations).map((name) => [name, 'Success']));

    const again = await migrateToLatest(db);
    expect(again.error).toBeUndefined();
    expect(again.results).toEqual([]);

    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = ${schema} order by table_name`.execute(db);
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['events', 'kinds', 'outbox', 'owner_references', 'references', 'resources', 'revisions', 'tokens']),
    );
  });

  it('migrates a schema next to one that is already migrated', async () => {
    const neighbour = `${schema}_n`;
    const other = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${neighbour}` }) }),
    });
    try {
      await sql`create schema ${sql.id(neighbour)}`.execute(other);
      await migrateToLatest(db);
      const { error, results } = await migrateToLatest(other);
      expect(error).toBeUndefined();
      expect(results?.map((r) => r.status)).toEqual(Object.keys(migrations).map(() => 'Success'));
    } finally {
      await sql`drop schema if exists ${sql.id(neighbour)} cascade`.execute(other);
      await other.destroy();
    }
  });

  it('is not failed by a neighbour dropping its schema meanwhile (Kysely scanned every schema by name)', async () => {
    const churn = new pg.Pool({ connectionString: url, max: 1 });
    let stop = false;
    let dropped = 0;
    // Schemas with a serial column, so the old scan called pg_get_serial_sequence on each by name.
    const churning = (async () => {
      while (!stop) {
        const name = `${schema}_churn_${dropped}`;
        await churn.query(`create schema ${name}; create table ${name}.t (id serial primary key)`);
        await churn.query(`drop schema ${name} cascade`);
        dropped++;
      }
    })();
    try {
      for (let round = 0; round < 15; round++) {
        const target = `${schema}_r${round}`;
        const roundDb = new Kysely<unknown>({
          dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${target}` }) }),
        });
        try {
          await sql`create schema ${sql.id(target)}`.execute(roundDb);
          const { error } = await migrateToLatest(roundDb);
          expect(error).toBeUndefined();
        } finally {
          await sql`drop schema if exists ${sql.id(target)} cascade`.execute(roundDb);
          await roundDb.destroy();
        }
      }
    } finally {
      stop = true;
      await churning;
      await churn.end();
    }
    expect(dropped).toBeGreaterThan(0);
  }, 60_000);

  it('lets the database refuse a dangling reference and a delete of a used object', async () => {
    const insert = (uid: string, name: string) =>
      sql`insert into resources (uid, kind, project, name, spec, generation, resource_version, created_at, updated_at)
          values (${uid}, 'K', '', ${name}, '{}', 1, nextval('resource_version_seq'), now(), now())`.execute(db);
    const a = '00000000-0000-4000-8000-00000000000a';
    const b = '00000000-0000-4000-8000-00000000000b';
    await insert(a, 'a');
    await insert(b, 'b');
    await expect(
      sql`insert into "references" (from_uid, path, to_uid) values (${a}, 'x', '00000000-0000-4000-8000-0000000000ff')`.execute(db),
    ).rejects.toThrow(/foreign key/);
    await sql`insert into "references" (from_uid, path, to_uid) values (${a}, 'x', ${b})`.execute(db);
    await expect(sql`delete from resources where uid = ${b}`.execute(db)).rejects.toThrow(/foreign key/);
    await sql`delete from resources where uid = ${a}`.execute(db);
    await sql`delete from resources where uid = ${b}`.execute(db);
  });

  it('makes token names unique, renaming older duplicates so every token keeps working', async () => {
    const tokens = `${schema}_t`;
    const other = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${tokens}` }) }),
    });
    try {
      await sql`create schema ${sql.id(tokens)}`.execute(other);
      // The schema as it was before 0004, with the duplicate a lost token file used to leave.
      const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0004'));
      const migrator = new Migrator({ db: other, provider: { getMigrations: async () => before }, migrationTableSchema: tokens });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      await sql`insert into tokens (token_hash, name, type, controller, created_at) values
        ('aaaaaaaa11', 'demo-controller', 'controller', 'demo-controller', now() - interval '1 hour'),
        ('bbbbbbbb22', 'demo-controller', 'controller', 'demo-controller', now()),
        ('cccccccc33', 'ci', 'user', null, now())`.execute(other);
      expect((await migrateToLatest(other)).error).toBeUndefined();
      const rows = await sql<{ token_hash: string; name: string }>`select token_hash, name from tokens order by token_hash`.execute(other);
      expect(rows.rows).toEqual([
        { token_hash: 'aaaaaaaa11', name: 'demo-controller-aaaaaaaa' },
        { token_hash: 'bbbbbbbb22', name: 'demo-controller' },
        { token_hash: 'cccccccc33', name: 'ci' },
      ]);
      await expect(sql`insert into tokens (token_hash, name, type) values ('dddd', 'ci', 'user')`.execute(other)).rejects.toThrow(/tokens_name_key/);
    } finally {
      await sql`drop schema if exists ${sql.id(tokens)} cascade`.execute(other);
      await other.destroy();
    }
  });
});
