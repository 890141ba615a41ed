import { sql, type DatabaseIntrospector, type Kysely, type SchemaMetadata, type TableMetadata } from 'kysely';

/**
 * Kysely's Migrator asks `db.introspection` whether its bookkeeping tables exist. The Postgres
 * introspector answers by scanning every schema's columns and calling `has_schema_privilege` and
 * `pg_get_serial_sequence` with each schema's *name*: when another connection drops a schema
 * between the catalog scan and those calls (a test tearing down, another installation), the
 * migration fails with `schema "…" does not exist`. This introspector looks only at the current
 * schema and resolves nothing by name, so a neighbour's drop cannot fail our migration.
 */
export function currentSchemaIntrospection(db: Kysely<unknown>): DatabaseIntrospector {
  async function getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname = current_schema()`.execute(db);
    return rows.map((row) => ({ name: row.name }));
  }
  async function getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; kind: string }>`
      select c.relname as name, n.nspname as schema, c.relkind as kind
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'v', 'p', 'f')`.execute(db);
    // The Migrator reads only names and schemas; columns are not needed to tell that a table exists.
    return rows.map((row) => ({ name: row.name, schema: row.schema, isView: row.kind === 'v', isForeign: row.kind === 'f', columns: [] }));
  }
  return { getSchemas, getTables };
}

/**
 * `db` as the Migrator sees it: the same instance (methods bound to it, so its private state
 * works) with `introspection` answered by `currentSchemaIntrospection`.
 */
export function withCurrentSchemaIntrospection<DB>(db: Kysely<DB>): Kysely<DB> {
  const introspection = currentSchemaIntrospection(db as Kysely<unknown>);
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
