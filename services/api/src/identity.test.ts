/** Token authentication against real Postgres (own schema): hashing, identities, and the lookup cache. */
import { migrateToLatest } from '@tugboat/migrations';
import { isErrorCode } from '@tugboat/resource-model';
import { sql, type Kysely } from 'kysely';
import { TEST_DATABASE_URL, uniqueName } from './api-test-harness.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { createIdentityStore } from './identity.js';

describe('identity store', () => {
  const schema = uniqueName('identity_test');
  let database: OpenDatabase;

  beforeAll(async () => {
    database = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema, poolSize: 2 });
    expect((await migrateToLatest(database.db as unknown as Kysely<unknown>)).error).toBeUndefined();
  });
  afterAll(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
    await database.close();
  });

  it('asks the database once per token within the cache lifetime, and again after it', async () => {
    let clock = 1_000;
    const identities = createIdentityStore({ db: database.db, adminToken: 'admin-secret', cacheTtlMs: 5_000, now: () => clock });
    const { token } = await identities.createToken({ name: 'ci-bot', type: 'controller', controller: 'infra-controller' });
    const expected = { name: 'ci-bot', type: 'controller', controller: 'infra-controller', token: 'ci-bot' };
    expect((await identities.authenticate(`Bearer ${token}`)).identity).toEqual(expected);

    // Gone from the table: still trusted inside the lifetime, refused after it.
    await sql`delete from tokens`.execute(database.db);
    clock += 4_999;
    expect((await identities.authenticate(`Bearer ${token}`)).identity).toEqual(expected);
    clock += 2;
    const refused = await identities.authenticate(`Bearer ${token}`).catch((error: unknown) => error);
    expect(isErrorCode(refused, 'Unauthenticated')).toBe(true);
  });

  it('never remembers unknown tokens, and asks every time with the cache off', async () => {
    const identities = createIdentityStore({ db: database.db, adminToken: 'admin-secret', cacheTtlMs: 0 });
    const unknown = await identities.authenticate('Bearer tug_nope').catch((error: unknown) => error);
    expect(isErrorCode(unknown, 'Unauthenticated')).toBe(true);
    const { token } = await identities.createToken({ name: 'dev', type: 'user' });
    expect((await identities.authenticate(`Bearer ${token}`)).identity).toEqual({ name: 'dev', type: 'user', token: 'dev' });
    await sql`delete from tokens`.execute(database.db);
    const after = await identities.authenticate(`Bearer ${token}`).catch((error: unknown) => error);
    expect(isErrorCode(after, 'Unauthenticated')).toBe(true);
  });

  it('forgets the oldest token when full', async () => {
    let clock = 0;
    const identities = createIdentityStore({ db: database.db, adminToken: 'admin-secret', cacheSize: 1, now: () => clock });
    const first = (await identities.createToken({ name: 'first', type: 'user' })).token;
    const second = (await identities.createToken({ name: 'second', type: 'user' })).token;
    await identities.authenticate(`Bearer ${first}`);
    await identities.authenticate(`Bearer ${second}`);
    await sql`delete from tokens`.execute(database.db);
    clock += 1;
    expect((await identities.authenticate(`Bearer ${second}`)).identity).toEqual({ name: 'second', type: 'user', token: 'second' });
    const forgotten = await identities.authenticate(`Bearer ${first}`).catch((error: unknown) => error);
    expect(isErrorCode(forgotten, 'Unauthenticated')).toBe(true);
  });

  it('does not remember a token read while a revocation was being announced (the read may predate it)', async () => {
    const identities = createIdentityStore({ db: database.db, adminToken: 'admin-secret', cacheTtlMs: 60_000 });
    const { token } = await identities.createToken({ name: 'racing', type: 'user' });
    const reading = identities.authenticate(`Bearer ${token}`);
    identities.forget('racing');
    expect((await reading).identity).toEqual({ name: 'racing', type: 'user', token: 'racing' });
    await sql`update tokens set revoked_at = now() where name = 'racing'`.execute(database.db);
    const refused = await identities.authenticate(`Bearer ${token}`).catch((error: unknown) => error);
    expect(isErrorCode(refused, 'Unauthenticated')).toBe(true);
  });

  it('knows the admin token without the database and refuses a missing header', async () => {
    const identities = createIdentityStore({ db: database.db, adminToken: 'admin-secret' });
    expect((await identities.authenticate('Bearer admin-secret')).identity).toEqual({ name: 'admin', type: 'user' });
    const missing = await identities.authenticate(undefined).catch((error: unknown) => error);
    expect(isErrorCode(missing, 'Unauthenticated')).toBe(true);
  });
});
