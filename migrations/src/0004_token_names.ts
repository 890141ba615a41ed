import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Token names become unique (issue 8): `tug token create NAME` answers 409 for a name already
 * taken, so a name identifies one token in the audit trail (events' source, revisions' actor).
 * Before this, `tug up` could create a second token of a controller's name when its token file
 * was lost; every such older duplicate keeps working under its name plus the start of its hash.
 */
export const tokenNames: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      update tokens set name = left(tokens.name, 54) || '-' || left(tokens.token_hash, 8)
      from (
        select token_hash, row_number() over (partition by name order by created_at desc, token_hash) as rank
        from tokens
      ) ranked
      where ranked.token_hash = tokens.token_hash and ranked.rank > 1
    `.execute(db);
    await sql`create unique index tokens_name_key on tokens (name)`.execute(db);
  },
};
