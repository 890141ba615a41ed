import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Issue 9: the workload kinds take their delivered shape. Stored rows of the old shape are
 * rewritten so that nothing an old write was accepted with is lost:
 *
 * - WorkloadDefinition `{maxReplicas, allowedImageRegistries, defaults: {replicas, port, env}}` →
 *   `{maxReplicas, allowedImageRegistries, container: {replicas, ports, env}, overridable: [image,
 *   replicas, env, command]}`: the old instance fields become the overrides the definition allows.
 *   The old definition had no image (each instance brought its own), and the container has none.
 * - WorkloadInstance `{definitionRef, clusterRef, image, replicas, port, env, command}` →
 *   `{definitionRef, clusterRef, namespace, overrides: {image, replicas, env, command}}`, with the
 *   namespace the API derives for a new instance (`<project>-<name>`, hashed past 63 characters).
 * - Ports belong to the definition now: its `container.ports` are `defaults.port` and every port its
 *   instances named (sorted, at most 20, the schema's limit), so each instance still exposes the
 *   port it had. An instance's port that does not fit (a 21st) is dropped with a Warning event on
 *   the instance naming it (as is the port of an instance whose definition was already converted).
 *
 * Revisions are history and keep the shape they were written in. Generations and resource
 * versions stay: the desired state is the same, only its spelling changed.
 */

/** The schema's limit on `container.ports`. */
const MAX_PORTS = 20;
const OVERRIDABLE = ['image', 'replicas', 'env', 'command'];
const PAGE = 500;
const NAMESPACE_MAX = 63;

type Spec = Record<string, unknown>;
interface Row {
  uid: string;
  project: string;
  name: string;
  spec: Spec;
}

const isObject = (value: unknown): value is Spec => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `derivedNamespace` of `@tugboat/workloads` as it is when this migration is written (a migration
 * keeps what it did, whatever the library becomes).
 */
export function derivedNamespace0006(project: string, name: string): string {
  const plain = `${project}-${name}`;
  if (plain.length <= NAMESPACE_MAX) return plain;
  const hash = createHash('sha256').update(`${project}/${name}`).digest('hex').slice(0, 8);
  return `${plain.slice(0, NAMESPACE_MAX - 9).replace(/-+$/, '')}-${hash}`;
}

function newDefinitionSpec(old: Spec, ports: number[]): Spec {
  const { defaults, ...kept } = old;
  const was = isObject(defaults) ? defaults : {};
  const container: Spec = {};
  if (was['replicas'] !== undefined) container['replicas'] = was['replicas'];
  if (ports.length > 0) container['ports'] = ports.map((port) => ({ port }));
  if (was['env'] !== undefined) container['env'] = was['env'];
  return { ...kept, container, overridable: OVERRIDABLE };
}

function newInstanceSpec(row: Row): Spec {
  const { image, replicas, port: _port, env, command, ...kept } = row.spec;
  const overrides: Spec = isObject(kept['overrides']) ? { ...kept['overrides'] } : {};
  for (const [field, value] of Object.entries({ image, replicas, env, command })) if (value !== undefined) overrides[field] = value;
  return { ...kept, namespace: typeof kept['namespace'] === 'string' ? kept['namespace'] : derivedNamespace0006(row.project, row.name), overrides };
}

export const workloadShape: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // Definitions of the old shape (no source), with the ports their instances named.
    const definitions = await sql<Row & { instance_ports: unknown[] | null }>`
      select d.uid, d.project, d.name, d.spec,
        (select jsonb_agg(distinct i.spec->'port') from "references" r join resources i on i.uid = r.from_uid
          where r.to_uid = d.uid and r.path = 'definitionRef' and i.kind = 'WorkloadInstance' and jsonb_typeof(i.spec->'port') = 'number') as instance_ports
      from resources d
      where d.kind = 'WorkloadDefinition' and not (d.spec ? 'container' or d.spec ? 'manifests')
    `.execute(db);
    /** Definition uid → the ports its container has after this migration. */
    const portsOf = new Map<string, number[]>();
    for (const definition of definitions.rows) {
      const defaults = isObject(definition.spec['defaults']) ? definition.spec['defaults'] : {};
      const named = [defaults['port'], ...(definition.instance_ports ?? [])].filter((p): p is number => typeof p === 'number');
      const ports = [...new Set(named)].sort((a, b) => a - b).slice(0, MAX_PORTS);
      portsOf.set(definition.uid, ports);
      await sql`update resources set spec = ${JSON.stringify(newDefinitionSpec(definition.spec, ports))}::jsonb where uid = ${definition.uid}`.execute(db);
    }

    // Instances of the old shape, a page at a time (there may be many).
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const page = await sql<Row & { definition_uid: string | null }>`
        select i.uid, i.project, i.name, i.spec,
          (select r.to_uid from "references" r where r.from_uid = i.uid and r.path = 'definitionRef') as definition_uid
        from resources i
        where i.kind = 'WorkloadInstance' and i.uid > ${after}::uuid
          and (i.spec ?| array['image', 'replicas', 'port', 'env', 'command'] or not i.spec ? 'namespace')
        order by i.uid limit ${PAGE}
      `.execute(db);
      for (const instance of page.rows) {
        await sql`update resources set spec = ${JSON.stringify(newInstanceSpec(instance))}::jsonb where uid = ${instance.uid}`.execute(db);
        const port = instance.spec['port'];
        const kept = (instance.definition_uid === null ? undefined : portsOf.get(instance.definition_uid)) ?? [];
        if (typeof port === 'number' && !kept.includes(port)) {
          const message = `migration 0006: spec.port ${port} was dropped: ports belong to the WorkloadDefinition now, and it has ${kept.length === 0 ? 'none of its own' : kept.join(', ')}`;
          await sql`insert into events (resource_uid, type, reason, message, first_seen, last_seen, source)
            values (${instance.uid}, 'Warning', 'PortDropped', ${message}, now(), now(), 'migration')
            on conflict (resource_uid, type, reason, message) do nothing`.execute(db);
        }
      }
      if (page.rows.length < PAGE) break;
      after = page.rows[page.rows.length - 1]!.uid;
    }
  },
};
