/**
 * Who is calling: bearer tokens stored as SHA-256 hashes, each mapped to a user, a service account
 * or a controller, with an optional expiry, a last-used time, a revocation and one grant (a project
 * role or a platform role). A user's other roles come from the projects that name it a member.
 * The admin token from `TUGBOAT_ADMIN_TOKEN` is not stored; it is compared in constant time and is
 * a platform admin.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Logger } from 'pino';
import {
  ConflictError,
  InputError,
  isDnsLabel,
  NotFoundError,
  UnauthenticatedError,
  type CreatedToken,
  type Identity,
  type TokenSummary,
} from '@tugboat/resource-model';
import { addProjectRole, isBuiltInProjectRole, isPlatformRole, NO_GRANTS, roleRules, type Grants, type ProjectGrant } from './access.js';
import { jsonb } from './database.js';
import { createAuditTrail, type Actor, type AuditTrail } from './audit-trail.js';
import type { Database, TokensTable } from './database-schema.js';
import { DetailCollector } from './resource-input.js';
import { parseDateTime } from './date-time.js';
import { isJsonObject } from './json-value.js';

export type { Identity };

export const ADMIN_NAME = 'admin';

/** A token's use is written at most this often (per token, across replicas): no write per request. */
export const LAST_USED_INTERVAL_MS = 60_000;
/** The longest a token may live: a year. */
export const MAX_TOKEN_LIFETIME_MS = 365 * 24 * 3_600_000;
/** The shortest: a token that expires before it can be handed over is a mistake. */
export const MIN_TOKEN_LIFETIME_MS = 60_000;

/** Who a request comes from, and the grants they hold now. */
export interface Authenticated {
  identity: Identity;
  grants: Grants;
}

/** `'all'`, or only the tokens whose grant is in one of these projects (a project admin's view). */
export type TokenScope = 'all' | readonly string[];

export interface IdentityStore {
  authenticate(authorization: string | undefined): Promise<Authenticated>;
  /** `actor`: who asks (the audit record names them); `internal` without one. */
  createToken(input: unknown, actor?: Actor): Promise<CreatedToken>;
  /** Every stored token in `scope`, revoked ones included, by name; never a token or its hash. */
  listTokens(scope?: TokenScope): Promise<TokenSummary[]>;
  /**
   * Marks the token revoked (the row stays, for the audit trail) and forgets it here; revoking a
   * revoked token answers it unchanged; a token outside `scope` is not found. The caller announces
   * it to the other replicas.
   */
  revokeToken(name: string, scope?: TokenScope, actor?: Actor): Promise<TokenSummary>;
  /** Forgets what this process remembers of the token named `name` (a revocation elsewhere). */
  forget(name: string): void;
  /** Forgets every remembered token (revocations may have been missed while the bus was away). */
  forgetAll(): void;
  /**
   * Calls `listener` with a token's name when it is forgotten (revoked here or elsewhere), or with
   * `undefined` when every token is (`forgetAll`): what holds a request open (a watch) ends it.
   * Returns the unsubscribe function.
   */
  onForget(listener: (token: string | undefined) => void): () => void;
}

function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

export interface IdentityStoreOptions {
  db: Kysely<Database>;
  adminToken: string;
  /**
   * How long a token found in the database is trusted without asking again. Default 1 s, the bound
   * on how long a revocation takes on a replica that missed its announcement on the bus (the
   * announcement itself takes milliseconds); 0 asks on every request.
   */
  cacheTtlMs?: number;
  /** Most tokens remembered at once; the oldest is forgotten first. Default 10 000. */
  cacheSize?: number;
  /** The clock of expiry, last use and revocation (tests move it). */
  now?: () => number;
  /** Where a failed last-used write is reported (it never fails the request). */
  logger?: Logger;
  /** Where token creation and revocation record themselves, in their transaction. Default: a trail of its own. */
  audit?: AuditTrail;
}

interface Remembered {
  identity: Identity;
  grants: Grants;
  until: number;
  expiresAt: number | undefined;
  /** When this token's use was last written (or read from its row), ms. */
  lastUsedAt: number | undefined;
}

type TokenRow = Pick<
  Selectable<TokensTable>,
  'name' | 'type' | 'controller' | 'subject' | 'project' | 'role' | 'created_at' | 'expires_at' | 'last_used_at' | 'revoked_at'
>;

const SUMMARY_COLUMNS = ['name', 'type', 'controller', 'subject', 'project', 'role', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'] as const;

const ADMIN_GRANTS: Grants = { platform: 'platform-admin', projects: new Map() };

function identityOf(row: Pick<TokenRow, 'name' | 'type' | 'controller' | 'subject'>): Identity {
  if (row.type === 'controller') return { name: row.name, type: 'controller', controller: row.controller ?? row.name, token: row.name };
  if (row.type === 'serviceaccount') return { name: row.name, type: 'serviceaccount', token: row.name };
  return { name: row.subject ?? row.name, type: 'user', token: row.name };
}

function iso(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

function summaryOf(row: TokenRow): TokenSummary {
  return {
    name: row.name,
    type: row.type,
    controller: row.type === 'controller' ? (row.controller ?? row.name) : null,
    user: row.type === 'user' ? (row.subject ?? row.name) : null,
    project: row.project,
    role: row.role,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}

const DURATION_UNITS_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `expiresIn` / `expiresAt` of a create, as an absolute time (ms), or undefined for no expiry. */
function parseExpiry(body: Record<string, unknown>, nowMs: number, problems: DetailCollector): number | undefined {
  const expiresIn = body['expiresIn'];
  const expiresAt = body['expiresAt'];
  if (expiresIn !== undefined && expiresAt !== undefined) {
    problems.add('expiresAt', 'exclusive', 'give expiresIn or expiresAt, not both');
    return undefined;
  }
  const bounds = (path: string, at: number): number | undefined => {
    if (at - nowMs < MIN_TOKEN_LIFETIME_MS) problems.add(path, 'minimum', 'must be at least a minute ahead');
    else if (at - nowMs > MAX_TOKEN_LIFETIME_MS) problems.add(path, 'maximum', 'must be at most a year (365d) ahead');
    else return at;
    return undefined;
  };
  if (expiresIn !== undefined) {
    const match = typeof expiresIn === 'string' ? /^(\d{1,6})([mhd])$/.exec(expiresIn) : null;
    if (!match) {
      problems.add('expiresIn', 'duration', 'must be a whole number of minutes, hours or days, e.g. 90m, 12h, 30d');
      return undefined;
    }
    return bounds('expiresIn', nowMs + Number(match[1]) * DURATION_UNITS_MS[match[2]!]!);
  }
  if (expiresAt !== undefined) {
    const at = parseDateTime(expiresAt);
    if (at === undefined) {
      problems.add('expiresAt', 'date-time', 'must be an RFC 3339 time (a real date), e.g. 2027-01-31T00:00:00Z');
      return undefined;
    }
    return bounds('expiresAt', at);
  }
  return undefined;
}

/** The token type a create asks for: given, or inferred from its other fields. */
export function tokenTypeOf(body: Record<string, unknown>): unknown {
  if (body['type'] !== undefined) return body['type'];
  if (body['controller'] !== undefined) return 'controller';
  if (body['user'] !== undefined) return 'user';
  if (body['project'] !== undefined || body['role'] !== undefined) return 'serviceaccount';
  return undefined;
}

export function createIdentityStore(options: IdentityStoreOptions): IdentityStore {
  const { db } = options;
  const audit = options.audit ?? createAuditTrail();
  const adminHash = Buffer.from(hashToken(options.adminToken), 'hex');
  const cacheTtlMs = options.cacheTtlMs ?? 1_000;
  const cacheSize = options.cacheSize ?? 10_000;
  const now = options.now ?? Date.now;
  // Only known, working tokens are remembered, so unknown ones cannot crowd them out.
  const known = new Map<string, Remembered>();
  // Bumped by every forget: a lookup that overlapped one may have read the row before the
  // revocation committed, so it must not remember what it read.
  let forgets = 0;
  const forgetListeners = new Set<(token: string | undefined) => void>();

  function forget(name: string): void {
    forgets++;
    for (const [hash, entry] of known) if (entry.identity.token === name) known.delete(hash);
    for (const listener of [...forgetListeners]) listener(name);
  }

  function recordUse(hash: string, entry: Remembered, at: number): void {
    if (entry.lastUsedAt !== undefined && at - entry.lastUsedAt < LAST_USED_INTERVAL_MS) return;
    entry.lastUsedAt = at;
    // Not awaited: the request does not wait on bookkeeping. The condition keeps replicas (and this
    // one, after its cache lapses) from writing more than once a minute between them.
    db.updateTable('tokens')
      .set({ last_used_at: new Date(at) })
      .where('token_hash', '=', hash)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', new Date(at - LAST_USED_INTERVAL_MS))]))
      .execute()
      .catch((error: unknown) => options.logger?.warn({ err: (error as Error).message, token: entry.identity.name }, 'could not record the token\'s last use'));
  }

  /**
   * The grants of a token's row, read now: its own grant, and for a user token the roles of every
   * project naming its user a member. A role a project no longer defines grants nothing.
   */
  async function grantsOf(row: TokenRow): Promise<Grants> {
    if (row.type === 'controller') return NO_GRANTS;
    const platform = row.project === null && isPlatformRole(row.role) ? row.role : undefined;
    const user = row.type === 'user' ? (row.subject ?? row.name) : undefined;
    if (user === undefined && row.project === null) return platform ? { platform, projects: new Map() } : NO_GRANTS;
    const projects = await db
      .selectFrom('resources')
      .select(['name', 'spec'])
      .where('kind', '=', 'Project')
      .where('project', '=', '')
      .where((eb) => {
        const either = [];
        if (row.project !== null) either.push(eb('name', '=', row.project));
        if (user !== undefined) either.push(sql<boolean>`spec -> 'members' @> ${jsonb([{ user }])}`);
        return eb.or(either);
      })
      .execute();
    const granted = new Map<string, ProjectGrant>();
    for (const project of projects) {
      const spec = project.spec as Record<string, unknown>;
      if (user !== undefined && Array.isArray(spec['members'])) {
        for (const member of spec['members'] as Array<{ user?: unknown; role?: unknown }>) {
          if (member?.user === user && typeof member.role === 'string') addProjectRole(granted, project.name, member.role, spec);
        }
      }
      if (project.name === row.project && row.role !== null) addProjectRole(granted, project.name, row.role, spec);
    }
    return { ...(platform ? { platform } : {}), projects: granted };
  }

  function admit(hash: string, entry: Remembered): Authenticated {
    const at = now();
    if (entry.expiresAt !== undefined && entry.expiresAt <= at) {
      known.delete(hash);
      throw new UnauthenticatedError(`token "${entry.identity.name}" expired at ${new Date(entry.expiresAt).toISOString()}; the admin can create a new one`, {
        details: [{ path: 'authorization', rule: 'expired' }],
      });
    }
    recordUse(hash, entry, at);
    return { identity: { ...entry.identity }, grants: entry.grants };
  }

  return {
    async authenticate(authorization) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!match) throw new UnauthenticatedError('missing bearer token (Authorization: Bearer <token>)');
      const hash = hashToken(match[1]!);
      if (timingSafeEqual(Buffer.from(hash, 'hex'), adminHash)) return { identity: { name: ADMIN_NAME, type: 'user' }, grants: ADMIN_GRANTS };
      const cached = known.get(hash);
      if (cached && cached.until > now()) return admit(hash, cached);
      const lookup = forgets;
      const row = await db.selectFrom('tokens').select(SUMMARY_COLUMNS).where('token_hash', '=', hash).executeTakeFirst();
      if (!row) {
        known.delete(hash);
        throw new UnauthenticatedError('unknown token');
      }
      if (row.revoked_at !== null) {
        known.delete(hash);
        throw new UnauthenticatedError(`token "${row.name}" was revoked at ${new Date(row.revoked_at).toISOString()}; the admin can create a new one`, {
          details: [{ path: 'authorization', rule: 'revoked' }],
        });
      }
      const entry: Remembered = {
        identity: identityOf(row),
        grants: await grantsOf(row),
        until: now() + cacheTtlMs,
        expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at).getTime(),
        lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at).getTime(),
      };
      known.delete(hash);
      if (cacheTtlMs > 0 && lookup === forgets) {
        if (known.size >= cacheSize) known.delete(known.keys().next().value!);
        known.set(hash, entry);
      }
      return admit(hash, entry);
    },

    async createToken(input, actor) {
      const problems = new DetailCollector();
      if (!isJsonObject(input)) {
        problems.add('body', 'type', 'must be { name, project, role }, { name, user }, { name, role } or { name, controller }');
        problems.throwIfAny();
      }
      const body = input as Record<string, unknown>;
      const fields = ['name', 'type', 'controller', 'user', 'project', 'role', 'expiresIn', 'expiresAt'];
      for (const key of Object.keys(body)) if (!fields.includes(key)) problems.add(key, 'additionalProperties', 'unknown field');
      if (!isDnsLabel(body['name'])) problems.add('name', 'dns-label', 'must be a DNS label');
      else if (body['name'] === ADMIN_NAME) problems.add('name', 'reserved', 'is the bootstrap identity');
      const type = tokenTypeOf(body);
      if (type !== 'user' && type !== 'serviceaccount' && type !== 'controller') {
        problems.add('type', 'enum', 'must be user, serviceaccount or controller (or give user, controller, or project and role)');
      }
      if (body['controller'] !== undefined && (type !== 'controller' || !isDnsLabel(body['controller']))) {
        problems.add('controller', 'dns-label', 'only for controller identities, a DNS label');
      }
      if (body['user'] !== undefined && (type !== 'user' || !isDnsLabel(body['user']))) problems.add('user', 'dns-label', 'only for user tokens, a DNS label (the user\'s name)');
      const project = body['project'];
      const role = body['role'];
      if (type === 'controller') {
        if (project !== undefined) problems.add('project', 'controller', 'a controller\'s rights come from the kinds it owns: leave project out');
        if (role !== undefined) problems.add('role', 'controller', 'a controller\'s rights come from the kinds it owns: leave role out');
      } else {
        if (project !== undefined && !isDnsLabel(project)) problems.add('project', 'dns-label', 'must be a project name (a DNS label)');
        if (role !== undefined && !isDnsLabel(role)) problems.add('role', 'dns-label', 'must be a role name (a DNS label)');
        if (project !== undefined && role === undefined) problems.add('role', 'required', 'a token with a project needs a role in it (viewer, editor, admin or one the project defines)');
        if (project === undefined && role !== undefined && isDnsLabel(role) && !isPlatformRole(role)) {
          problems.add('role', 'platform-role', `without a project, the role must be one of platform-viewer, platform-editor, platform-admin${isBuiltInProjectRole(role) ? ` (for ${role}, give the project)` : ''}`);
        }
        if (project !== undefined && isPlatformRole(role)) problems.add('role', 'project-role', `${role} is a platform role: leave project out`);
        if (type === 'serviceaccount' && role === undefined) problems.add('role', 'required', 'a service account needs a grant: a project and a role, or a platform role');
      }
      const createdAt = now();
      const expiresAt = parseExpiry(body, createdAt, problems);
      problems.throwIfAny();
      if (typeof project === 'string') {
        // The role must exist in the project now (a role removed later grants nothing).
        const found = await db.selectFrom('resources').select('spec').where('kind', '=', 'Project').where('project', '=', '').where('name', '=', project).executeTakeFirst();
        if (!found) throw new InputError(`project: project "${project}" does not exist`, { status: 422, details: [{ path: 'project', rule: 'exists' }] });
        if (!roleRules(role as string, found.spec as Record<string, unknown>)) {
          throw new InputError(`role: project ${project} has no role "${role as string}" (viewer, editor, admin, or one its spec.roles defines)`, { status: 422, details: [{ path: 'role', rule: 'exists' }] });
        }
      }
      const name = body['name'] as string;
      const row = {
        name,
        type: type as TokenRow['type'],
        controller: type === 'controller' ? ((body['controller'] as string | undefined) ?? name) : null,
        subject: type === 'user' ? ((body['user'] as string | undefined) ?? name) : null,
        project: typeof project === 'string' ? project : null,
        role: typeof role === 'string' ? role : null,
      };
      const identity = identityOf(row);
      const token = `tug_${randomBytes(24).toString('base64url')}`;
      try {
        await db.transaction().execute(async (tx) => {
          await tx
            .insertInto('tokens')
            .values({
              token_hash: hashToken(token),
              ...row,
              // The same clock as the expiry, so a token's lifetime reads as it was asked for.
              created_at: new Date(createdAt),
              expires_at: expiresAt === undefined ? null : new Date(expiresAt),
            })
            .execute();
          // `name` is the token's (the object acted on); never the token itself.
          const detail = {
            type: row.type,
            ...(row.controller ? { controller: row.controller } : {}),
            ...(row.subject ? { user: row.subject } : {}),
            ...(row.role ? { role: row.role } : {}),
            ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
          };
          await audit.record(tx, { action: 'createToken', project: row.project ?? undefined, name, status: 201, detail }, audit.contextOf(actor));
        });
      } catch (error) {
        // The unique index on `name` (migration 0004): the token is stored hashed, so it cannot be shown again.
        if ((error as { code?: unknown }).code === '23505') {
          const taken = await db.selectFrom('tokens').select('revoked_at').where('name', '=', name).executeTakeFirst();
          const why = taken?.revoked_at ? ` (revoked at ${new Date(taken.revoked_at).toISOString()}; names are not reused, so the audit trail names one token)` : '';
          throw new ConflictError(`a token named "${name}" already exists${why}`, { cause: error, details: [{ path: 'name', rule: 'unique' }] });
        }
        throw error;
      }
      return { token, identity, expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString() };
    },

    async listTokens(scope = 'all') {
      if (scope !== 'all' && scope.length === 0) return [];
      let query = db.selectFrom('tokens').select(SUMMARY_COLUMNS);
      if (scope !== 'all') query = query.where('project', 'in', [...scope]);
      return (await query.orderBy('name').execute()).map(summaryOf);
    },

    async revokeToken(name, scope = 'all', actor) {
      if (name === ADMIN_NAME) {
        throw new InputError('name: the admin token is not stored and cannot be revoked: give the API a new TUGBOAT_ADMIN_TOKEN and restart it', {
          status: 422,
          details: [{ path: 'name', rule: 'reserved' }],
        });
      }
      // Names are DNS labels: anything else is not one, and costs no query.
      const shown = name.slice(0, 63);
      if (!isDnsLabel(name)) throw new NotFoundError(`no token named "${shown}" (tug token list shows them)`);
      // A token outside the caller's projects is not found: the answer does not say it exists.
      if (scope !== 'all' && scope.length === 0) throw new NotFoundError(`no token named "${name}" (tug token list shows them)`);
      const revoked = await db.transaction().execute(async (tx) => {
        let revoke = tx.updateTable('tokens').set({ revoked_at: new Date(now()) }).where('name', '=', name).where('revoked_at', 'is', null);
        if (scope !== 'all') revoke = revoke.where('project', 'in', [...scope]);
        const row = await revoke.returning(SUMMARY_COLUMNS).executeTakeFirst();
        // Revoking a revoked token changes nothing and records nothing.
        if (row) await audit.record(tx, { action: 'revokeToken', project: row.project ?? undefined, name }, audit.contextOf(actor));
        return row;
      });
      forget(name);
      if (revoked) return summaryOf(revoked);
      let find = db.selectFrom('tokens').select(SUMMARY_COLUMNS).where('name', '=', name);
      if (scope !== 'all') find = find.where('project', 'in', [...scope]);
      const row = await find.executeTakeFirst();
      if (!row) throw new NotFoundError(`no token named "${name}" (tug token list shows them)`);
      return summaryOf(row);
    },

    forget,

    forgetAll() {
      forgets++;
      known.clear();
      for (const listener of [...forgetListeners]) listener(undefined);
    },

    onForget(listener) {
      forgetListeners.add(listener);
      return () => forgetListeners.delete(listener);
    },
  };
}
