/**
 * The store's writes, one function per operation: create (alone creates through group commit, see
 * `group-commit.ts`), replace, patch, status, apply and the operator controls. Each runs in one
 * transaction (`write`) and ends in `recordChange`; `createBatch` writes the same rows in one statement.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { APPLICATION, ConflictError, REDACTED, eventSubject, isTugboatError, referencedNames, referenceTargets, type ApplyAction, type ChangeEvent, type KindDefinition, type Resource } from '@tugboat/resource-model';
import type { Admission } from './admission.js';
import { createApplicationExpansion, expansionRefusal, type ChildOutcome } from './application-expansion.js';
import { auditRow, type Actor, type AuditContext, type AuditTrail } from './audit-trail.js';
import { createRolloutDecisions } from './rollout-decisions.js';
import { isServerError, mapDatabaseError, type ChangeRecorder } from './change-recorder.js';
import type { Database } from './database-schema.js';
import { jsonb } from './database.js';
import { prepared } from './prepared-statements.js';
import { CREATE_GATHER, createBatchQuery, RESOURCE_COLUMNS } from './write-path-statements.js';
import { createGroupCommit, type ItemOutcome } from './group-commit.js';
import { diffJson, type FieldChange } from './json-diff.js';
import { applyMergePatch, cloneJson, deletePath, getPath, isJsonObject, jsonEqual, type JsonObject } from './json-value.js';
import type { KillPoint } from './kill-point.js';
import type { KindRegistry, RegisteredKind } from './kind-registry.js';
import { lockRow, lockRowIfExists, shareLinkTarget } from './lock-row.js';
import { openTxMemo } from './tx-memo.js';
import { insertEvent } from './resource-events.js';
import { DetailCollector, detailMessage, inputError, parseLabels, type ResourceWriteInput } from './resource-input.js';
import { ownersSubquery } from './resource-reads.js';
import { checkVersion, notFound, toResource, toResourceOne, touch, type ObjectKey, type Owner, type Row, type Tx } from './resource-row.js';
import type { ResourceStore } from './resource-store.js';
import type { PreparedSpec, SpecSealer } from './spec-sealer.js';

/**
 * `writeStatus`'s statement, sent prepared (`prepared-statements.ts`): every reconcile of every
 * controller ends in one, and unprepared the server parsed and planned its five parts each time.
 * It locks the row, writes the status (when the version matches and the status differs), the
 * outbox row and the audit record, and answers the written row, or the current one when nothing
 * was written. Parameters: $1–$3 the object's kind, project and name; $4 the status (JSON text);
 * $5 the time; $6 the expected version or null; $7 the event's subject; $8 the event (JSON text);
 * $9–$19 the audit record (`auditRow`'s columns, in the insert's order). Its answer's columns are
 * named, as the prepared read's are: a prepared statement answering `*` fails once a migration adds
 * a column.
 */
export const WRITE_STATUS = prepared('tugboat-write-status', `
  with current as (
    select * from resources where kind = $1 and project = $2 and name = $3 for update
  ), written as (
    update resources r set status = cast($4 as jsonb), resource_version = nextval('resource_version_seq'), updated_at = cast($5 as timestamptz)
    from current c
    where r.uid = c.uid and (cast($6 as text) is null or c.resource_version::text = cast($6 as text)) and c.status <> cast($4 as jsonb)
    returning r.*
  ), change as (
    insert into outbox (object_uid, subject, msg_id, payload)
    select w.uid, cast($7 as text), w.uid::text || '/' || w.resource_version::text,
           cast($8 as jsonb) || jsonb_build_object('uid', w.uid, 'generation', w.generation, 'resourceVersion', w.resource_version::text)
    from written w
  ), audit as (
    insert into audit_records (actor, actor_type, token, action, kind, project, name, outcome, status, request_id, source)
    select cast($9 as text), cast($10 as text), cast($11 as text), cast($12 as text), cast($13 as text), cast($14 as text), cast($15 as text),
           cast($16 as text), cast($17 as int), cast($18 as text), cast($19 as text)
    from written
  )
  select ${RESOURCE_COLUMNS.map((column) => `x.${column}`).join(', ')}, ${ownersSubquery('x.uid')} as owners, x.written
  from (select w.*, true as written from written w union all select c.*, false as written from current c) x
  order by x.written desc
  limit 1`);

/** A create with nothing to resolve, validated and sealed, waiting for its batch. */
type AloneCreate = { kind: RegisteredKind; uid: string; input: ResourceWriteInput; prepared: PreparedSpec; actor: Actor; audit: AuditContext };

export interface ApplyItem {
  kind: RegisteredKind;
  input: ResourceWriteInput;
}

export interface ApplyOptions {
  dryRun: boolean;
  /**
   * Throws `ForbiddenError` when the identity may not create or update this object; `write` (asked
   * before the object is looked up) when it may do neither, so nothing about the object is read or
   * locked for a caller who may not write it.
   */
  authorize(kind: RegisteredKind, key: { project: string; name: string }, action: 'create' | 'update' | 'write'): void;
}

export interface ApplyOutcome {
  action: ApplyAction;
  generation?: number;
  diff?: FieldChange[];
  reasons?: Array<{ path: string; rule: string; message: string }>;
  /** An Application's expansion: what happened (or would happen) to each object it owns. */
  children?: ChildOutcome[];
}

export interface ResourceWritesOptions {
  db: Kysely<Database>;
  kinds: KindRegistry;
  sealer: SpecSealer;
  changes: ChangeRecorder;
  /** NATS prefix: the subject of each outbox row of a batch derives from it. */
  prefix: string;
  killPoint: KillPoint;
  /** See `ResourceStoreOptions.groupCommit`. */
  groupCommit?: { maxInFlight?: number; maxBatch?: number; maxQueued?: number };
  /** Decided Rollouts kept per Application and tier (`ApiServerOptions.rolloutHistoryLimit`). */
  rolloutHistoryLimit?: number;
  /** Write-time checks against other objects (guardrails, default cluster), in each write's transaction. */
  admission: Admission;
  /** Each write's audit record, in its transaction. */
  audit: AuditTrail;
  /** DELETE inside a transaction (`resource-deletion.ts`): how an Application's expansion removes what it no longer owns. */
  deleteInTransaction(tx: Tx, row: Row, actor: Actor): Promise<Row | undefined>;
}

export type ResourceWrites = Pick<
  ResourceStore,
  'create' | 'replace' | 'patch' | 'writeStatus' | 'applyAll' | 'setSuspended' | 'requestReconcile' | 'expandApplication' | 'decideRollout' | 'undoApplication'
>;

/**
 * A dry run's outcome that does not tell whether a supplied secret value equals the stored one:
 * every supplied value reads as a change (generation + 1, a `<redacted>` line in the diff). An
 * editor could otherwise test guesses of a value no one may read back, unseen (a dry run is not
 * audited); a real apply of a wrong guess overwrites the value, which is recorded and visible.
 */
function withoutSecretComparison(item: ApplyItem, outcome: ApplyOutcome): ApplyOutcome {
  if (outcome.action !== 'unchanged' && outcome.action !== 'updated') return outcome;
  const supplied = item.kind.definition.secretFields.filter((path) => {
    const given = getPath(item.input.spec, path);
    return given !== undefined && given !== REDACTED;
  });
  if (supplied.length === 0) return outcome;
  const diff = [...(outcome.diff ?? [])];
  for (const path of supplied) if (!diff.some((change) => change.path === `spec.${path}`)) diff.push({ path: `spec.${path}`, op: 'replace', from: REDACTED, to: REDACTED });
  const generation = outcome.action === 'unchanged' && outcome.generation !== undefined ? outcome.generation + 1 : outcome.generation;
  return { ...outcome, action: 'updated', ...(generation === undefined ? {} : { generation }), diff };
}

/** A new object's finalizers: its owning controller's, unless the kind is one that keeps none. */
function initialFinalizers(definition: KindDefinition): string[] {
  return definition.finalizer === false ? [] : [definition.controller];
}


export function createResourceWrites(options: ResourceWritesOptions): ResourceWrites {
  const { db, kinds, prefix, killPoint, admission, audit } = options;
  const { write, recordChange, noteChange, wakeRelay } = options.changes;
  const { openSecrets, plaintextSpec, prepareSpec } = options.sealer;

  /** Resolves the spec's reference fields to uids; a missing target is a 422 naming the field. */
  async function resolveReferences(tx: Tx, kind: RegisteredKind, project: string, spec: JsonObject): Promise<Array<{ path: string; uid: string }>> {
    const resolved: Array<{ path: string; uid: string }> = [];
    const problems = new DetailCollector();
    for (const reference of kind.definition.references) {
      // One path may reach several references (`databases[].ref`): each is recorded at its concrete path.
      for (const { path, name } of referencedNames(spec, reference.path)) {
        if (name === undefined) {
          problems.add(`spec.${path}.name`, 'required', 'must name the referenced object');
          continue;
        }
        const target = await kinds.getOrThrow(reference.kind);
        const targetProject = target.definition.scope === 'Platform' ? '' : project;
        const row = await shareLinkTarget(tx, target, { project: targetProject, name });
        if (!row) problems.add(`spec.${path}.name`, 'reference', `${reference.kind} "${name}" does not exist${targetProject ? ` in project ${targetProject}` : ''}`);
        else if (row.deletion_requested_at) problems.add(`spec.${path}.name`, 'reference', `${reference.kind} "${name}" is being deleted`);
        else resolved.push({ path, uid: row.uid });
      }
    }
    problems.throwIfAny();
    return resolved;
  }

  async function resolveOwners(tx: Tx, project: string, owners: ResourceWriteInput['ownerReferences']): Promise<string[]> {
    const uids: string[] = [];
    const problems = new DetailCollector();
    for (const [i, owner] of owners.entries()) {
      const ownerKind = await kinds.get(owner.kind);
      if (!ownerKind) {
        problems.add(`metadata.ownerReferences[${i}].kind`, 'unknown-kind', `unknown kind "${owner.kind}"`);
        continue;
      }
      const ownerProject = ownerKind.definition.scope === 'Platform' ? '' : project;
      const row = await shareLinkTarget(tx, ownerKind, { project: ownerProject, name: owner.name });
      if (!row || row.deletion_requested_at) problems.add(`metadata.ownerReferences[${i}]`, 'reference', `${owner.kind} "${owner.name}" does not exist or is being deleted`);
      else if (!uids.includes(row.uid)) uids.push(row.uid);
    }
    problems.throwIfAny();
    return uids;
  }

  /** Replaces an object's recorded references. */
  async function writeReferences(tx: Tx, uid: string, references: Array<{ path: string; uid: string }>): Promise<void> {
    await tx.deleteFrom('references').where('from_uid', '=', uid).execute();
    if (references.length > 0) await tx.insertInto('references').values(references.map((r) => ({ from_uid: uid, path: r.path, to_uid: r.uid }))).execute();
  }

  /**
   * Writes new labels and spec over a locked row (generation +1 when the spec changed), its
   * references and its change record. `undefined` when nothing changed: nothing is written.
   */
  async function changeSpec(
    tx: Tx,
    kind: RegisteredKind,
    current: Row,
    labels: Record<string, string>,
    given: JsonObject,
    actor: Actor,
    defer: (check: () => Promise<void>) => Promise<void> = (check) => check(),
    byPerson = false,
  ): Promise<Row | undefined> {
    prepareSpec(kind, current.uid, given, current); // the schema first: admission reads valid shapes only
    const request = { kind: kind.definition.kind, project: current.project, name: current.name, current: current.spec as JsonObject };
    const spec = await admission.admit(tx, { ...request, spec: given });
    const { stored, sealed, secretsChanged } = prepareSpec(kind, current.uid, spec, current);
    const specChanged = secretsChanged || !jsonEqual(stored, current.spec);
    if (!specChanged && jsonEqual(labels, current.labels)) return undefined;
    // A secret's value (`tug secret set`) is a person's to write: the expansion never holds it.
    const withoutSecrets = (value: unknown) => {
      const copy = cloneJson(value) as JsonObject;
      for (const path of kind.definition.secretFields) deletePath(copy, path);
      return copy;
    };
    const beyondSecrets = !jsonEqual(withoutSecrets(stored), withoutSecrets(current.spec)) || !jsonEqual(labels, current.labels);
    if (byPerson && beyondSecrets) await refuseIfApplicationOwned(tx, kind, current);
    if (specChanged) await defer(() => admission.checkDefinitionChange(tx, { kind: kind.definition.kind, uid: current.uid, name: current.name, spec: stored }));
    if (specChanged) await writeReferences(tx, current.uid, await resolveReferences(tx, kind, current.project, spec));
    const row = await tx
      .updateTable('resources')
      .set({
        labels: jsonb(labels),
        spec: jsonb(stored),
        secrets: jsonb(sealed),
        generation: specChanged ? String(Number(current.generation) + 1) : String(current.generation),
        resource_version: sql`nextval('resource_version_seq')`,
        updated_at: new Date(),
      })
      .where('uid', '=', current.uid)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordChange(tx, kind, row, 'spec', actor);
    return row;
  }

  /**
   * An object an Application owns is written by the Application's expansion alone: a hand edit
   * would bypass its tier's DeliveryPolicy (and be undone by the next expansion). 409 naming the
   * Application to change instead. Its status, a secret's value, and a delete (the expansion makes
   * it again, through the tier's policy), stay open.
   */
  async function refuseIfApplicationOwned(tx: Tx, kind: RegisteredKind, current: Row): Promise<void> {
    const owner = await tx
      .selectFrom('owner_references as o')
      .innerJoin('resources as r', 'r.uid', 'o.owner_uid')
      .select('r.name')
      .where('o.owned_uid', '=', current.uid)
      .where('r.kind', '=', APPLICATION.kind)
      .executeTakeFirst();
    if (!owner) return;
    throw new ConflictError(
      `${kind.definition.kind} "${current.name}" belongs to Application ${owner.name}, whose expansion writes it: change the Application (its tier's DeliveryPolicy then decides when the change rolls out)`,
      { details: [{ path: 'metadata.ownerReferences', rule: 'owned-by-application', message: `Application/${current.project}/${owner.name}` }] },
    );
  }

  /**
   * Creates with no references or owners to resolve, as one statement (its own transaction) for
   * any number of them: the rows, their revisions and their outbox rows as `insertResource` +
   * `recordChange` write them, in one round trip instead of four per object (BEGIN, INSERT, change
   * record, COMMIT). Each outbox payload takes its `resourceVersion` from its inserted row. A name
   * that is taken inserts nothing for that object (`on conflict do nothing`): its outcome is a 409,
   * the others commit. Any other refusal of a batch of several runs each object alone, so an error
   * reaches only the request that caused it; a failure that may have committed (a lost connection)
   * fails the whole batch, as it would fail a single create.
   */
  async function createBatch(items: AloneCreate[]): Promise<Array<ItemOutcome<Row>>> {
    const now = new Date();
    const at = now.toISOString();
    const parameters: unknown[] = [];
    items.forEach(({ kind, uid, input, prepared, actor, audit: context }, position) => {
      const key = { kind: kind.definition.kind, project: input.project, name: input.name };
      const event: Omit<ChangeEvent, 'seq' | 'resourceVersion'> = { ...key, uid, generation: 1, cause: 'spec', actor: actor.name, at };
      // Each create's audit record carries the context of the request that queued it.
      const record = auditRow({ action: 'create', ...key }, context);
      parameters.push(
        uid, key.kind, key.project, key.name, JSON.stringify(input.labels), JSON.stringify(prepared.stored), JSON.stringify(prepared.sealed),
        initialFinalizers(kind.definition), actor.name, eventSubject(prefix, key, 'spec'), JSON.stringify(event), position,
        record.actor, record.actor_type, record.token, record.request_id, record.source,
      );
    });
    const query = createBatchQuery(items.length, parameters, now, at);
    let rows: Row[];
    try {
      ({ rows } = await db.executeQuery<Row>(CompiledQuery.raw(query.text, query.values)));
    } catch (error) {
      // Only a statement the server refused is known to have written nothing, so only then may its
      // objects be tried again one by one; a lost connection may have lost the answer to a commit.
      if (items.length > 1 && isServerError(error)) return (await Promise.all(items.map((item) => createBatch([item])))).flat();
      const mapped = mapDatabaseError(error);
      return items.map(() => ({ ok: false, error: mapped }));
    }
    if (rows.length > 0) wakeRelay();
    const byUid = new Map(rows.map((row) => [row.uid, row]));
    return items.map(({ kind, uid, input }) => {
      killPoint.pass('after-commit', 1);
      const row = byUid.get(uid);
      if (row) return { ok: true, value: row };
      return { ok: false, error: nameTaken(kind, input) };
    });
  }

  const aloneCreates = createGroupCommit<AloneCreate, Row>({
    run: createBatch,
    maxInFlight: options.groupCommit?.maxInFlight ?? 1,
    maxBatch: options.groupCommit?.maxBatch ?? 64,
    ...(options.groupCommit?.maxQueued ? { maxQueued: options.groupCommit.maxQueued } : {}),
    keyOf: ({ kind, input }) => `${kind.definition.kind}/${input.project}/${input.name}`,
    gather: CREATE_GATHER,
  });

  /**
   * Inserts a new object with its references, owners, revision, outbox row and (given `audited`) its
   * audit record, in one statement: the rows `writeReferences`, `recordChange` and `audit.record`
   * would write, in one round trip instead of four or five. `undefined` when the name is taken.
   */
  async function tryInsertResource(
    tx: Tx,
    kind: RegisteredKind,
    uid: string,
    given: ResourceWriteInput,
    checked: PreparedSpec,
    actor: Actor,
    audited?: { entry: Parameters<AuditTrail['record']>[1]; context: AuditContext },
  ): Promise<{ row: Row; owned: boolean } | undefined> {
    const spec = await admission.admit(tx, { kind: kind.definition.kind, project: given.project, name: given.name, spec: given.spec });
    // Admission may fill a field in (the default cluster): seal and validate what is written.
    const input = spec === given.spec ? given : { ...given, spec };
    const prepared = spec === given.spec ? checked : prepareSpec(kind, uid, spec);
    const references = await resolveReferences(tx, kind, input.project, input.spec);
    const owners = await resolveOwners(tx, input.project, input.ownerReferences);
    const now = new Date();
    const key = { kind: kind.definition.kind, project: input.project, name: input.name };
    const event: Omit<ChangeEvent, 'seq' | 'resourceVersion'> = { ...key, uid, generation: 1, cause: 'spec', actor: actor.name, at: now.toISOString() };
    // Each part joins `created`: a name that is taken inserts nothing anywhere.
    const parts = [
      references.length === 0
        ? undefined
        : sql`links as (
            insert into "references" (from_uid, path, to_uid)
            select c.uid, l.path, l.to_uid from created c
            cross join (values ${sql.join(references.map((r) => sql`(cast(${r.path} as text), cast(${r.uid} as uuid))`))}) as l (path, to_uid)
          )`,
      owners.length === 0
        ? undefined
        : sql`owners as (
            insert into owner_references (owned_uid, owner_uid, position)
            select c.uid, o.owner_uid, o.position from created c
            cross join (values ${sql.join(owners.map((owner, position) => sql`(cast(${owner} as uuid), cast(${position} as int))`))}) as o (owner_uid, position)
          )`,
      sql`revision as (
        insert into revisions (resource_uid, kind, project, name, resource_version, generation, cause, actor, at, labels, spec, note)
        select c.uid, c.kind, c.project, c.name, c.resource_version, c.generation, 'spec', cast(${actor.name} as text), cast(${now} as timestamptz), c.labels, c.spec, null
        from created c
      )`,
      sql`change as (
        insert into outbox (object_uid, subject, msg_id, payload)
        select c.uid, cast(${eventSubject(prefix, key, 'spec')} as text), c.uid::text || '/' || c.resource_version::text, ${jsonb(event)} || jsonb_build_object('resourceVersion', c.resource_version::text)
        from created c
      )`,
      audited === undefined ? undefined : auditPart(auditRow(audited.entry, audited.context)),
    ].filter((part) => part !== undefined);
    const { rows } = await sql<Row>`
      with created as (
        insert into resources (uid, kind, project, name, labels, spec, secrets, status, generation, resource_version, finalizers, created_at, updated_at)
        values (cast(${uid} as uuid), cast(${key.kind} as text), cast(${key.project} as text), cast(${key.name} as text), ${jsonb(input.labels)},
                ${jsonb(prepared.stored)}, ${jsonb(prepared.sealed)}, '{}'::jsonb, 1, nextval('resource_version_seq'),
                cast(${initialFinalizers(kind.definition)} as text[]), cast(${now} as timestamptz), cast(${now} as timestamptz))
        on conflict (kind, project, name) do nothing
        returning *
      ), ${sql.join(parts)}
      select * from created`.execute(tx);
    const row = rows[0];
    if (!row) return undefined;
    noteChange(tx, key);
    return { row, owned: owners.length > 0 };
  }

  /** `tryInsertResource`, with a 409 when the name is taken. */
  async function insertResource(tx: Tx, kind: RegisteredKind, uid: string, input: ResourceWriteInput, checked: PreparedSpec, actor: Actor): Promise<{ row: Row; owned: boolean }> {
    const inserted = await tryInsertResource(tx, kind, uid, input, checked, actor);
    if (inserted) return inserted;
    throw nameTaken(kind, input);
  }

  /** The 409 of a create whose name is taken. */
  function nameTaken(kind: RegisteredKind, input: Pick<ResourceWriteInput, 'project' | 'name'>): ConflictError {
    return new ConflictError(`${kind.definition.kind} "${input.name}" already exists${input.project ? ` in project ${input.project}` : ''}`, {
      details: [{ path: 'metadata.name', rule: 'unique' }],
    });
  }

  /** An audit record as the part of a statement that writes it once `created` holds a row. */
  function auditPart(record: ReturnType<typeof auditRow>) {
    return sql`audit as (
      insert into audit_records (actor, actor_type, token, action, kind, project, name, outcome, status, request_id, source, detail)
      select cast(${record.actor} as text), cast(${record.actor_type} as text), cast(${record.token} as text), cast(${record.action} as text), cast(${record.kind} as text),
             cast(${record.project} as text), cast(${record.name} as text), cast(${record.outcome} as text), cast(${record.status} as int),
             cast(${record.request_id} as text), cast(${record.source} as text), ${record.detail ?? sql`cast(null as jsonb)`}
      from created
    )`;
  }

  /** An apply item's object, as a set member. */
  function itemKey(item: ApplyItem): string {
    return `${item.kind.definition.kind}\u0000${item.input.project}\u0000${item.input.name}`;
  }

  /** The items of a bundle whose object does not exist (as `itemKey`), read in one statement without locks. */
  async function absentOf(tx: Tx, items: readonly ApplyItem[]): Promise<Set<string>> {
    const wanted = items.map((item) => sql`(cast(${item.kind.definition.kind} as text), cast(${item.input.project} as text), cast(${item.input.name} as text))`);
    const { rows } = await sql<{ kind: string; project: string; name: string }>`
      select kind, project, name from resources where (kind, project, name) in (values ${sql.join(wanted)})`.execute(tx);
    const absent = new Set(items.map(itemKey));
    for (const row of rows) absent.delete(`${row.kind}\u0000${row.project}\u0000${row.name}`);
    return absent;
  }

  /**
   * One object of an apply, inside the apply's transaction; throws what blocks it. A definition's
   * check of its instances goes to `defer`: it runs once the whole bundle is written, so a bundle
   * that tightens a definition and brings its instances within it in one go passes.
   */
  async function applyOne(
    tx: Tx,
    item: ApplyItem,
    actor: Actor,
    check: ApplyOptions['authorize'],
    defer: (check: () => Promise<void>) => Promise<void>,
    seenAbsent = false,
  ): Promise<ApplyOutcome> {
    const { kind, input } = item;
    check(kind, { project: input.project, name: input.name }, 'write');
    const current = seenAbsent ? undefined : await lockRowIfExists(tx, kind, input);
    if (!current) {
      check(kind, { project: input.project, name: input.name }, 'create');
      const uid = randomUUID();
      const entry = { action: 'create', kind: kind.definition.kind, project: input.project, name: input.name, status: 201, detail: { via: 'apply' } };
      const inserted = await tryInsertResource(tx, kind, uid, input, prepareSpec(kind, uid, input.spec), actor, { entry, context: audit.contextOf(actor) });
      if (!inserted) {
        // Absent when the bundle was looked up, made since by another writer: applied as an update.
        if (seenAbsent) return applyOne(tx, item, actor, check, defer);
        throw nameTaken(kind, input);
      }
      return withChildren({ action: 'created', generation: 1 }, input.name, await expandApplied(tx, kind, inserted.row, actor, check));
    }
    check(kind, { project: input.project, name: input.name }, 'update');
    checkVersion(current, input.resourceVersion);
    if (current.deletion_requested_at) {
      throw new ConflictError(`${kind.definition.kind} "${input.name}" is being deleted`, { details: [{ path: 'metadata.deletionRequestedAt', rule: 'deleting' }] });
    }
    const previousSecrets = openSecrets(current);
    const row = await changeSpec(tx, kind, current, input.labels, input.spec, actor, defer, true);
    const children = await expandApplied(tx, kind, row ?? current, actor, check);
    if (!row) return withChildren({ action: 'unchanged', generation: Number(current.generation) }, input.name, children);
    await audit.record(tx, { action: 'update', kind: kind.definition.kind, project: input.project, name: input.name, detail: { via: 'apply' } }, audit.contextOf(actor));
    const diff = diffJson({ metadata: { labels: current.labels }, spec: current.spec }, { metadata: { labels: row.labels }, spec: row.spec });
    // Stored specs hold "<redacted>" on both sides, so a changed secret value needs its own line.
    for (const path of kind.definition.secretFields) {
      const given = getPath(input.spec, path);
      if (given === undefined || given === REDACTED || !Object.hasOwn(previousSecrets, path) || jsonEqual(previousSecrets[path], given)) continue;
      diff.push({ path: `spec.${path}`, op: 'replace', from: REDACTED, to: REDACTED });
    }
    return withChildren({ action: 'updated', generation: Number(row.generation), diff }, input.name, children);
  }

  /** An applied Application's expansion (`undefined` for other kinds). */
  async function expandApplied(tx: Tx, kind: RegisteredKind, row: Row, actor: Actor, check: ApplyOptions['authorize']): Promise<ChildOutcome[] | undefined> {
    return applications.expands(kind) ? applications.expand(tx, row, actor, check) : undefined;
  }

  /** The outcome with its expansion's; blocked (naming each refused child) when any child is. */
  function withChildren(outcome: ApplyOutcome, name: string, children: ChildOutcome[] | undefined): ApplyOutcome {
    if (!children) return outcome;
    const refusal = expansionRefusal(name, children);
    if (!refusal) return { ...outcome, children };
    const reasons = refusal.details.map((d) => ({ path: d.path, rule: d.rule, message: d.message ?? d.rule }));
    return { action: 'blocked', reasons, children };
  }

  /** Common path of PUT and PATCH: `desired` computes labels and spec from the current object. */
  async function update(
    action: 'update' | 'patch',
    kind: RegisteredKind,
    key: ObjectKey,
    expectedVersion: string | undefined,
    actor: Actor,
    desired: (current: Row) => { labels: Record<string, string>; spec: JsonObject },
  ): Promise<Resource> {
    return write(async (tx) => {
      const current = await lockRow(tx, kind, key);
      checkVersion(current, expectedVersion);
      const { labels, spec } = desired(current);
      const row = await changeSpec(tx, kind, current, labels, spec, actor, undefined, true);
      // Also when nothing changed: writing an Application again re-expands it onto its clusters as they are now.
      await expandOrRefuse(tx, kind, row ?? current, actor);
      return toResourceOne(tx, row ?? current);
    }, { action, kind: kind.definition.kind, ...key, actor });
  }

  // An Application's objects are written by the same functions as any object, in the Application write's transaction.
  const applications = createApplicationExpansion({
    kinds,
    ...(options.rolloutHistoryLimit ? { historyLimit: options.rolloutHistoryLimit } : {}),
    writers: {
      insert: async (tx, kind, uid, input, actor) => (await insertResource(tx, kind, uid, input, prepareSpec(kind, uid, input.spec), actor)).row,
      change: (tx, kind, current, labels, spec, actor) => changeSpec(tx, kind, current, labels, spec, actor),
      remove: (tx, row, actor) => options.deleteInTransaction(tx, row, actor),
      savepoint: (tx) => options.changes.savepoint(tx, 'tier_delivery'),
      setStatus: async (tx, kind, row, status, actor) => {
        const updated = await tx
          .updateTable('resources')
          .set({ status: jsonb(status), resource_version: sql`nextval('resource_version_seq')`, updated_at: new Date() })
          .where('uid', '=', row.uid)
          .returningAll()
          .executeTakeFirstOrThrow();
        await recordChange(tx, kind, updated, 'status', actor);
        return updated;
      },
    },
  });
  const rolloutDecisions = createRolloutDecisions({ kinds, write, applications });

  /** Expands an Application just written (not one being deleted); throws the refusal when any child is blocked. */
  async function expandOrRefuse(tx: Tx, kind: RegisteredKind, row: Row, actor: Actor): Promise<void> {
    if (!applications.expands(kind) || row.deletion_requested_at) return;
    const refusal = expansionRefusal(row.name, await applications.expand(tx, row, actor));
    if (refusal) throw refusal;
  }

  return {
    async create(kind, input, actor) {
      const uid = randomUUID();
      const prepared = prepareSpec(kind, uid, input.spec);
      const resolvesNothing =
        input.ownerReferences.length === 0 &&
        kind.definition.references.every((reference) => referenceTargets(input.spec, reference.path).length === 0) &&
        !admission.readsOthers(kind.definition.kind, input.spec) &&
        !applications.expands(kind);
      if (resolvesNothing) {
        // Nothing to read for it: only a definition's checks of itself apply, before it queues.
        await admission.admit(db, { kind: kind.definition.kind, project: input.project, name: input.name, spec: input.spec });
        return toResource(await aloneCreates.submit({ kind, uid, input, prepared, actor, audit: audit.contextOf(actor) }));
      }
      return write(async (tx) => {
        const { row, owned } = await insertResource(tx, kind, uid, input, prepared, actor);
        await expandOrRefuse(tx, kind, row, actor);
        return owned ? toResourceOne(tx, row) : toResource(row);
      }, { action: 'create', kind: kind.definition.kind, project: input.project, name: input.name, actor, status: 201 });
    },

    async replace(kind, key, input, expectedVersion, actor) {
      const expected = expectedVersion ?? input.resourceVersion;
      if (expectedVersion && input.resourceVersion && expectedVersion !== input.resourceVersion) {
        throw new ConflictError('If-Match and metadata.resourceVersion disagree', { details: [{ path: 'metadata.resourceVersion', rule: 'stale' }] });
      }
      return update('update', kind, key, expected, actor, () => ({ labels: input.labels, spec: input.spec }));
    },

    async patch(kind, key, patch, expectedVersion, actor) {
      return update('patch', kind, key, expectedVersion, actor, (current) => {
        const problems = new DetailCollector();
        const labels =
          patch.labels === undefined ? (current.labels as Record<string, string>) : parseLabels(applyMergePatch(current.labels, patch.labels), 'metadata.labels', problems);
        problems.throwIfAny();
        const spec = patch.spec === undefined ? plaintextSpec(current) : applyMergePatch(plaintextSpec(current), patch.spec);
        if (!isJsonObject(spec)) throw inputError('spec', 'type', 'must stay an object');
        return { labels, spec };
      });
    },

    /**
     * One prepared statement (`WRITE_STATUS`), no transaction around it: controllers write status
     * on every reconcile, and six round trips were one. When nothing was written, the current row
     * answers, and its version or its unchanged status says why.
     */
    async writeStatus(kind, key, status, expectedVersion, actor) {
      const now = new Date();
      const objectKey = { kind: kind.definition.kind, project: key.project, name: key.name };
      const event: Omit<ChangeEvent, 'seq' | 'uid' | 'generation' | 'resourceVersion'> = { ...objectKey, cause: 'status', actor: actor.name, at: now.toISOString() };
      const record = auditRow({ action: 'writeStatus', ...objectKey, status: 200 }, audit.contextOf(actor));
      let rows: Array<Row & { owners: Owner[] | null; written: boolean }>;
      try {
        ({ rows } = await db.executeQuery<Row & { owners: Owner[] | null; written: boolean }>(
          CompiledQuery.raw(WRITE_STATUS, [
            objectKey.kind, key.project, key.name, JSON.stringify(status), now, expectedVersion ?? null, eventSubject(prefix, objectKey, 'status'), JSON.stringify(event),
            record.actor, record.actor_type, record.token, record.action, record.kind, record.project, record.name, record.outcome, record.status, record.request_id, record.source,
          ]),
        ));
      } catch (error) {
        throw mapDatabaseError(error);
      }
      const found = rows[0];
      if (!found) throw notFound(kind, key);
      const { owners, written, ...row } = found;
      if (written) wakeRelay();
      killPoint.pass('after-commit', 1);
      if (!written) checkVersion(row, expectedVersion);
      // Written, or a write that would change nothing: it wrote nothing and wakes no one.
      return toResource(row, owners ?? []);
    },

    async applyAll(items, actor, applyOptions) {
      // A rule an object breaks (checked before it writes anything, or before the bundle commits):
      // reported, and the apply goes on so one answer names every problem. Anything else (a 403
      // included: the caller may not write that object at all) ends the transaction.
      const blocked = (error: unknown): ApplyOutcome => {
        // A refusal of the caller, not of the object: the whole bundle answers 403, naming it.
        if (!isTugboatError(error) || error.status >= 500 || error.status === 403) throw error;
        const details = error.details.length > 0 ? error.details : [{ path: 'metadata.name', rule: error.code }];
        return { action: 'blocked', reasons: details.map((d) => ({ path: d.path, rule: d.rule, message: d.message ?? detailMessage(error, d.path) })) };
      };
      const outcomes: ApplyOutcome[] = [];
      const rollback = new Error('apply rolled back');
      try {
        await write(async (tx) => {
          const deferred: Array<{ index: number; check: () => Promise<void> }> = [];
          // The definition, default cluster and link targets its objects share are read once
          // (tx-memo.ts); an object written forgets what was read of its kind. An Application's
          // expansion writes objects of several kinds: no memo while it runs.
          const memo = openTxMemo(tx);
          // Which objects of the bundle do not exist yet, in one read: those are inserted without a
          // lookup of their own first (one statement each instead of two). An Application's
          // expansion may make any of them: none is taken as absent after one.
          let absent = items.length > 1 ? await absentOf(tx, items) : new Set<string>();
          try {
            for (const [index, item] of items.entries()) {
              const expands = item.kind.definition.kind === APPLICATION.kind;
              if (expands) memo.pause();
              try {
                const seenAbsent = absent.delete(itemKey(item));
                outcomes.push(await applyOne(tx, item, actor, applyOptions.authorize, async (check) => void deferred.push({ index, check }), seenAbsent));
              } catch (error) {
                outcomes.push(blocked(error));
              }
              if (expands) {
                memo.resume();
                absent = new Set();
              } else memo.forget(item.kind.definition.kind);
            }
          } finally {
            memo.close();
          }
          for (const { index, check } of deferred) {
            try {
              await check();
            } catch (error) {
              outcomes[index] = blocked(error);
            }
          }
          if (applyOptions.dryRun) outcomes.forEach((outcome, index) => (outcomes[index] = withoutSecretComparison(items[index]!, outcome)));
          // A dry run, or a bundle with a blocked object, writes nothing: not even an outbox row.
          if (applyOptions.dryRun || outcomes.some((o) => o.action === 'blocked')) throw rollback;
        });
      } catch (error) {
        if (error !== rollback) throw error;
        return { outcomes, committed: false };
      }
      return { outcomes, committed: true };
    },

    async setSuspended(kind, key, suspended, actor) {
      return write(async (tx) => {
        const current = await lockRow(tx, kind, key);
        if (current.suspended === suspended) return toResourceOne(tx, current);
        const row = await touch(tx, current, { suspended });
        const what = suspended ? 'suspended' : 'resumed';
        await recordChange(tx, kind, row, 'metadata', actor, what);
        await insertEvent(tx, row.uid, { type: 'Normal', reason: suspended ? 'Suspended' : 'Resumed', message: `${what} by ${actor.name}` }, actor);
        return toResourceOne(tx, row);
      }, { action: suspended ? 'suspend' : 'resume', kind: kind.definition.kind, ...key, actor });
    },

    async expandApplication(kind, key, expandOptions, actor) {
      if (!applications.expands(kind)) throw new ConflictError(`${kind.definition.kind} objects do not expand`, { details: [{ path: 'kind', rule: 'expands' }] });
      let outcomes: ChildOutcome[] = [];
      const rollback = new Error('dry run');
      try {
        await write(async (tx) => {
          const current = await lockRow(tx, kind, key);
          if (current.deletion_requested_at) return;
          outcomes = await applications.expand(tx, current, actor);
          // A dry run answers every verdict, blocked ones included; a real one refuses them all.
          if (expandOptions.dryRun) throw rollback;
          const refusal = expansionRefusal(current.name, outcomes);
          if (refusal) throw refusal;
        }, { action: 'expand', kind: kind.definition.kind, ...key, actor });
      } catch (error) {
        if (error !== rollback) throw error;
      }
      return outcomes;
    },

    decideRollout: rolloutDecisions.decideRollout,
    undoApplication: rolloutDecisions.undoApplication,

    async requestReconcile(kind, key, actor) {
      return write(async (tx) => {
        const current = await lockRow(tx, kind, key);
        if (current.suspended) {
          throw new ConflictError(`${kind.definition.kind} "${key.name}" is suspended: resume it first`, { details: [{ path: 'metadata.suspended', rule: 'suspended' }] });
        }
        // A new resourceVersion gives the event its own Msg-Id, so the stream does not drop it as a repeat.
        const row = await touch(tx, current);
        await recordChange(tx, kind, row, 'reconcile', actor, 'reconcile requested');
        await insertEvent(tx, row.uid, { type: 'Normal', reason: 'ReconcileRequested', message: `reconcile requested by ${actor.name}` }, actor);
        return toResourceOne(tx, row);
      }, { action: 'reconcile', kind: kind.definition.kind, ...key, actor });
    },
  };
}
