import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { derivedNamespace0006 } from './0006_workload_shape.js';
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
      expect.arrayContaining(['audit_records', 'events', 'kinds', 'outbox', 'owner_references', 'references', 'resources', 'revisions', 'tokens']),
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
  it('0006 rewrites workloads of the old shape into the new one, losing nothing they were accepted with', async () => {
    const workloads = `${schema}_w`;
    const other = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${workloads}` }) }),
    });
    try {
      await sql`create schema ${sql.id(workloads)}`.execute(other);
      const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0006'));
      const migrator = new Migrator({ db: other, provider: { getMigrations: async () => before }, migrationTableSchema: workloads });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const uid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      const insert = (id: number, kind: string, project: string, name: string, spec: object) =>
        sql`insert into resources (uid, kind, project, name, spec, generation, resource_version, created_at, updated_at)
            values (${uid(id)}, ${kind}, ${project}, ${name}, ${JSON.stringify(spec)}::jsonb, 3, nextval('resource_version_seq'), now(), now())`.execute(other);
      const refer = (from: number, path: string, to: number) => sql`insert into "references" (from_uid, path, to_uid) values (${uid(from)}, ${path}, ${uid(to)})`.execute(other);
      await insert(1, 'ClusterInstance', '', 'local', { definitionRef: { name: 'local' } });
      await insert(2, 'WorkloadDefinition', '', 'web', { description: 'web apps', maxReplicas: 10, allowedImageRegistries: ['docker.io'], defaults: { replicas: 2, port: 80, env: { LOG: 'info' } } });
      await insert(3, 'WorkloadDefinition', '', 'bare', {});
      const longName = 'a-very-long-instance-name-that-will-not-fit-into-a-namespace';
      await insert(10, 'WorkloadInstance', 'team-a', 'shop', { definitionRef: { name: 'web' }, clusterRef: { name: 'local' }, image: 'nginx:1.27', replicas: 3, port: 8080, env: { MODE: 'shop' }, command: ['nginx', '-g', 'daemon off;'] });
      await insert(11, 'WorkloadInstance', 'team-a', 'blog', { definitionRef: { name: 'web' }, clusterRef: { name: 'local' }, image: 'ghost:5', port: 80 });
      await insert(12, 'WorkloadInstance', 'team-with-a-long-name', longName, { definitionRef: { name: 'bare' }, clusterRef: { name: 'local' }, image: 'nginx' });
      for (const id of [10, 11, 12]) await refer(id, 'clusterRef', 1);
      await refer(10, 'definitionRef', 2);
      await refer(11, 'definitionRef', 2);
      await refer(12, 'definitionRef', 3);

      expect((await migrateToLatest(other)).error).toBeUndefined();
      const rows = await sql<{ name: string; spec: unknown; generation: string }>`
        select name, spec, generation::text from resources where kind like 'Workload%' order by kind, name`.execute(other);
      expect(rows.rows).toEqual([
        { name: 'bare', generation: '3', spec: { container: {}, overridable: ['image', 'replicas', 'env', 'command'] } },
        {
          name: 'web',
          generation: '3',
          spec: {
            description: 'web apps',
            maxReplicas: 10,
            allowedImageRegistries: ['docker.io'],
            // The definition's port and every port its instances named: each instance still exposes its own.
            container: { replicas: 2, ports: [{ port: 80 }, { port: 8080 }], env: { LOG: 'info' } },
            overridable: ['image', 'replicas', 'env', 'command'],
          },
        },
        { name: longName, generation: '3', spec: { definitionRef: { name: 'bare' }, clusterRef: { name: 'local' }, namespace: derivedNamespace0006('team-with-a-long-name', longName), overrides: { image: 'nginx' } } },
        { name: 'blog', generation: '3', spec: { definitionRef: { name: 'web' }, clusterRef: { name: 'local' }, namespace: 'team-a-blog', overrides: { image: 'ghost:5' } } },
        {
          name: 'shop',
          generation: '3',
          spec: {
            definitionRef: { name: 'web' },
            clusterRef: { name: 'local' },
            namespace: 'team-a-shop',
            overrides: { image: 'nginx:1.27', replicas: 3, env: { MODE: 'shop' }, command: ['nginx', '-g', 'daemon off;'] },
          },
        },
      ]);
      const hashed = derivedNamespace0006('team-with-a-long-name', longName);
      expect(hashed).toMatch(/^team-with-a-long-name-a-very-long-instance-name-that-w-[0-9a-f]{8}$/);
      expect(hashed.length).toBeLessThanOrEqual(63);
      // Every port found a place, so no port was reported dropped.
      expect((await sql`select * from events`.execute(other)).rows).toEqual([]);

      // Past the schema's 20 ports, an instance's port is dropped with a Warning event naming it.
      await sql`delete from kysely_migration where name >= '0006'`.execute(other);
      // As before 0009: objects of a project without its Project row (0009 adds that key again).
      await sql`alter table resources drop constraint resources_project_fkey`.execute(other);
      await insert(4, 'WorkloadDefinition', '', 'wide', { defaults: { port: 1 } });
      for (let port = 2; port <= 22; port++) {
        await insert(100 + port, 'WorkloadInstance', 'team-b', `p${port}`, { definitionRef: { name: 'wide' }, clusterRef: { name: 'local' }, image: 'nginx', port });
        await refer(100 + port, 'definitionRef', 4);
      }
      expect((await migrateToLatest(other)).error).toBeUndefined();
      const wide = await sql<{ spec: { container: { ports: Array<{ port: number }> } } }>`select spec from resources where name = 'wide'`.execute(other);
      expect(wide.rows[0]!.spec.container.ports.map((p) => p.port)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const dropped = await sql<{ name: string; type: string; reason: string; message: string }>`
        select r.name, e.type, e.reason, e.message from events e join resources r on r.uid = e.resource_uid order by r.name`.execute(other);
      expect(dropped.rows.map((row) => [row.name, row.type, row.reason])).toEqual([
        ['p21', 'Warning', 'PortDropped'],
        ['p22', 'Warning', 'PortDropped'],
      ]);
      expect(dropped.rows[0]!.message).toMatch(/^migration 0006: spec.port 21 was dropped: ports belong to the WorkloadDefinition now, and it has 1, 2, .*, 20$/);
    } finally {
      await sql`drop schema if exists ${sql.id(workloads)} cascade`.execute(other);
      await other.destroy();
    }
  });

  it('0008 gives tokens an expiry, a last use and a revocation, all empty for the tokens already there', async () => {
    const lifecycle = `${schema}_l`;
    const other = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${lifecycle}` }) }),
    });
    try {
      await sql`create schema ${sql.id(lifecycle)}`.execute(other);
      const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0008'));
      const migrator = new Migrator({ db: other, provider: { getMigrations: async () => before }, migrationTableSchema: lifecycle });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      await sql`insert into tokens (token_hash, name, type, controller) values ('aaaa', 'old-bot', 'controller', 'old-controller')`.execute(other);
      expect((await migrateToLatest(other)).error).toBeUndefined();
      const rows = await sql`select name, expires_at, last_used_at, revoked_at from tokens`.execute(other);
      expect(rows.rows).toEqual([{ name: 'old-bot', expires_at: null, last_used_at: null, revoked_at: null }]);
      // A revoked token keeps its row, so its name stays taken.
      await sql`update tokens set revoked_at = now() where name = 'old-bot'`.execute(other);
      await expect(sql`insert into tokens (token_hash, name, type) values ('bbbb', 'old-bot', 'user')`.execute(other)).rejects.toThrow(/tokens_name_key/);
    } finally {
      await sql`drop schema if exists ${sql.id(lifecycle)} cascade`.execute(other);
      await other.destroy();
    }
  });

  it('0009 makes a Project for each project in use, keeps old user tokens editors there, and lets the database hold the boundary', async () => {
    const projects = `${schema}_p`;
    const other = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${projects}` }) }),
    });
    try {
      await sql`create schema ${sql.id(projects)}`.execute(other);
      const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0009'));
      const migrator = new Migrator({ db: other, provider: { getMigrations: async () => before }, migrationTableSchema: projects });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const insert = (id: number, kind: string, project: string, name: string) =>
        sql`insert into resources (uid, kind, project, name, spec, generation, resource_version, created_at, updated_at)
            values (${`00000000-0000-4000-8000-${String(id).padStart(12, '0')}`}, ${kind}, ${project}, ${name}, '{}'::jsonb, 1, nextval('resource_version_seq'), now(), now())`.execute(other);
      await insert(1, 'WorkloadDefinition', '', 'web');
      await insert(2, 'WorkloadInstance', 'shop', 'a');
      await insert(3, 'WorkloadInstance', 'shop', 'b');
      await insert(4, 'WorkloadInstance', 'blog', 'a');
      await sql`insert into tokens (token_hash, name, type) values ('aaaa', 'dev', 'user'), ('bbbb', 'gone', 'user')`.execute(other);
      await sql`update tokens set revoked_at = now() where name = 'gone'`.execute(other);
      await sql`insert into tokens (token_hash, name, type, controller) values ('cccc', 'bot', 'controller', 'x-controller')`.execute(other);
      expect((await migrateToLatest(other)).error).toBeUndefined();
      // Running it again changes nothing.
      // (0010 after it is re-runnable too; Kysely re-runs only a tail of the list.)
      await sql`delete from kysely_migration where name >= '0009'`.execute(other);
      expect((await migrateToLatest(other)).error).toBeUndefined();

      const made = await sql<{ name: string; spec: unknown; actor: string }>`
        select r.name, r.spec, v.actor from resources r join revisions v on v.resource_uid = r.uid where r.kind = 'Project' order by r.name`.execute(other);
      expect(made.rows).toEqual([
        { name: 'blog', spec: { members: [{ user: 'dev', role: 'editor' }] }, actor: 'migration' },
        { name: 'shop', spec: { members: [{ user: 'dev', role: 'editor' }] }, actor: 'migration' },
      ]);
      const tokenColumns = await sql<{ name: string; subject: null; project: null; role: null }>`select name, subject, project, role from tokens order by name`.execute(other);
      expect(tokenColumns.rows.map((row) => [row.name, row.subject, row.project, row.role])).toEqual([['bot', null, null, null], ['dev', null, null, null], ['gone', null, null, null]]);
      await sql`insert into tokens (token_hash, name, type, project, role) values ('dddd', 'ci', 'serviceaccount', 'shop', 'editor')`.execute(other);

      // An object in a project that does not exist, and the delete of a project still holding objects: refused by the database.
      await expect(insert(5, 'WorkloadInstance', 'nowhere', 'a')).rejects.toThrow(/resources_project_fkey/);
      await expect(sql`delete from resources where kind = 'Project' and name = 'shop'`.execute(other)).rejects.toThrow(/resources_project_fkey/);
      await sql`delete from resources where kind = 'WorkloadInstance' and project = 'blog'`.execute(other);
      await sql`delete from resources where kind = 'Project' and name = 'blog'`.execute(other);
    } finally {
      await sql`drop schema if exists ${sql.id(projects)} cascade`.execute(other);
      await other.destroy();
    }
  });

  it('0007 takes the finalizer off definitions, except from one whose delete is already under way', async () => {
    const definitions = `${schema}_d`;
    const other = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${definitions}` }) }),
    });
    try {
      await sql`create schema ${sql.id(definitions)}`.execute(other);
      const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0007'));
      const migrator = new Migrator({ db: other, provider: { getMigrations: async () => before }, migrationTableSchema: definitions });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const insert = (id: number, kind: string, name: string, finalizer: string, deleting: boolean) =>
        sql`insert into resources (uid, kind, project, name, spec, generation, resource_version, finalizers, deletion_requested_at, created_at, updated_at)
            values (${`00000000-0000-4000-8000-${String(id).padStart(12, '0')}`}, ${kind}, '', ${name}, '{}'::jsonb, 1, nextval('resource_version_seq'),
                    ${[finalizer]}::text[], ${deleting ? new Date() : null}, now(), now())`.execute(other);
      await insert(1, 'WorkloadDefinition', 'web', 'workload-controller', false);
      await insert(2, 'ClusterDefinition', 'small', 'infra-controller', false);
      await insert(3, 'WorkloadDefinition', 'going', 'workload-controller', true);
      await insert(4, 'ClusterInstance', 'local', 'cluster-controller', false);
      expect((await migrateToLatest(other)).error).toBeUndefined();
      const rows = await sql<{ name: string; finalizers: string[] }>`select name, finalizers from resources order by name`.execute(other);
      expect(rows.rows).toEqual([
        { name: 'going', finalizers: ['workload-controller'] },
        { name: 'local', finalizers: ['cluster-controller'] },
        { name: 'small', finalizers: [] },
        { name: 'web', finalizers: [] },
      ]);
    } finally {
      await sql`drop schema if exists ${sql.id(definitions)} cascade`.execute(other);
      await other.destroy();
    }
  });
});
