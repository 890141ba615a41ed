import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationResultSet } from 'kysely/migration';
import { initial } from './0001_initial.js';

/** Every migration, in order. Names are forward-only and never renamed. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
};

/**
 * Brings the database the Kysely instance points at (its `search_path` decides the schema) to the
 * latest migration. Works for pg and PGlite alike: the provider is this list, not a directory scan.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
  return migrator.migrateToLatest();
}
