import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Definitions are rules, not things: `WorkloadDefinition` and `ClusterDefinition` now declare
 * `finalizer: false`, so the API gives new ones no finalizer and their delete takes effect once no
 * instance references them. Stored definitions lose the finalizer they were given, which nothing
 * would ever remove. A definition whose delete was already requested keeps it (its row would need
 * the API's delete path to go): `tug delete <kind> <name> --force` finishes it, as before.
 */
export const definitionFinalizers: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      update resources set finalizers = array_remove(array_remove(finalizers, 'workload-controller'), 'infra-controller')
      where kind in ('WorkloadDefinition', 'ClusterDefinition') and deletion_requested_at is null
        and (finalizers && array['workload-controller', 'infra-controller']::text[])
    `.execute(db);
  },
};
