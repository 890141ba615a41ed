import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationResultSet } from 'kysely/migration';
import { initial } from './0001_initial.js';
import { operatorControls } from './0002_operator_controls.js';
import { kindVersions } from './0003_kind_versions.js';
import { tokenNames } from './0004_token_names.js';
import { clusterController } from './0005_cluster_controller.js';
import { workloadShape } from './0006_workload_shape.js';
import { definitionFinalizers } from './0007_definition_finalizers.js';
import { tokenLifecycle } from './0008_token_lifecycle.js';
import { projects } from './0009_projects.js';
import { audit } from './0010_audit.js';
import { withCurrentSchemaIntrospection } from './current-schema-introspection.js';

/** Every migration, in order. Names are forward-only and never renamed. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_operator_controls': operatorControls,
  '0003_kind_versions': kindVersions,
  '0004_token_names': tokenNames,
  '0005_cluster_controller': clusterController,
  '0006_workload_shape': workloadShape,
  '0007_definition_finalizers': definitionFinalizers,
  '0008_token_lifecycle': tokenLifecycle,
  '0009_projects': projects,
  '0010_audit': audit,
};

/**
 * Brings the database the Kysely instance points at (its `search_path` decides the schema) to the
 * latest migration. Works for pg and PGlite alike: the provider is this list, not a directory scan.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<MigrationResultSet> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one; name ours, or a
  // neighbour schema (another test, another installation) would make it skip creating them.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const migrator = new Migrator({
    // Kysely's own introspection scans every schema by name and fails when a neighbour drops one.
    db: withCurrentSchemaIntrospection(db),
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableSchema: rows[0]?.schema ?? 'public',
  });
  return migrator.migrateToLatest();
}
