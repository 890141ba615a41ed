import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Kinds can be updated and deleted (issue 8). Every registration and update takes the next value
 * of `kind_version_seq` as the kind's `version`, so `(count(*), max(version))` over the table
 * changes on every registration, update and delete: each API replica polls that pair to learn that
 * its cache of kinds is stale.
 */
export const kindVersions: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create sequence kind_version_seq as bigint`.execute(db);
    await db.schema.alterTable('kinds').addColumn('version', 'bigint', (c) => c.notNull().defaultTo(sql`nextval('kind_version_seq')`)).execute();
    await db.schema.alterTable('kinds').addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`)).execute();
  },
};
