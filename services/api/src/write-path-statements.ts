/**
 * The two statements of the write path's hot loop, as text with numbered parameters and prepared
 * on a Postgres server (`prepared-statements.ts`): a batch of creates and a relay pass's read.
 * Kept apart from their callers so the write-path benchmark's raw baseline
 * (`e2e/src/bench/raw-write-path.ts`) sends exactly these, not a copy that could drift.
 */

import type { ResourcesTable } from './database-schema.js';
import { prepared } from './prepared-statements.js';

/**
 * The columns a batch create answers with: every column of `resources` (`ResourcesTable`; not the
 * generated ones, which only serve a foreign key), named. A prepared statement whose answer is `*`
 * fails once a migration adds a column ("cached plan must not change result type"), which a
 * replica still running the code before it would meet.
 */
export const RESOURCE_COLUMNS = [
  'uid', 'kind', 'project', 'name', 'labels', 'spec', 'secrets', 'status', 'generation', 'resource_version',
  'finalizers', 'deletion_requested_at', 'created_at', 'updated_at', 'suspended',
] as const satisfies ReadonlyArray<keyof ResourcesTable>;

/** Parameters per object of a batch create, in the order of its `input` columns. */
export const CREATE_BATCH_PARAMETERS = 17;

/**
 * The rows a batch create's statement has room for: `count` rounded up to a power of two. The
 * statements are prepared (`prepared-statements.ts`), and a server connection keeps each one it
 * has run with its plan, ~24 KB per row of room. Measured on one connection that ran every size
 * (`pg_backend_memory_contexts`): one statement per size up to 64 took ~50 MB, one per power of two
 * up to 64 takes ~4.6 MB. The rows past `count` are all NULL and written nowhere.
 */
export function createBatchRoom(count: number): number {
  if (!(count >= 1)) throw new RangeError(`a batch create has at least one object, not ${count}`);
  return 2 ** Math.ceil(Math.log2(count));
}

/**
 * A batch create (`createBatch` in `resource-writes.ts`): the objects, their revisions, outbox rows
 * and audit records in one statement, for `count` objects whose parameters are `objects`
 * (`CREATE_BATCH_PARAMETERS` each, in order), at `now` (the rows' times) and `at` (the events').
 * `objects` becomes the query's `values` (padded and completed in place, not copied).
 */
export function createBatchQuery(count: number, objects: unknown[], now: Date, at: string): { text: string; values: unknown[] } {
  if (objects.length !== count * CREATE_BATCH_PARAMETERS) throw new RangeError(`a batch of ${count} objects has ${count * CREATE_BATCH_PARAMETERS} parameters, not ${objects.length}`);
  const room = createBatchRoom(count);
  for (let i = objects.length; i < room * CREATE_BATCH_PARAMETERS; i++) objects.push(null);
  objects.push(now, at);
  return { text: createBatchStatement(room), values: objects };
}

/**
 * The statement text for `room` rows, kept once made. Written as text with numbered parameters:
 * composed with kysely's builder, every batch built and compiled a node per value, ~2 % of the
 * API's busy time under load (CPU profile of the write-path benchmark).
 */
const createBatchStatements = new Map<number, string>();
function createBatchStatement(room: number): string {
  const known = createBatchStatements.get(room);
  if (known !== undefined) return known;
  const rows = Array.from({ length: room }, (_, i) => {
    const p = (n: number) => `$${i * CREATE_BATCH_PARAMETERS + n}`;
    return `(cast(${p(1)} as uuid), cast(${p(2)} as text), cast(${p(3)} as text), cast(${p(4)} as text), cast(${p(5)} as jsonb), cast(${p(6)} as jsonb), cast(${p(7)} as jsonb),
      cast(${p(8)} as text[]), cast(${p(9)} as text), cast(${p(10)} as text), cast(${p(11)} as jsonb), cast(${p(12)} as int),
      cast(${p(13)} as text), cast(${p(14)} as text), cast(${p(15)} as text), cast(${p(16)} as text), cast(${p(17)} as text))`;
  });
  const now = `cast($${room * CREATE_BATCH_PARAMETERS + 1} as timestamptz)`;
  const at = `cast($${room * CREATE_BATCH_PARAMETERS + 2} as timestamptz)`;
  const text = `
    with input (uid, kind, project, name, labels, spec, secrets, finalizers, actor, subject, event, position, audit_actor, audit_actor_type, audit_token, audit_request_id, audit_source) as (
      values ${rows.join(', ')}
    ), created as (
      insert into resources (uid, kind, project, name, labels, spec, secrets, status, generation, resource_version, finalizers, created_at, updated_at)
      select uid, kind, project, name, labels, spec, secrets, '{}'::jsonb, 1, nextval('resource_version_seq'), finalizers, ${now}, ${now}
      from input where uid is not null order by position
      on conflict (kind, project, name) do nothing
      returning *
    ), revision as (
      insert into revisions (resource_uid, kind, project, name, resource_version, generation, cause, actor, at, labels, spec, note)
      select c.uid, c.kind, c.project, c.name, c.resource_version, c.generation, 'spec', i.actor, ${at}, c.labels, c.spec, null
      from created c join input i on i.uid = c.uid
    ), change as (
      insert into outbox (object_uid, subject, msg_id, payload)
      select c.uid, i.subject, c.uid::text || '/' || c.resource_version::text, i.event || jsonb_build_object('resourceVersion', c.resource_version::text)
      from created c join input i on i.uid = c.uid
      order by c.resource_version
    ), audit as (
      insert into audit_records (actor, actor_type, token, action, kind, project, name, outcome, status, request_id, source)
      select i.audit_actor, i.audit_actor_type, i.audit_token, 'create', c.kind, case when c.kind = 'Project' and c.project = '' then c.name else nullif(c.project, '') end, c.name, 'success', 201, i.audit_request_id, i.audit_source
      from created c join input i on i.uid = c.uid
      order by i.position
    )
    select ${RESOURCE_COLUMNS.join(', ')} from created`;
  createBatchStatements.set(room, text);
  return prepared(`tugboat-create-batch-${room}`, text);
}

/**
 * The group commit's gather under load (`group-commit.ts`, `gather`) for creates: after a batch of
 * at least `minBatch` objects, the next waits up to `ms` for as many again to join. Here so that the
 * write-path benchmark's baseline batches exactly as the API does (it runs the same group commit).
 * 4 ms, not 2: in the benchmark's closed loop 2 ms gathered batches of 9–11 of the 16 writers, 4 ms
 * gathered 15 (e2e/src/bench/README.md, 8 Dec 2026).
 */
export const CREATE_GATHER = { minBatch: 4, ms: 4 } as const;

/**
 * The relay's gather under load (`outbox-relay.ts`, `gatherMs`): after a pass that published at least
 * `RELAY_GATHER_MIN_ROWS` rows while another commit came, the next read waits `RELAY_GATHER_MS`. Here
 * so that the write-path benchmark's baseline relay gathers exactly as the API's does.
 */
export const RELAY_GATHER_MS = 2;
export const RELAY_GATHER_MIN_ROWS = 4;

/**
 * A relay pass's read (`outbox-relay.ts`): the lowest rows ($3 at most), leaving out the objects backing off ($2), after
 * deleting the rows the last pass had acknowledged ($1; either list may be empty). One statement,
 * sent as text: the query builder would build and compile it anew on every pass. Each row comes
 * with its `message`: the event as published, its payload with `seq` (the row's id) added, as
 * JSON text made by the server, so the relay neither parses the payload nor writes it again.
 */
export const READ_OUTBOX_BATCH = prepared('tugboat-read-outbox-batch', `
  with gone as (delete from outbox where id = any(cast($1 as bigint[])) returning id)
  select id, object_uid, subject, msg_id, cast(payload || jsonb_build_object('seq', id::text) as text) as message, created_at from outbox
  where not (id = any(cast($1 as bigint[]))) and not (object_uid = any(cast($2 as uuid[])))
  order by id
  limit $3`);
