/**
 * Reading the audit trail (`GET /v1/audit`): filters by project, identity, kind, action and time,
 * newest first, in pages of at most `MAX_AUDIT_LIMIT` with an opaque continue token. The query
 * takes an optional list of projects the caller may see, so a restriction is enforced by the
 * database, never by filtering a page afterwards.
 */
import type { Kysely, Selectable } from 'kysely';
import { InputError, type AuditRecord } from '@tugboat/resource-model';
import type { AuditRecordsTable, Database } from './database-schema.js';
import { DetailCollector } from './resource-input.js';
import { parseDateTime } from './date-time.js';

export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;

export interface AuditFilter {
  project?: string;
  identity?: string;
  kind?: string;
  action?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  limit?: number;
  continue?: string;
  /**
   * Only records of these projects (records outside any project excluded). Absent = no
   * restriction; empty = nothing. For callers who may read only some projects' trail.
   */
  projects?: readonly string[];
}

export interface AuditLog {
  list(filter: AuditFilter): Promise<{ items: AuditRecord[]; continue?: string }>;
}

const NAME = /^[A-Za-z0-9]([A-Za-z0-9._:-]{0,251}[A-Za-z0-9])?$/;

/**
 * The filter of a request's query string; every bad parameter is named (400 for a shape the API
 * cannot read, 422 for a value out of range, as the other list routes answer).
 */
export function parseAuditQuery(query: Record<string, unknown>): AuditFilter {
  const problems = new DetailCollector();
  const known = new Set(['project', 'identity', 'kind', 'action', 'since', 'until', 'limit', 'continue']);
  for (const key of Object.keys(query)) if (!known.has(key)) problems.add(key.slice(0, 64), 'additionalProperties', `unknown query parameter (one of ${[...known].join(', ')})`);
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') {
      problems.add(name, 'type', 'must be given once');
      return undefined;
    }
    return value;
  };
  const filter: AuditFilter = {};
  for (const name of ['project', 'identity', 'kind', 'action'] as const) {
    const value = text(name);
    if (value === undefined) continue;
    if (!NAME.test(value)) problems.add(name, 'pattern', 'must be a name (letters, digits, . _ : -; at most 253)');
    else filter[name] = value;
  }
  for (const name of ['since', 'until'] as const) {
    const value = text(name);
    if (value === undefined) continue;
    // Year 0000 used to reach Postgres, which has no year 0: a 500.
    const at = parseDateTime(value);
    if (at === undefined) problems.add(name, 'date-time', 'must be an RFC 3339 time (a real date, from year 0001), e.g. 2027-01-31T00:00:00Z');
    else filter[name] = new Date(at);
  }
  const limit = text('limit');
  if (limit !== undefined) {
    if (!/^\d{1,7}$/.test(limit)) problems.add('limit', 'type', `must be an integer from 1 to ${MAX_AUDIT_LIMIT}`);
    else if (Number(limit) < 1 || Number(limit) > MAX_AUDIT_LIMIT) problems.add('limit', 'range', `must be an integer from 1 to ${MAX_AUDIT_LIMIT}`);
    else filter.limit = Number(limit);
  }
  const cont = text('continue');
  if (cont !== undefined) {
    if (decodeContinue(cont) === undefined) problems.add('continue', 'format', 'not a token this API issued');
    else filter.continue = cont;
  }
  if (filter.since && filter.until && filter.since >= filter.until) problems.add('until', 'after-since', 'must be later than since');
  problems.throwIfAny(problems.details.some((d) => d.rule === 'type' || d.rule === 'additionalProperties') ? 400 : 422);
  return filter;
}

export function createAuditLog(options: { db: Kysely<Database> }): AuditLog {
  const { db } = options;
  return {
    async list(filter) {
      const limit = filter.limit ?? DEFAULT_AUDIT_LIMIT;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) {
        throw new InputError(`limit: must be an integer from 1 to ${MAX_AUDIT_LIMIT}`, { status: 422, details: [{ path: 'limit', rule: 'range' }] });
      }
      if (filter.projects && filter.projects.length === 0) return { items: [] };
      let query = db.selectFrom('audit_records').selectAll();
      if (filter.projects) query = query.where('project', 'in', [...filter.projects]);
      if (filter.project !== undefined) query = query.where('project', '=', filter.project);
      if (filter.identity !== undefined) query = query.where('actor', '=', filter.identity);
      if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
      if (filter.action !== undefined) query = query.where('action', '=', filter.action);
      if (filter.since) query = query.where('at', '>=', filter.since);
      if (filter.until) query = query.where('at', '<', filter.until);
      if (filter.continue !== undefined) {
        const before = decodeContinue(filter.continue);
        if (before === undefined) throw new InputError('continue: not a token this API issued', { details: [{ path: 'continue', rule: 'format' }] });
        query = query.where('id', '<', before);
      }
      const rows = await query.orderBy('id', 'desc').limit(limit + 1).execute();
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { items: page.map(toAuditRecord), ...(rows.length > limit && last ? { continue: encodeContinue(String(last.id)) } : {}) };
    },
  };
}

function toAuditRecord(row: Selectable<AuditRecordsTable>): AuditRecord {
  return {
    id: String(row.id),
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    actorType: row.actor_type,
    token: row.token,
    action: row.action,
    kind: row.kind,
    project: row.project,
    name: row.name,
    outcome: row.outcome,
    status: row.status,
    requestId: row.request_id,
    source: row.source,
    detail: row.detail,
  };
}

function encodeContinue(id: string): string {
  return Buffer.from(JSON.stringify({ before: id })).toString('base64url');
}

/** The id a continue token points below, or undefined when it is not one this API issued. */
function decodeContinue(token: string): string | undefined {
  if (token.length > 200) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    const before = (parsed as { before?: unknown } | null)?.before;
    if (typeof before === 'string' && /^\d{1,18}$/.test(before)) return before;
  } catch {
    // not ours
  }
  return undefined;
}
