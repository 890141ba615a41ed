/**
 * A token's lifecycle against real Postgres and NATS, on an injected clock (no sleeps): expiry,
 * revocation with 401s that say which, a list that never shows a secret, the last use written at
 * most once a minute, and a revocation through one replica felt at once by another whose cache
 * would otherwise trust the token for ten minutes (the bus, not the cache lifetime, does it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createApiServer, type ApiServer } from './api-server.js';
import { ADMIN_TOKEN, startTestApi, TEST_DATABASE_URL, TEST_NATS_URL, waitUntil, type TestApi } from './api-test-harness.js';

const START = Date.parse('2027-03-01T12:00:00.000Z');

describe('token lifecycle', () => {
  let api: TestApi;
  let clock = START;

  beforeAll(async () => {
    api = await startTestApi({ identity: { now: () => clock } });
  });
  afterAll(async () => {
    await api?.close();
  });

  const whoami = (token: string) => api.call('GET', '/v1/whoami', undefined, { token });

  it('expires a token at the time it was given, and says so in the 401', async () => {
    clock = START;
    const created = await api.call('POST', '/v1/tokens', { name: 'short-lived', type: 'user', expiresIn: '2h' });
    expect(created.status).toBe(201);
    expect(created.body.expiresAt).toBe('2027-03-01T14:00:00.000Z');
    const at = await api.call('POST', '/v1/tokens', { name: 'until-may', controller: 'x-controller', expiresAt: '2027-05-01T00:00:00+02:00' });
    expect(at.body.expiresAt).toBe('2027-04-30T22:00:00.000Z');

    expect((await whoami(created.body.token)).status).toBe(200);
    clock = START + 2 * 3_600_000 - 1;
    expect((await whoami(created.body.token)).status).toBe(200);
    clock = START + 2 * 3_600_000;
    const expired = await whoami(created.body.token);
    expect(expired.status).toBe(401);
    expect(expired.body.error).toMatchObject({ code: 'Unauthenticated', details: [{ path: 'authorization', rule: 'expired' }] });
    expect(expired.body.error.message).toBe('token "short-lived" expired at 2027-03-01T14:00:00.000Z; the admin can create a new one');
    expect((await whoami(at.body.token)).status).toBe(200);
  });

  it('refuses a lifetime it cannot honour, naming the field and the rule', async () => {
    clock = START;
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ expiresIn: '30s' }, 'expiresIn', 'duration'],
      [{ expiresIn: 30 }, 'expiresIn', 'duration'],
      [{ expiresIn: '0m' }, 'expiresIn', 'minimum'],
      [{ expiresIn: '366d' }, 'expiresIn', 'maximum'],
      [{ expiresIn: '9999999d' }, 'expiresIn', 'duration'],
      [{ expiresAt: 'tomorrow' }, 'expiresAt', 'date-time'],
      [{ expiresAt: '2027-02-01T00:00:00Z' }, 'expiresAt', 'minimum'],
      [{ expiresAt: '2028-03-02T00:00:00Z' }, 'expiresAt', 'maximum'],
      [{ expiresIn: '1d', expiresAt: '2027-04-01T00:00:00Z' }, 'expiresAt', 'exclusive'],
      [{ expiresIn: `${'9'.repeat(5_000)}d` }, 'expiresIn', 'duration'],
      [{ expiresAt: `2027-04-01T00:00:00.${'0'.repeat(5_000)}Z` }, 'expiresAt', 'date-time'],
      [{ expiresAt: { $gt: 0 } }, 'expiresAt', 'date-time'],
    ];
    for (const [expiry, path, rule] of cases) {
      const answer = await api.call('POST', '/v1/tokens', { name: 'bad-expiry', type: 'user', ...expiry });
      expect({ expiry, status: answer.status, details: answer.body.error.details }).toEqual({ expiry, status: 422, details: [{ path, rule }] });
    }
    expect((await api.call('POST', '/v1/tokens', { name: 'year', type: 'user', expiresIn: '365d' })).status).toBe(201);
  });

  it('revokes a token: 401 saying when, at once; the row and its name stay; admin only', async () => {
    clock = START;
    const created = await api.call('POST', '/v1/tokens', { name: 'ci-pipeline', type: 'user' });
    expect((await whoami(created.body.token)).status).toBe(200); // now remembered by this replica

    const other = (await api.call('POST', '/v1/tokens', { name: 'not-admin', type: 'user' })).body.token;
    expect((await api.call('DELETE', '/v1/tokens/ci-pipeline', undefined, { token: other })).status).toBe(403);
    expect((await api.call('GET', '/v1/tokens', undefined, { token: other })).status).toBe(403);

    clock = START + 5_000;
    const revoked = await api.call('DELETE', '/v1/tokens/ci-pipeline');
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ name: 'ci-pipeline', type: 'user', controller: null, revokedAt: '2027-03-01T12:00:05.000Z' });
    const refused = await whoami(created.body.token);
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toBe('token "ci-pipeline" was revoked at 2027-03-01T12:00:05.000Z; the admin can create a new one');
    expect(refused.body.error.details).toEqual([{ path: 'authorization', rule: 'revoked' }]);

    clock = START + 9_000;
    expect((await api.call('DELETE', '/v1/tokens/ci-pipeline')).body.revokedAt).toBe('2027-03-01T12:00:05.000Z');
    const unknown = await api.call('DELETE', '/v1/tokens/never-made');
    expect([unknown.status, unknown.body.error.message]).toEqual([404, 'no token named "never-made" (tug token list shows them)']);
    expect((await api.call('DELETE', `/v1/tokens/${'x'.repeat(2_000)}`)).status).toBe(404);
    expect((await api.call('DELETE', '/v1/tokens/Not_A_Label')).status).toBe(404);
    expect((await api.call('DELETE', '/v1/tokens/admin')).body.error.details).toEqual([{ path: 'name', rule: 'reserved' }]);
    const again = await api.call('POST', '/v1/tokens', { name: 'ci-pipeline', type: 'user' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain('revoked at 2027-03-01T12:00:05.000Z; names are not reused');
  });

  it('lists every token with its times and never the token or its hash', async () => {
    clock = START;
    const created = await api.call('POST', '/v1/tokens', { name: 'listed', controller: 'list-controller', expiresIn: '30d' });
    const listed = await api.call('GET', '/v1/tokens');
    expect(listed.status).toBe(200);
    const text = JSON.stringify(listed.body);
    const token: string = created.body.token;
    expect(text).not.toContain(token);
    expect(text).not.toContain(createHash('sha256').update(token).digest('hex'));
    const names = listed.body.items.map((item: { name: string }) => item.name);
    expect(names).toEqual([...names].sort());
    for (const item of listed.body.items) expect(Object.keys(item).sort()).toEqual(['controller', 'createdAt', 'expiresAt', 'lastUsedAt', 'name', 'project', 'revokedAt', 'role', 'type', 'user']);
    expect(listed.body.items.find((item: { name: string }) => item.name === 'listed')).toEqual({
      name: 'listed',
      type: 'controller',
      controller: 'list-controller',
      user: null,
      project: null,
      role: null,
      createdAt: '2027-03-01T12:00:00.000Z',
      expiresAt: '2027-03-31T12:00:00.000Z',
      lastUsedAt: null,
      revokedAt: null,
    });
  });

  it('records the last use at most once a minute', async () => {
    clock = START;
    const { token } = (await api.call('POST', '/v1/tokens', { name: 'busy', type: 'user' })).body;
    const lastUsed = async () => (await api.sql<{ at: Date | null }>('select last_used_at as at from tokens where name = $1', ['busy']))[0]!.at?.toISOString();
    expect(await lastUsed()).toBeUndefined();
    clock = START + 1_000;
    await whoami(token);
    await waitUntil(async () => (await lastUsed()) === '2027-03-01T12:00:01.000Z', 'the first use recorded');
    // Inside the minute: from the cache, and past the cache's lifetime from the row; no write.
    for (const offset of [1_500, 2_000, 30_000, 60_999]) {
      clock = START + offset;
      expect((await whoami(token)).status).toBe(200);
    }
    clock = START + 61_000;
    await whoami(token);
    await waitUntil(async () => (await lastUsed()) === '2027-03-01T12:01:01.000Z', 'the use a minute later recorded');
    const listed = (await api.call('GET', '/v1/tokens')).body.items.find((item: { name: string }) => item.name === 'busy');
    expect(listed.lastUsedAt).toBe('2027-03-01T12:01:01.000Z');
  });

  it('makes a revocation through one replica felt by another at once, though its cache would trust the token for 10 minutes', async () => {
    const replicaOptions = {
      databaseUrl: TEST_DATABASE_URL,
      natsUrl: TEST_NATS_URL,
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN_TOKEN,
      secretKeys: [{ id: 'test-1', key: randomBytes(32) }],
      logger: pino({ level: 'silent' }),
      relay: { enabled: false },
      retention: { enabled: false },
      identity: { cacheTtlMs: 600_000 },
    };
    let replica: ApiServer | undefined;
    let writer: ApiServer | undefined;
    try {
      replica = createApiServer({ ...replicaOptions, schema: api.schema, prefix: api.prefix });
      writer = createApiServer({ ...replicaOptions, schema: api.schema, prefix: api.prefix });
      const [{ url: replicaUrl }, { url: writerUrl }] = await Promise.all([replica.start(), writer.start()]);
      const headers = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
      const created = await fetch(`${writerUrl}/v1/tokens`, { method: 'POST', headers: headers(ADMIN_TOKEN), body: JSON.stringify({ name: 'two-replicas', type: 'user' }) });
      const { token } = (await created.json()) as { token: string };
      expect((await fetch(`${replicaUrl}/v1/whoami`, { headers: headers(token) })).status).toBe(200); // remembered for 10 minutes

      const revokedAt = performance.now();
      expect((await fetch(`${writerUrl}/v1/tokens/two-replicas`, { method: 'DELETE', headers: headers(ADMIN_TOKEN) })).status).toBe(200);
      await waitUntil(async () => (await fetch(`${replicaUrl}/v1/whoami`, { headers: headers(token) })).status === 401, 'the other replica to refuse the token', 1_000);
      expect(performance.now() - revokedAt).toBeLessThan(1_000);
    } finally {
      await replica?.stop();
      await writer?.stop();
    }
  });
});
