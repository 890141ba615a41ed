import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The audit trail (issue 10): one row per mutation and per secret-field read, written in the
 * change's own transaction (so a change that rolls back leaves no record, and one that commits
 * always has one), plus refused and failed attempts written on their own. Read newest first by
 * `id`, filtered by project, actor, kind and time; pruned by age (`TUGBOAT_AUDIT_MAX_AGE_DAYS`),
 * independently of revisions. No foreign keys: a record outlives the object, kind and token it names.
 */
export const audit: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // `if not exists`: re-running it changes nothing.
    await sql`
      create table if not exists audit_records (
        id bigserial primary key,
        at timestamptz not null default clock_timestamp(),
        actor text not null,
        actor_type text not null,
        token text,
        action text not null,
        kind text,
        project text,
        name text,
        outcome text not null check (outcome in ('success', 'denied', 'failed')),
        status integer not null,
        request_id text,
        source text,
        detail jsonb
      )
    `.execute(db);
    // Each filter walks its own index newest first; retention walks `at`.
    await sql`create index if not exists audit_records_at on audit_records (at)`.execute(db);
    await sql`create index if not exists audit_records_project on audit_records (project, id)`.execute(db);
    await sql`create index if not exists audit_records_actor on audit_records (actor, id)`.execute(db);
    await sql`create index if not exists audit_records_kind on audit_records (kind, id)`.execute(db);
  },
};
