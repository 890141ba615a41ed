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
 *
 * A workload moving to another cluster is a migration, not a delete (`migrationOf` in
 * `@tugboat/applications` says which): the old copy stays, its outcome `deleted` with `waitsFor`
 * and `migratingTo` its replacement, until the replacement is Ready; the expansion after that
 * (the workload-controller asks for it) deletes it, and its database and secret follow as above.
 */
import { randomUUID } from 'node:crypto';
import {
  chooseReleases,
  expandApplication,
  latestRollout,
  migrationOfOwned,
  policyFor,
  wantedWorkloadCopies,
  tierKey,
  type ApplicationSpec,
  type ClusterCandidate,
  type DesiredChild,
  type Migration,
  type PolicyRecord,
  type ReleaseRecord,
  type RolloutChange,
  type RolloutRelease,
} from '@tugboat/applications';
import { APPLICATION, APPLICATION_LABELS, CLUSTER_INSTANCE, ConflictError, InputError, RELEASE, REDACTED, TIER_LABEL, isTugboatError, type ErrorDetail } from '@tugboat/resource-model';
import { sql } from 'kysely';
import { contentHash, createDeliveryRecords, rolloutName, rolloutStatus, type RolloutDecision, type StoredRollout } from './application-delivery.js';
import type { Actor } from './audit-trail.js';
import { diffJson, type FieldChange } from './json-diff.js';
import type { JsonObject } from './json-value.js';
import type { KindRegistry, RegisteredKind } from './kind-registry.js';
import { lockRow, lockRowIfExists } from './lock-row.js';
import { detailMessage, type ResourceWriteInput } from './resource-input.js';
import { referrersOf } from './resource-reads.js';
import { toResource, type Row, type Tx } from './resource-row.js';

/** `pending`: a change in a tier whose DeliveryPolicy wants an approval; it waits in `rollout`. */
export type ChildAction = 'created' | 'updated' | 'unchanged' | 'deleted' | 'blocked' | 'pending';

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
  /**
   * For a `deleted` database or secret that owned workloads still use: it goes once they are gone.
   * For a migrating workload (`migratingTo`): its replacement, which must be Ready first.
   */
  waitsFor?: string[];
  /** A `deleted` workload moving to another cluster: the replacement it stays for until that is Ready. */
  migratingTo?: string;
  reasons?: Array<{ path: string; rule: string; message: string }>;
  /** The HTTP status of the refusal (`blocked`). */
  status?: number;
  /** For `pending`: the Rollout that holds the change until it is approved. */
  rollout?: string;
  /** For `pending`: the change it waits to make. */
  pendingAction?: 'created' | 'updated' | 'deleted';
}

/**
 * What else an expansion does besides bringing the children in line: the cause it records on the
 * Rollouts it writes, an approval of a pending Rollout, or an undo's releases.
 */
export interface DeliveryRequest {
  cause?: 'release' | 'change' | 'undo';
  /** Applies the Rollout's tier if its changes are still exactly the ones it shows; else a new proposal supersedes it. */
  approve?: { rollout: StoredRollout; decision: RolloutDecision; applied?: boolean; supersededBy?: string };
  /** Per tier, per component, the release an undo goes back to; `decide` approves it at once where the caller may. */
  undo?: { pins: Map<string, Map<string, ReleaseRecord>>; decide(policy: PolicyRecord): RolloutDecision | undefined };
  /** Every Rollout the expansion wrote, filled in as it goes. */
  written?: StoredRollout[];
}

/** The writes of `resource-writes.ts` and `resource-deletion.ts` the expansion goes through. */
export interface ExpansionWriters {
  insert(tx: Tx, kind: RegisteredKind, uid: string, input: ResourceWriteInput, actor: Actor): Promise<Row>;
  setStatus(tx: Tx, kind: RegisteredKind, row: Row, status: JsonObject, actor: Actor): Promise<Row>;
  /** A savepoint whose rollback also forgets the changes recorded since (`ChangeRecorder.savepoint`). */
  savepoint(tx: Tx): Promise<{ release(): Promise<void>; rollback(): Promise<void> }>;
  change(tx: Tx, kind: RegisteredKind, current: Row, labels: Record<string, string>, spec: JsonObject, actor: Actor): Promise<Row | undefined>;
  remove(tx: Tx, row: Row, actor: Actor): Promise<Row | undefined>;
}

export interface ApplicationExpansion {
  /** Whether writes of this kind expand (the Application kind). */
  expands(kind: RegisteredKind): boolean;
  /**
   * Expands the Application of `row` in `tx`. `authorize` (from `POST /v1/apply`) checks the
   * caller may write each child; the single-object routes check the child kinds before the write.
   */
  expand(tx: Tx, row: Row, actor: Actor, authorize?: Authorize, request?: DeliveryRequest): Promise<ChildOutcome[]>;
  /** The delivery records (Releases, policies, Rollouts) the routes that decide Rollouts read. */
  records: ReturnType<typeof createDeliveryRecords>;
}

type Authorize = (kind: RegisteredKind, key: { project: string; name: string }, action: 'create' | 'update') => void;

const OWNED_KINDS = ['SecretInstance', 'DatabaseInstance', 'WorkloadInstance'] as const;

export function createApplicationExpansion(options: { kinds: KindRegistry; writers: ExpansionWriters; historyLimit?: number }): ApplicationExpansion {
  const { kinds, writers } = options;
  const records = createDeliveryRecords({ kinds, writers, ...(options.historyLimit ? { historyLimit: options.historyLimit } : {}) });

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

  async function writeChild(tx: Tx, app: Row, child: DesiredChild, owned: Map<string, Row>, actor: Actor, authorize: Authorize | undefined): Promise<ChildOutcome> {
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

  /** The migration an owned workload leaving its cluster is part of (`undefined`: it just goes). */
  async function migrationOfRow(tx: Tx, row: Row, wanted: readonly DesiredChild[]): Promise<Migration | undefined> {
    const component = (row.labels as Record<string, string>)[APPLICATION_LABELS.component];
    const copies = wanted.filter((c) => c.kind === 'WorkloadInstance' && c.component === component);
    if (row.kind !== 'WorkloadInstance' || copies.length === 0) return undefined;
    // Read in this transaction: a replacement made by this very expansion is there, and not Ready;
    // one not there (its tier's change held for approval, or a tier not delivered yet) is not Ready either.
    const rows = await tx.selectFrom('resources').selectAll().where('kind', '=', 'WorkloadInstance').where('project', '=', row.project).where('name', 'in', copies.map((c) => c.name)).execute();
    return migrationOfOwned(toResource(row), wantedWorkloadCopies(copies, rows.map((r) => toResource(r))));
  }

  /**
   * Deletes an owned object the expansion no longer wants, unless a sibling still uses it, or it is
   * a workload whose tier still wants copies of it that are not Ready yet (a migration: then it
   * waits). `wanted` is every child of the expansion; `migrationOf` keeps to the copy's tier.
   */
  async function removeChild(tx: Tx, app: Row, row: Row, ownedUids: Set<string>, actor: Actor, wanted: readonly DesiredChild[]): Promise<ChildOutcome | undefined> {
    if (row.deletion_requested_at) return undefined;
    const labels = row.labels as Record<string, string>;
    const base = { kind: row.kind, project: row.project, name: row.name, owner: `${APPLICATION.kind}/${app.name}`, component: labels['tugboat.dev/component'] ?? row.name, cluster: labels['tugboat.dev/cluster'] ?? '' };
    const migration = await migrationOfRow(tx, row, wanted);
    if (migration && !migration.ready) return { ...base, action: 'deleted', waitsFor: [`WorkloadInstance/${migration.to}`], migratingTo: migration.to };
    const users = (await referrersOf(tx, row.uid)).filter((r) => ownedUids.has(r.uid));
    if (users.length > 0) return { ...base, action: 'deleted', waitsFor: users.map((u) => `${u.kind}/${u.name}`) };
    try {
      await writers.remove(tx, row, actor);
      return { ...base, action: 'deleted' };
    } catch (error) {
      return refusalOutcome(base, error);
    }
  }

  /** Whether an outcome changes (or would change) its object. */
  const isChange = (o: ChildOutcome): o is ChildOutcome & { action: 'created' | 'updated' | 'deleted' } => o.action === 'created' || o.action === 'updated' || o.action === 'deleted';

  function rolloutChange(o: ChildOutcome & { action: 'created' | 'updated' | 'deleted' }): RolloutChange {
    return { kind: o.kind, name: o.name, cluster: o.cluster, action: o.action, ...(o.diff ? { diff: o.diff } : {}), ...(o.waitsFor ? { waitsFor: o.waitsFor } : {}) };
  }

  /**
   * Why a tier may not run `releases` yet: a release new to the tier that is not Ready in the tier
   * its policy requires (every copy of the component there Ready at that image). A release the tier
   * ran before (an undo) needs no new proof.
   */
  async function notReadyInRequiredTier(tx: Tx, app: Row, policy: PolicyRecord, releases: RolloutRelease[], history: StoredRollout[]): Promise<string | undefined> {
    if (policy.requires === undefined) return undefined;
    const ran = new Set(history.filter((r) => r.state === 'Applied').flatMap((r) => r.releases.map((x) => x.release)));
    const missing: string[] = [];
    for (const release of releases) {
      if (release.release === undefined || ran.has(release.release)) continue;
      const copies = await tx
        .selectFrom('resources')
        .select(['spec', 'status', 'generation'])
        .where('kind', '=', 'WorkloadInstance')
        .where('project', '=', app.project)
        .where(sql<boolean>`labels->>${APPLICATION_LABELS.application} = ${app.name}`)
        .where(sql<boolean>`labels->>${APPLICATION_LABELS.component} = ${release.component}`)
        .where(sql<boolean>`labels->>${TIER_LABEL} = ${policy.requires}`)
        .execute();
      const ready = (row: (typeof copies)[number]) => {
        const status = row.status as { phase?: string; observedGeneration?: number };
        const image = (row.spec as { overrides?: { image?: string } }).overrides?.image;
        return status.phase === 'Ready' && (status.observedGeneration ?? 0) >= Number(row.generation) && image === release.image;
      };
      if (copies.length === 0 || !copies.every(ready)) missing.push(`release ${release.release} (${release.component}) is not Ready in tier ${policy.requires} yet`);
    }
    return missing.length > 0 ? `${missing.join('; ')} (DeliveryPolicy ${policy.name} requires it)` : undefined;
  }

  /** The approval message: who may approve and how. */
  function approvalMessage(name: string, policy: PolicyRecord, waitingFor: string | undefined): string {
    const who = `${policy.approvers.join(' or ')} of the project`;
    const how = `tug rollout approve ${name} (or reject it)`;
    return waitingFor ? `waits until ${waitingFor}; then an approval by ${who}: ${how}` : `waits for an approval by ${who}: ${how}`;
  }

  async function expandApplicationRow(tx: Tx, app: Row, actor: Actor, authorize: Authorize | undefined, request: DeliveryRequest): Promise<ChildOutcome[]> {
    const spec = app.spec as unknown as ApplicationSpec;
    const releases = await records.releasesOf(tx, app);
    const policies = await records.policies(tx);
    const rollouts = await records.rolloutsOf(tx, app);
    const components = (spec.workloads ?? []).map((w) => w.name);
    const chosen = new Map<string, Map<string, ReleaseRecord | undefined>>();
    const choose = (tier: string) => {
      let choice = chosen.get(tier);
      if (!choice) {
        choice = chooseReleases(components, releases, rollouts.filter((r) => r.tier === tier), request.undo?.pins.get(tier));
        chosen.set(tier, choice);
      }
      return choice;
    };
    const expansion = expandApplication({ name: app.name, project: app.project, spec }, await clusterCandidates(tx), { imageOf: (tier, component) => choose(tierKey(tier)).get(component)?.image });
    const ownedList = await ownedRows(tx, app.uid);
    const owned = new Map(ownedList.map((row) => [row.uid, row]));
    const ownedUids = new Set(owned.keys());
    const wanted = new Set(expansion.children.map((c) => `${c.kind}/${c.name}`));
    const unwanted = ownedList.filter((row) => !wanted.has(`${row.kind}/${row.name}`));
    const tierOfRow = (row: Row) => tierKey((row.labels as Record<string, string>)[TIER_LABEL]);
    const tiers = [...new Set([...expansion.children.map((c) => tierKey(c.tier)), ...unwanted.map(tierOfRow)])];
    const outcomes: ChildOutcome[] = [];
    for (const tier of tiers) {
      const releasesNow: RolloutRelease[] = components.map((component) => {
        const release = choose(tier).get(component);
        return release ? { component, release: release.name, image: release.image } : { component };
      });
      const tierUnwanted = unwanted.filter((row) => tierOfRow(row) === tier);
      outcomes.push(
        ...(await deliverTier(tx, app, actor, authorize, request, {
          tier,
          policy: policyFor(tier, policies),
          history: rollouts.filter((r) => r.tier === tier),
          releases: releasesNow,
          children: expansion.children.filter((c) => tierKey(c.tier) === tier),
          // Workloads first: their removal is what frees the databases and secrets they use.
          unwanted: [...tierUnwanted.filter((r) => r.kind === 'WorkloadInstance'), ...tierUnwanted.filter((r) => r.kind !== 'WorkloadInstance')],
          owned,
          ownedUids,
          wanted: expansion.children,
        })),
      );
    }
    return outcomes;
  }

  interface TierWork {
    tier: string;
    policy: PolicyRecord;
    history: StoredRollout[];
    releases: RolloutRelease[];
    children: DesiredChild[];
    unwanted: Row[];
    owned: Map<string, Row>;
    ownedUids: Set<string>;
    /** Every child of the expansion, all tiers: where a migrating workload's replacement is looked for. */
    wanted: readonly DesiredChild[];
  }

  /**
   * One tier's share of the expansion. Its writes are made inside a savepoint; when the tier's
   * policy wants an approval (or a release is not Ready in the tier it requires) they are rolled
   * back and proposed as a Rollout instead, with the verdicts and diffs they had. Otherwise they
   * stay, and an Applied Rollout records them in the tier's history.
   */
  async function deliverTier(tx: Tx, app: Row, actor: Actor, authorize: Authorize | undefined, request: DeliveryRequest, work: TierWork): Promise<ChildOutcome[]> {
    const { tier, policy, history } = work;
    const savepoint = await writers.savepoint(tx);
    const written: ChildOutcome[] = [];
    for (const child of work.children) written.push(await writeChild(tx, app, child, work.owned, actor, authorize));
    for (const row of work.unwanted) {
      const outcome = await removeChild(tx, app, row, work.ownedUids, actor, work.wanted);
      if (outcome) written.push(outcome);
    }
    // A refused child refuses the whole write: nothing to record.
    if (written.some((o) => o.action === 'blocked')) {
      await savepoint.release();
      return written;
    }
    const applied = latestRollout(history, ['Applied']);
    const open = history.filter((r) => (r.state === 'PendingApproval' || r.state === 'Waiting' || r.state === 'Rejected') && (!applied || r.revision > applied.revision)).sort((a, b) => b.revision - a.revision)[0];
    // A removal an applied Rollout already decided (a database that waited for its workload) follows without a new decision.
    const decidedRemovals = new Set(history.filter((r) => r.state === 'Applied').flatMap((r) => r.changes.filter((c) => c.action === 'deleted').map((c) => `${c.kind}/${c.name}`)));
    const changes = written.filter(isChange).filter((o) => !(o.action === 'deleted' && decidedRemovals.has(`${o.kind}/${o.name}`)));
    const approving = request.approve?.rollout.tier === tier ? request.approve : undefined;
    if (changes.length === 0) {
      await savepoint.release();
      if (open && open.state !== 'Rejected') {
        await records.setState(tx, open, rolloutStatus('Superseded', `nothing left to change: tier ${tier} already runs what it proposed`), actor);
      }
      return written;
    }
    const hash = contentHash(work.releases, changes.map((o) => ({ ...rolloutChange(o), spec: o.action === 'deleted' ? undefined : o.spec })));
    const waitingFor = await notReadyInRequiredTier(tx, app, policy, work.releases, history);
    const at = new Date().toISOString();
    let decision: RolloutDecision | undefined;
    if (waitingFor === undefined) {
      if (approving && approving.rollout.contentHash === hash) decision = approving.decision;
      else if (request.undo?.pins.has(tier)) decision = request.undo.decide(policy);
      else if (policy.mode === 'automatic') decision = { action: 'automatic', by: actor.name, at };
    } else if (approving && approving.rollout.contentHash === hash) {
      throw new ConflictError(`Rollout ${approving.rollout.name} may not roll out yet: ${waitingFor}`, { details: [{ path: 'spec.releases', rule: 'required-tier', message: waitingFor }] });
    }
    const cause = request.cause ?? (request.undo?.pins.has(tier) ? 'undo' : sameReleases(work.releases, applied?.releases) ? 'change' : 'release');
    const revision = Math.max(0, ...history.map((r) => r.revision)) + 1;
    const rolloutChanges = changes.map(rolloutChange);
    const proposal = { tier, revision, cause, releases: work.releases, changes: rolloutChanges, contentHash: hash, ...(applied ? { previousRevision: applied.revision } : {}) };
    if (decision) {
      await savepoint.release();
      const verb = decision.action === 'automatic' ? `rolled out automatically (${actor.name})` : `approved by ${decision.by}${decision.role ? ` (${decision.role})` : ''}`;
      if (approving) {
        const done = await records.setState(tx, approving.rollout, rolloutStatus('Applied', `${verb}: ${summary(rolloutChanges)}`, { decision }), actor);
        approving.applied = true;
        request.written?.push(done);
        return written;
      }
      if (open && open.state !== 'Rejected' && open.contentHash === hash) {
        // The very change it proposed goes now (its tier became automatic, or its required tier is Ready).
        const done = await records.setState(tx, open, rolloutStatus('Applied', `${verb}: ${summary(rolloutChanges)}`, { decision }), actor);
        request.written?.push(done);
        return written;
      }
      if (open && open.state !== 'Rejected') await records.setState(tx, open, rolloutStatus('Superseded', `superseded by ${rolloutName(app.name, tier, revision)}`), actor);
      const done = await records.record(
        tx,
        app,
        proposal,
        rolloutStatus('Applied', `${verb}: ${summary(rolloutChanges)}`, { decision }),
        actor,
      );
      request.written?.push(done);
      return written;
    }
    // Held: the tier keeps what it runs; the changes wait in a Rollout.
    await savepoint.rollback();
    let holder: StoredRollout;
    if (open && open.contentHash === hash) {
      holder = open;
      const shown = (open.row.status as { waitingFor?: string }).waitingFor;
      if (open.state === 'PendingApproval' && shown !== waitingFor) {
        // The required tier became Ready (or stopped being): the proposal says so, and who may now approve.
        const message = approvalMessage(open.name, policy, waitingFor);
        holder = await records.setState(tx, open, rolloutStatus('PendingApproval', message, { reason: waitingFor ? 'WaitingForTier' : 'ApprovalRequired', approvers: policy.approvers, ...(waitingFor ? { waitingFor } : {}) }), actor);
      }
    } else {
      const name = rolloutName(app.name, tier, revision);
      const state = policy.mode === 'approval' ? 'PendingApproval' : 'Waiting';
      const message = state === 'PendingApproval' ? approvalMessage(name, policy, waitingFor) : `waits until ${waitingFor}`;
      if (open && open.state !== 'Rejected') await records.setState(tx, open, rolloutStatus('Superseded', `superseded by ${name}`), actor);
      holder = await records.record(
        tx,
        app,
        proposal,
        rolloutStatus(state, message, { reason: waitingFor ? 'WaitingForTier' : 'ApprovalRequired', approvers: policy.approvers, ...(waitingFor ? { waitingFor } : {}) }),
        actor,
      );
      request.written?.push(holder);
    }
    if (approving) approving.supersededBy = holder.name;
    const held = new Set(changes.map((o) => `${o.kind}/${o.name}`));
    return written.map((o) => (isChange(o) && held.has(`${o.kind}/${o.name}`) ? { ...o, action: 'pending', pendingAction: o.action, rollout: holder.name } : o));
  }

  return {
    records,
    expands: (kind) => kind.definition.kind === APPLICATION.kind || kind.definition.kind === RELEASE.kind,
    async expand(tx, row, actor, authorize, request = {}) {
      if (row.kind !== RELEASE.kind) return expandApplicationRow(tx, row, actor, authorize, request);
      // A new Release rolls out through its Application's tiers; it belongs to the Application.
      const appName = (row.spec as { application: { name: string } }).application.name;
      const app = await lockRow(tx, await kinds.getOrThrow(APPLICATION.kind), { project: row.project, name: appName });
      await records.adoptRelease(tx, app, row);
      if (app.deletion_requested_at) return [];
      return expandApplicationRow(tx, app, actor, authorize, { cause: 'release', ...request });
    },
  };
}

function sameReleases(a: readonly RolloutRelease[], b: readonly RolloutRelease[] | undefined): boolean {
  if (!b) return a.every((r) => r.release === undefined);
  const key = (list: readonly RolloutRelease[]) => list.map((r) => `${r.component}=${r.release ?? ''}`).sort().join(',');
  return key(a) === key(b);
}

/** `created shop-web-prod, updated shop-db-prod`. */
function summary(changes: readonly RolloutChange[]): string {
  const shown = changes.slice(0, 5).map((c) => `${c.action} ${c.kind}/${c.name}`);
  return `${shown.join(', ')}${changes.length > 5 ? ` and ${changes.length - 5} more` : ''}`;
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
