/**
 * `pnpm migrate`: brings `DATABASE_URL` (schema `DATABASE_SCHEMA`, default `public`) to the
 * latest migration. The API also migrates at start unless `TUGBOAT_MIGRATE=false`.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrate-to-latest.js';

const url = process.env['DATABASE_URL'];
const schema = process.env['DATABASE_SCHEMA'] || 'public';
if (!url) {
  console.error(JSON.stringify({ level: 'error', msg: 'DATABASE_URL is required (the API migrates its embedded database itself)' }));
  process.exit(2);
}

const quoted = `"${schema.replace(/"/g, '""')}"`;
const setup = new pg.Client({ connectionString: url });
await setup.connect();
await setup.query(`create schema if not exists ${quoted}`);
await setup.end();

const db = new Kysely<unknown>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${quoted}` }) }),
});
try {
  const { error, results } = await migrateToLatest(db);
  for (const result of results ?? []) {
    console.log(JSON.stringify({ level: result.status === 'Error' ? 'error' : 'info', msg: 'migration', name: result.migrationName, status: result.status, schema }));
  }
  if (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'migration failed', err: String(error) }));
    process.exitCode = 1;
  } else {
    console.log(JSON.stringify({ level: 'info', msg: 'database is at the latest migration', schema }));
  }
} finally {
  await db.destroy();
}
