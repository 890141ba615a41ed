/**
 * The audit trail: who did what, with which token, from where, under which request id, and how it
 * ended. A successful mutation or secret read is recorded by the store code that does it, inside
 * the transaction that does it (`record(tx, …)`): a change that rolls back leaves no record, and a
 * change that commits cannot lack one. A refused (403) or failed attempt changed nothing, so it is
 * recorded on its own afterwards (`recordAttempt`), best effort.
 *
 * The request's context (identity, token, request id, source address) reaches the store as the
 * `Actor` argument the store is called with: the HTTP layer hands it the caller's identity with the
 * request's origin attached (`actorOf`), and the store passes it down to where the record is written
 * (`contextOf`). Writes that wait for a shared transaction (group commit) capture it when they queue.
 * Work outside any request (tests calling the store, internal jobs) is recorded under the identity
 * the store was given, or `internal`.
 *
 * Not an `AsyncLocalStorage`: on Node.js 20 one installs promise hooks that run for every promise of
 * the process, and an argument says at each call what the record will name.
 */
import type { Logger } from 'pino';
import type { Identity } from '@tugboat/resource-model';
import { jsonb } from './database.js';
import type { Kysely } from 'kysely';
import type { Database } from './database-schema.js';
import type { Executor } from './resource-row.js';

/** Who asks, as the audit trail names them. */
export interface AuditContext {
  actor: string;
  actorType: string;
  /** The presented token's name; absent for the bootstrap admin and internal work. */
  token?: string;
  requestId?: string;
  /** The caller's address as the API's socket saw it. */
  source?: string;
}

/** Where a request came from, as the audit trail records it. */
export interface RequestOrigin {
  requestId?: string | undefined;
  /** The caller's address as the API's socket saw it. */
  source?: string | undefined;
}

/**
 * An identity acting through the store: the caller's identity and, when it acts through an HTTP
 * request, that request's origin. Stores take it where they take "who does this" and pass it on
 * unchanged, so the audit record written deep inside a change names the request.
 */
export interface Actor extends Identity {
  readonly request?: RequestOrigin;
}

/** The identity acting through the request with this origin (`request` is not part of any answer). */
export function actingThrough(identity: Identity, request: RequestOrigin): Actor {
  return { ...identity, request };
}

export type AuditOutcome = 'success' | 'denied' | 'failed';

/**
 * What was done, to what. `project` empty or absent = not in a project (platform objects, kinds,
 * platform tokens); a `Project` object's records are filed under the project it is.
 */
export interface AuditEntry {
  action: string;
  kind?: string | undefined;
  project?: string | undefined;
  name?: string | undefined;
  /** Default `success`, status 200. */
  outcome?: AuditOutcome;
  status?: number;
  detail?: Record<string, unknown> | undefined;
}

export interface AuditTrail {
  /** The context a record made for `actor` carries: its identity and its request's origin; `internal` without one. */
  contextOf(actor?: Actor): AuditContext;
  /** Writes a record with `executor`: pass the change's transaction. */
  record(executor: Executor, entry: AuditEntry, context: AuditContext): Promise<void>;
  /** A refused or failed attempt (it changed nothing), on its own; never throws. Nothing without a database. */
  recordAttempt(entry: AuditEntry, context: AuditContext): Promise<void>;
}

export const INTERNAL_ACTOR: AuditContext = { actor: 'internal', actorType: 'internal' };

export function auditContextOf(identity: Identity, request: RequestOrigin = {}): AuditContext {
  return {
    actor: identity.name,
    actorType: identity.type,
    ...(identity.token ? { token: identity.token } : {}),
    ...(request.requestId ? { requestId: request.requestId } : {}),
    ...(request.source ? { source: request.source } : {}),
  };
}

/** Longest kept of any free-text column (a hostile name or detail must not bloat the table). */
const MAX_TEXT = 256;

function clip(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value.slice(0, MAX_TEXT);
}

export function auditRow(entry: AuditEntry, context: AuditContext) {
  return {
    actor: context.actor.slice(0, MAX_TEXT),
    actor_type: context.actorType,
    token: clip(context.token),
    action: entry.action,
    kind: clip(entry.kind),
    // A Project object is platform-wide, but its records belong to the project it is: its admins read them.
    project: clip(entry.kind === 'Project' && !entry.project ? entry.name : entry.project),
    name: clip(entry.name),
    outcome: entry.outcome ?? 'success',
    status: entry.status ?? 200,
    request_id: clip(context.requestId),
    source: clip(context.source),
    detail: entry.detail === undefined ? null : jsonb(entry.detail),
  };
}

/**
 * Reads that are not worth a record when refused or failed (everyone may try them, they reveal
 * nothing when refused): every other action's refusal or failure is recorded.
 */
const UNAUDITED_ATTEMPTS = new Set(['get', 'list', 'watch', 'listTokens', 'readAudit', 'readKeys']);

/**
 * The action a refused or failed request is recorded under, named as its success would be:
 * `operate` is the control asked for (`suspend`, `resume`, `reconcile`), `update` by PATCH is `patch`.
 * `undefined` for reads that are not audited.
 */
export function attemptedAction(action: string, method: string, path: string): string | undefined {
  if (UNAUDITED_ATTEMPTS.has(action)) return undefined;
  if (action === 'operate') return path.split('/').pop() ?? action;
  if (action === 'update' && method === 'PATCH') return 'patch';
  return action;
}

export interface AuditTrailOptions {
  /** Where refused and failed attempts are written (successes go with their change's transaction). */
  db?: Kysely<Database>;
  logger?: Logger;
}

export function createAuditTrail(options: AuditTrailOptions = {}): AuditTrail {
  return {
    contextOf(actor) {
      return actor ? auditContextOf(actor, actor.request) : INTERNAL_ACTOR;
    },
    async record(executor, entry, context) {
      await executor.insertInto('audit_records').values(auditRow(entry, context)).execute();
    },
    async recordAttempt(entry, context) {
      if (!options.db) return;
      try {
        await options.db.insertInto('audit_records').values(auditRow(entry, context)).execute();
      } catch (error) {
        options.logger?.warn({ err: (error as Error).message, action: entry.action, actor: context.actor }, 'could not record a refused or failed attempt in the audit trail');
      }
    },
  };
}
