import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Tokens get a lifecycle (issue 10): an optional expiry, the time of last use (written at most once
 * a minute per token) and a revocation time. A revoked token keeps its row: revisions and events
 * name their actor by token name, so the row says who that was, when the token stopped working and
 * why a request with it answers 401; and its name stays taken, so no later token inherits a name
 * the audit trail already uses. Existing tokens never expire and were never used, as before.
 */
export const tokenLifecycle: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // `if not exists`: re-running it (as a test that replays 0006 onwards does) changes nothing.
    await sql`
      alter table tokens
        add column if not exists expires_at timestamptz,
        add column if not exists last_used_at timestamptz,
        add column if not exists revoked_at timestamptz
    `.execute(db);
  },
};
