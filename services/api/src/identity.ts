/**
 * Who is calling: bearer tokens stored as SHA-256 hashes, each mapped to a user or a controller.
 * The admin token from `TUGBOAT_ADMIN_TOKEN` is not stored; it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ConflictError, isDnsLabel, UnauthenticatedError, type Identity } from '@tugboat/resource-model';
import type { Database } from './database-schema.js';
import { DetailCollector } from './resource-input.js';
import { isJsonObject } from './json-value.js';

export type { Identity };

export const ADMIN_NAME = 'admin';

export interface IdentityStore {
  authenticate(authorization: string | undefined): Promise<Identity>;
  createToken(input: unknown): Promise<{ token: string; identity: Identity }>;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface IdentityStoreOptions {
  db: Kysely<Database>;
  adminToken: string;
  /**
   * How long a token found in the database is trusted without asking again. Default 10 s; 0 asks
   * on every request. Saves a query per request; a token removed from the table (there is no API
   * for that yet) keeps working for at most this long in each API process.
   */
  cacheTtlMs?: number;
  /** Most tokens remembered at once; the oldest is forgotten first. Default 10 000. */
  cacheSize?: number;
  now?: () => number;
}

export function createIdentityStore(options: IdentityStoreOptions): IdentityStore {
  const { db } = options;
  const adminHash = Buffer.from(hashToken(options.adminToken), 'hex');
  const cacheTtlMs = options.cacheTtlMs ?? 10_000;
  const cacheSize = options.cacheSize ?? 10_000;
  const now = options.now ?? Date.now;
  // Only known tokens are remembered, so unknown ones cannot crowd them out.
  const known = new Map<string, { identity: Identity; until: number }>();
  return {
    async authenticate(authorization) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!match) throw new UnauthenticatedError('missing bearer token (Authorization: Bearer <token>)');
      const hash = hashToken(match[1]!);
      if (timingSafeEqual(Buffer.from(hash, 'hex'), adminHash)) return { name: ADMIN_NAME, type: 'user' };
      const cached = known.get(hash);
      if (cached && cached.until > now()) return { ...cached.identity };
      const row = await db.selectFrom('tokens').select(['name', 'type', 'controller']).where('token_hash', '=', hash).executeTakeFirst();
      if (!row) {
        known.delete(hash);
        throw new UnauthenticatedError('unknown token');
      }
      const identity: Identity = row.type === 'controller' ? { name: row.name, type: 'controller', controller: row.controller ?? row.name } : { name: row.name, type: 'user' };
      if (cacheTtlMs > 0) {
        known.delete(hash);
        if (known.size >= cacheSize) known.delete(known.keys().next().value!);
        known.set(hash, { identity, until: now() + cacheTtlMs });
      }
      return { ...identity };
    },
    async createToken(input) {
      const problems = new DetailCollector();
      if (!isJsonObject(input)) {
        problems.add('body', 'type', 'must be { name, controller } or { name, type }');
        problems.throwIfAny();
      }
      const body = input as Record<string, unknown>;
      for (const key of Object.keys(body)) if (!['name', 'type', 'controller'].includes(key)) problems.add(key, 'additionalProperties', 'unknown field');
      if (!isDnsLabel(body['name'])) problems.add('name', 'dns-label', 'must be a DNS label');
      else if (body['name'] === ADMIN_NAME) problems.add('name', 'reserved', 'is the bootstrap identity');
      // `controller` alone is enough (`tug token create NAME --controller C`); `type` stays accepted.
      const type = body['type'] ?? (body['controller'] !== undefined ? 'controller' : undefined);
      if (type !== 'user' && type !== 'controller') problems.add('type', 'enum', 'must be user or controller (or give controller)');
      if (body['controller'] !== undefined && (type !== 'controller' || !isDnsLabel(body['controller']))) {
        problems.add('controller', 'dns-label', 'only for controller identities, a DNS label');
      }
      problems.throwIfAny();
      const name = body['name'] as string;
      const identity: Identity =
        type === 'controller' ? { name, type: 'controller', controller: (body['controller'] as string | undefined) ?? name } : { name, type: 'user' };
      const token = `tug_${randomBytes(24).toString('base64url')}`;
      try {
        await db
          .insertInto('tokens')
          .values({ token_hash: hashToken(token), name, type: identity.type, controller: identity.controller ?? null })
          .execute();
      } catch (error) {
        // The unique index on `name` (migration 0003): the token is stored hashed, so it cannot be shown again.
        if ((error as { code?: unknown }).code === '23505') {
          throw new ConflictError(`a token named "${name}" already exists`, { cause: error, details: [{ path: 'name', rule: 'unique' }] });
        }
        throw error;
      }
      return { token, identity };
    },
  };
}
