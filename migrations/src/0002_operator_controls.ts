import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Operator controls and retention (issue 3): an object can be suspended (no reconciles until
 * resumed); a revision may carry a note saying what an operator did (suspend, resume, reconcile,
 * finalizer force-removed); events are pruned by age, so they get an index on `last_seen`.
 */
export const operatorControls: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('resources').addColumn('suspended', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
    await db.schema.alterTable('revisions').addColumn('note', 'text').execute();
    await sql`create index events_last_seen_idx on events (last_seen)`.execute(db);
  },
};
