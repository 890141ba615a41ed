import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The first schema: resources and their envelope, reference and ownership links with real foreign
 * keys, revisions, per-object events, the outbox, registered kinds and hashed tokens.
 * Forward-only: there is no `down`.
 */
export const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // One global, monotonic version for every write of every object (a string in JSON).
    await sql`create sequence resource_version_seq as bigint`.execute(db);

    await db.schema
      .createTable('kinds')
      .addColumn('kind', 'text', (c) => c.primaryKey())
      .addColumn('plural', 'text', (c) => c.notNull().unique())
      .addColumn('definition', 'jsonb', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();

    await db.schema
      .createTable('resources')
      .addColumn('uid', 'uuid', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      // '' for platform-wide kinds, so (kind, project, name) stays a plain unique key.
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('labels', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
      // The spec as every reader sees it: secret fields hold "<redacted>".
      .addColumn('spec', 'jsonb', (c) => c.notNull())
      // Secret field values by dotted path: { keyId, iv, tag, data } (AES-256-GCM).
      .addColumn('secrets', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
      .addColumn('status', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
      .addColumn('generation', 'bigint', (c) => c.notNull())
      .addColumn('resource_version', 'bigint', (c) => c.notNull())
      .addColumn('finalizers', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
      .addColumn('deletion_requested_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('resources_kind_project_name_key', ['kind', 'project', 'name'])
      .execute();
    await sql`create index resources_labels_idx on resources using gin (labels jsonb_path_ops)`.execute(db);

    // Usage links: the database refuses a dangling reference and a delete of a used object.
    await db.schema
      .createTable('references')
      .addColumn('from_uid', 'uuid', (c) => c.notNull().references('resources.uid').onDelete('cascade'))
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('to_uid', 'uuid', (c) => c.notNull().references('resources.uid').onDelete('restrict'))
      .addPrimaryKeyConstraint('references_pkey', ['from_uid', 'path'])
      .execute();
    await db.schema.createIndex('references_to_uid_idx').on('references').column('to_uid').execute();

    // Ownership links: do not block the owner's delete; the link goes with either end.
    await db.schema
      .createTable('owner_references')
      .addColumn('owned_uid', 'uuid', (c) => c.notNull().references('resources.uid').onDelete('cascade'))
      .addColumn('owner_uid', 'uuid', (c) => c.notNull().references('resources.uid').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('owner_references_pkey', ['owned_uid', 'owner_uid'])
      .execute();
    await db.schema.createIndex('owner_references_owner_uid_idx').on('owner_references').column('owner_uid').execute();

    // History outlives the object, so no foreign key.
    await db.schema
      .createTable('revisions')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('resource_uid', 'uuid', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('resource_version', 'bigint', (c) => c.notNull())
      .addColumn('generation', 'bigint', (c) => c.notNull())
      .addColumn('cause', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('at', 'timestamptz', (c) => c.notNull())
      .addColumn('labels', 'jsonb', (c) => c.notNull())
      // Redacted: secret fields hold "<redacted>".
      .addColumn('spec', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('revisions_resource_uid_idx').on('revisions').columns(['resource_uid', 'id']).execute();

    await db.schema
      .createTable('events')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('resource_uid', 'uuid', (c) => c.notNull().references('resources.uid').onDelete('cascade'))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('first_seen', 'timestamptz', (c) => c.notNull())
      .addColumn('last_seen', 'timestamptz', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addUniqueConstraint('events_dedupe_key', ['resource_uid', 'type', 'reason', 'message'])
      .execute();

    // Rows wait here until the relay has them acknowledged by JetStream, then are deleted.
    await db.schema
      .createTable('outbox')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('object_uid', 'uuid', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('msg_id', 'text', (c) => c.notNull())
      .addColumn('payload', 'jsonb', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();

    await db.schema
      .createTable('tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('user', 'controller')`))
      .addColumn('controller', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
  },
};
