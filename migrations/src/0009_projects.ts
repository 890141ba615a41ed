import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Projects become objects of their own (issue 10), and the database keeps the project boundary:
 *
 * - A `Project` object (platform-scoped, named after the project) is created for every project name
 *   already in use, with a revision by `migration`. Every user token that existed before gets the
 *   `editor` role in each of them: before this migration any token could write every project, so
 *   this keeps what they could do to the projects that existed, and grants nothing new.
 * - Every project-scoped object references its `Project` through a foreign key, so the database
 *   refuses an object in a project that does not exist and a project delete while objects remain
 *   in it (the `Project` row is referenced). Two generated columns make the key: they are null for
 *   platform-wide objects (`project = ''`), which the key then does not check.
 * - Tokens gain a type for service accounts, the user a user token speaks for (`subject`), and the
 *   one grant a token may carry (`project` + `role`, or a platform role alone).
 *
 * Re-runnable: each step checks what is already there.
 */
export const projects: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      alter table tokens
        add column if not exists subject text,
        add column if not exists project text,
        add column if not exists role text
    `.execute(db);
    await sql`alter table tokens drop constraint if exists tokens_type_check`.execute(db);
    await sql`alter table tokens add constraint tokens_type_check check (type in ('user', 'serviceaccount', 'controller'))`.execute(db);

    await sql`
      with used as (
        select distinct project from resources where project <> ''
        except select name from resources where kind = 'Project' and project = ''
      ), members as (
        select coalesce(jsonb_agg(jsonb_build_object('user', name, 'role', 'editor') order by name), '[]'::jsonb) as list
        from tokens where type = 'user' and revoked_at is null
      ), created as (
        insert into resources (uid, kind, project, name, labels, spec, secrets, status, generation, resource_version, finalizers, created_at, updated_at)
        select gen_random_uuid(), 'Project', '', used.project, '{}'::jsonb,
               case when jsonb_array_length(members.list) > 0 then jsonb_build_object('members', members.list) else '{}'::jsonb end,
               '{}'::jsonb, '{}'::jsonb, 1, nextval('resource_version_seq'), '{}', now(), now()
        from used cross join members
        returning *
      )
      insert into revisions (resource_uid, kind, project, name, resource_version, generation, cause, actor, at, labels, spec, note)
      select uid, kind, project, name, resource_version, generation, 'spec', 'migration', now(), labels, spec, 'created by migration 0009 for a project already in use'
      from created
    `.execute(db);

    await sql`
      alter table resources
        add column if not exists project_kind text generated always as (case when project = '' then null else 'Project' end) stored,
        add column if not exists project_scope text generated always as (case when project = '' then null else '' end) stored
    `.execute(db);
    // The key's own index: without it, every delete of any resource row would scan the table for
    // objects still pointing at it (the check a foreign key makes on the referenced side).
    await sql`create index if not exists resources_project_key on resources (project_kind, project_scope, project)`.execute(db);
    await sql`alter table resources drop constraint if exists resources_project_fkey`.execute(db);
    await sql`
      alter table resources add constraint resources_project_fkey
        foreign key (project_kind, project_scope, project) references resources (kind, project, name)
    `.execute(db);
  },
};
