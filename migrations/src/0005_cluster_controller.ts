import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Issue 9: `ClusterInstance` moves from the infra-controller to the cluster-controller, and its
 * kubeconfig from `spec.existing.kubeconfig` to the top-level secret field `spec.kubeconfig`.
 *
 * - Stored ClusterInstances: `existing.kubeconfig` becomes `kubeconfig` in the spec (it holds
 *   "<redacted>") and in the sealed secrets. A migration holds no key, so the sealed value is not
 *   re-sealed: it records `sealedAt: 'existing.kubeconfig'`, the path it was sealed under, which the
 *   API honours for this one move only (see `secret-box.ts`). The finalizer `infra-controller`
 *   becomes `cluster-controller`, the new owner (the only writer of the status).
 * - Stored ClusterDefinitions gain the now required `provider`: `kubeconfig` when one of their
 *   clusters was adopted by kubeconfig, `eks` otherwise (every definition had the EKS lists before).
 *
 * Revisions are history and keep the shape they were written in.
 */
export const clusterController: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      update resources d set spec = jsonb_set(d.spec, '{provider}', to_jsonb(
        case when exists (
          select 1 from "references" r join resources c on c.uid = r.from_uid
          where r.to_uid = d.uid and r.path = 'definitionRef' and c.kind = 'ClusterInstance' and c.spec ? 'existing'
        ) then 'kubeconfig' else 'eks' end))
      where d.kind = 'ClusterDefinition' and not d.spec ? 'provider'
    `.execute(db);
    await sql`
      update resources set
        spec = case when spec->'existing' ? 'kubeconfig'
          then (spec - 'existing') || jsonb_build_object('kubeconfig', spec->'existing'->'kubeconfig')
          else spec - 'existing' end,
        secrets = case when secrets ? 'existing.kubeconfig'
          then (secrets - 'existing.kubeconfig') || jsonb_build_object('kubeconfig', secrets->'existing.kubeconfig' || '{"sealedAt": "existing.kubeconfig"}'::jsonb)
          else secrets end
      where kind = 'ClusterInstance' and (spec ? 'existing' or secrets ? 'existing.kubeconfig')
    `.execute(db);
    await sql`
      update resources set finalizers = array_replace(finalizers, 'infra-controller', 'cluster-controller')
      where kind = 'ClusterInstance' and 'infra-controller' = any(finalizers)
    `.execute(db);
  },
};
