/**
 * Which SecretInstances a change of a WorkloadInstance wakes: those it receives now, and those
 * whose status lists it among the apps of a cluster (a reference it dropped, a cluster it left, an
 * app that is gone), so a store no longer needed there is removed.
 */
import type { MapContext } from '@tugboat/controller-sdk';
import type { ChangeEvent, ResourceKey } from '@tugboat/resource-model';
import type { StoreEntry } from './secret-stores.js';

export async function secretsOfWorkload(event: ChangeEvent, ctx: MapContext): Promise<ResourceKey[]> {
  const names = new Set<string>();
  const workload = await ctx.api.get<{ secrets?: Array<{ ref: { name: string } }> }>({ kind: 'WorkloadInstance', project: event.project, name: event.name }, { signal: ctx.signal });
  for (const entry of workload?.spec.secrets ?? []) names.add(entry.ref.name);
  for await (const secret of ctx.api.listAll('SecretInstance', { project: event.project, signal: ctx.signal })) {
    const stores = Array.isArray(secret.status['stores']) ? (secret.status['stores'] as StoreEntry[]) : [];
    if (stores.some((entry) => entry.workloads.includes(event.name))) names.add(secret.metadata.name);
  }
  return [...names].sort().map((name) => ({ kind: 'SecretInstance', project: event.project, name }));
}
