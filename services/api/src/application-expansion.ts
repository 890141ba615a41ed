/**
 * An Application's expansion, run inside the transaction of the write that changes it (create,
 * replace, patch, or an object of `POST /v1/apply`): the objects `@tugboat/applications` says it
 * should own are created or updated through the same path as any write (schema, admission and
 * guardrails, references, revision, outbox), and the ones it owns but no longer wants are deleted.
 * Every child is tried, so the answer names every one that is refused; any refusal rolls the whole
 * write back (nothing half-created). A dry run of `POST /v1/apply` runs exactly this and rolls back,
 * so its plan is what the apply does.
 *
 * Removal keeps dependency order: a workload goes at once (its Exposure before it, by its own
 * finalizer); a database or secret that an owned workload still uses waits (`waitsFor`) and goes
 * on a later expansion once that workload is gone (the workload-controller asks for it). When the
 * Application itself is deleted, `resource-deletion.ts` keeps the same order.
 */
import { randomUUID } from 'node:crypto';
import { expandApplication, type ApplicationSpec, type ClusterCandidate, type DesiredChild } from '@tugboat/applications';
import { APPLICATION, CLUSTER_INSTANCE, ConflictError, InputError, REDACTED, isTugboatError, type ErrorDetail } from '@tugboat/resource-model';
import type { Identity } from './identity.js';
import { diffJson, type FieldChange } from './json-diff.js';
import type { JsonObject } from './json-value.js';
import type { KindRegistry, RegisteredKind } from './kind-registry.js';
import { lockRowIfExists } from './lock-row.js';
import { detailMessage, type ResourceWriteInput } from './resource-input.js';
import { referrersOf } from './resource-reads.js';
import type { Row, Tx } from './resource-row.js';

export type ChildAction = 'created' | 'updated' | 'unchanged' | 'deleted' | 'blocked';

/** What the expansion did (or, in a dry run, would do) to one owned object. */
export interface ChildOutcome {
  kind: string;
  project: string;
  name: string;
  action: ChildAction;
  /** `Application/<name>`: whose expansion this is. */
  owner: string;
  component: string;
  cluster: string;
  generation?: number;
  diff?: FieldChange[];
  /** The spec as written (secrets redacted): what the dry run promises and the apply stores. */
  spec?: JsonObject;
  /** For a `deleted` database or secret that owned workloads still use: it goes once they are gone. */
  waitsFor?: string[];
  reasons?: Array<{ path: string; rule: string; message: string }>;
  /** The HTTP status of the refusal (`blocked`). */
  status?: number;
}

/** The writes of `resource-writes.ts` and `resource-deletion.ts` the expansion goes through. */
export interface ExpansionWriters {
  insert(tx: Tx, kind: RegisteredKind, uid: string, input: ResourceWriteInput, actor: Identity): Promise<Row>;
  change(tx: Tx, kind: RegisteredKind, current: Row, labels: Record<string, string>, spec: JsonObject, actor: Identity): Promise<Row | undefined>;
  remove(tx: Tx, row: Row, actor: Identity): Promise<Row | undefined>;
}

export interface ApplicationExpansion {
  /** Whether writes of this kind expand (the Application kind). */
  expands(kind: RegisteredKind): boolean;
  /**
   * Expands the Application of `row` in `tx`. `authorize` (from `POST /v1/apply`) checks the
   * caller may write each child; the single-object routes check the child kinds before the write.
   */
  expand(tx: Tx, row: Row, actor: Identity, authorize?: Authorize): Promise<ChildOutcome[]>;
}

type Authorize = (kind: RegisteredKind, key: { project: string; name: string }, action: 'create' | 'update') => void;

const OWNED_KINDS = ['SecretInstance', 'DatabaseInstance', 'WorkloadInstance'] as const;

export function createApplicationExpansion(options: { kinds: KindRegistry; writers: ExpansionWriters }): ApplicationExpansion {
  const { kinds, writers } = options;

  async function clusterCandidates(tx: Tx): Promise<ClusterCandidate[]> {
    const rows = await tx.selectFrom('resources').select(['name', 'labels', 'deletion_requested_at']).where('kind', '=', CLUSTER_INSTANCE.kind).where('project', '=', '').execute();
    return rows.map((r) => ({ name: r.name, labels: r.labels as Record<string, string>, deleting: r.deletion_requested_at !== null }));
  }

  async function ownedRows(tx: Tx, uid: string): Promise<Row[]> {
    return tx
      .selectFrom('owner_references as o')
      .innerJoin('resources as r', 'r.uid', 'o.owned_uid')
      .selectAll('r')
      .where('o.owner_uid', '=', uid)
      .where('r.kind', 'in', [...OWNED_KINDS])
      .orderBy('r.kind')
      .orderBy('r.name')
      .execute();
  }

  function refusalOutcome(base: Omit<ChildOutcome, 'action'>, error: unknown): ChildOutcome {
    // A refusal of the caller (403) or a server error ends the write; a refused object is reported.
    if (!isTugboatError(error) || error.status >= 500 || error.status === 403) throw error;
    const details = error.details.length > 0 ? error.details : [{ path: 'metadata.name', rule: error.code }];
    return { ...base, action: 'blocked', status: error.status, reasons: details.map((d) => ({ path: d.path, rule: d.rule, message: d.message ?? detailMessage(error, d.path) })) };
  }

  async function writeChild(tx: Tx, app: Row, child: DesiredChild, owned: Map<string, Row>, actor: Identity, authorize: Authorize | undefined): Promise<ChildOutcome> {
    const kind = await kinds.getOrThrow(child.kind);
    const base = { kind: child.kind, project: app.project, name: child.name, owner: `${APPLICATION.kind}/${app.name}`, component: child.component, cluster: child.cluster };
    // A secret's value is never in the Application: "<redacted>" keeps the one `tug secret set` stored.
    const spec = (child.kind === 'SecretInstance' ? { ...child.spec, value: REDACTED } : child.spec) as JsonObject;
    try {
      const current = await lockRowIfExists(tx, kind, { project: app.project, name: child.name });
      if (!current) {
        authorize?.(kind, { project: app.project, name: child.name }, 'create');
        const row = await writers.insert(tx, kind, randomUUID(), { name: child.name, project: app.project, labels: child.labels, ownerReferences: [{ kind: APPLICATION.kind, name: app.name }], spec }, actor);
        return { ...base, action: 'created', generation: 1, spec: row.spec as JsonObject };
      }
      if (!owned.has(current.uid)) {
        throw new ConflictError(`${child.kind} "${child.name}" exists and does not belong to Application ${app.name}: rename the component or delete it`, {
          details: [{ path: 'metadata.name', rule: 'not-owned' }],
        });
      }
      if (current.deletion_requested_at) {
        throw new ConflictError(`${child.kind} "${child.name}" is still being deleted: it is made again once it is gone (apply again then)`, {
          details: [{ path: 'metadata.deletionRequestedAt', rule: 'deleting' }],
        });
      }
      authorize?.(kind, { project: app.project, name: child.name }, 'update');
      const row = await writers.change(tx, kind, current, child.labels, spec, actor);
      if (!row) return { ...base, action: 'unchanged', generation: Number(current.generation), spec: current.spec as JsonObject };
      const diff = diffJson({ metadata: { labels: current.labels }, spec: current.spec }, { metadata: { labels: row.labels }, spec: row.spec });
      return { ...base, action: 'updated', generation: Number(row.generation), diff, spec: row.spec as JsonObject };
    } catch (error) {
      return refusalOutcome(base, error);
    }
  }

  /** Deletes an owned object the expansion no longer wants, unless a sibling still uses it (then it waits). */
  async function removeChild(tx: Tx, app: Row, row: Row, ownedUids: Set<string>, actor: Identity): Promise<ChildOutcome | undefined> {
    if (row.deletion_requested_at) return undefined;
    const labels = row.labels as Record<string, string>;
    const base = { kind: row.kind, project: row.project, name: row.name, owner: `${APPLICATION.kind}/${app.name}`, component: labels['tugboat.dev/component'] ?? row.name, cluster: labels['tugboat.dev/cluster'] ?? '' };
    const users = (await referrersOf(tx, row.uid)).filter((r) => ownedUids.has(r.uid));
    if (users.length > 0) return { ...base, action: 'deleted', waitsFor: users.map((u) => `${u.kind}/${u.name}`) };
    try {
      await writers.remove(tx, row, actor);
      return { ...base, action: 'deleted' };
    } catch (error) {
      return refusalOutcome(base, error);
    }
  }

  return {
    expands: (kind) => kind.definition.kind === APPLICATION.kind,
    async expand(tx, app, actor, authorize) {
      const expansion = expandApplication({ name: app.name, project: app.project, spec: app.spec as unknown as ApplicationSpec }, await clusterCandidates(tx));
      const ownedList = await ownedRows(tx, app.uid);
      const owned = new Map(ownedList.map((row) => [row.uid, row]));
      const outcomes: ChildOutcome[] = [];
      for (const child of expansion.children) outcomes.push(await writeChild(tx, app, child, owned, actor, authorize));
      const wanted = new Set(expansion.children.map((c) => `${c.kind}/${c.name}`));
      const unwanted = ownedList.filter((row) => !wanted.has(`${row.kind}/${row.name}`));
      const ownedUids = new Set(owned.keys());
      // Workloads first: their removal is what frees the databases and secrets they use.
      for (const row of [...unwanted.filter((r) => r.kind === 'WorkloadInstance'), ...unwanted.filter((r) => r.kind !== 'WorkloadInstance')]) {
        const outcome = await removeChild(tx, app, row, ownedUids, actor);
        if (outcome) outcomes.push(outcome);
      }
      return outcomes;
    },
  };
}

/** The refusal of a single-object write whose expansion blocked: 422 (409 when only conflicts), naming component, cluster, field and rule. */
export function expansionRefusal(appName: string, outcomes: readonly ChildOutcome[]): InputError | ConflictError | undefined {
  const blocked = outcomes.filter((o) => o.action === 'blocked');
  if (blocked.length === 0) return undefined;
  const details: ErrorDetail[] = blocked.flatMap((o) => (o.reasons ?? []).map((r) => ({ path: `${where(o)}: ${r.path}`, rule: r.rule, message: r.message })));
  const message = `Application ${appName} was not written (nothing was): ${details.map((d) => `${d.path}: ${d.message ?? d.rule}`).join('; ')}`;
  if (blocked.every((o) => o.status === 409)) return new ConflictError(message, { details });
  return new InputError(message, { status: 422, details });
}

/** `component web on cluster dev (WorkloadInstance shop-web-dev)`. */
function where(outcome: ChildOutcome): string {
  return `component ${outcome.component} on cluster ${outcome.cluster} (${outcome.kind} ${outcome.name})`;
}
