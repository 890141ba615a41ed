/**
 * `POST /v1/tokens` (what `tug token create` calls) against real Postgres and NATS: the admin
 * creates a controller identity by `{ name, controller }`; the token is stored hashed and shown
 * once; a duplicate name is 409 and bad input a 4xx naming the field.
 */
import { createHash } from 'node:crypto';
import { startTestApi, type TestApi } from './api-test-harness.js';

describe('POST /v1/tokens', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ projects: ['team-a', 'team-b', 'team-m', 'team-z', 'p', 'p-one', 'p-two'] });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('creates a controller token from name and controller, stored hashed, working at once', async () => {
    const created = await api.call('POST', '/v1/tokens', { name: 'deploy-bot', controller: 'deploy-controller' });
    expect(created.status).toBe(201);
    expect(created.body.identity).toEqual({ name: 'deploy-bot', type: 'controller', controller: 'deploy-controller', token: 'deploy-bot' });
    const token: string = created.body.token;
    expect(token).toMatch(/^tug_[\w-]{32}$/);
    const rows = await api.sql('select token_hash from tokens where name = $1', ['deploy-bot']);
    expect(rows).toEqual([{ token_hash: createHash('sha256').update(token).digest('hex') }]);
    expect((await api.call('GET', '/v1/whoami', undefined, { token })).body).toEqual({ ...created.body.identity, roles: [] });
  });

  it('answers 409 for a name already taken, and keeps the first token', async () => {
    const first = await api.call('POST', '/v1/tokens', { name: 'twice', controller: 'infra-controller' });
    expect(first.status).toBe(201);
    const second = await api.call('POST', '/v1/tokens', { name: 'twice', controller: 'other-controller' });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'Conflict', details: [{ path: 'name', rule: 'unique' }] });
    expect(second.body.error.message).toContain('"twice" already exists');
    expect((await api.call('GET', '/v1/whoami', undefined, { token: first.body.token })).body.controller).toBe('infra-controller');
  });

  it('names the field of bad input, and keeps it to the admin', async () => {
    const cases: Array<[unknown, string, string]> = [
      [{ controller: 'x-controller' }, 'name', 'dns-label'],
      [{ name: 'Not_A_Label', controller: 'x-controller' }, 'name', 'dns-label'],
      [{ name: 'admin', controller: 'x-controller' }, 'name', 'reserved'],
      [{ name: 'ok' }, 'type', 'enum'],
      [{ name: 'ok', controller: 'Bad Name' }, 'controller', 'dns-label'],
      [{ name: 'ok', type: 'user', controller: 'x-controller' }, 'controller', 'dns-label'],
      [{ name: 'ok', controller: 'x-controller', project: 'team-a' }, 'project', 'controller'],
      [{ name: 'ok', project: 'team-a' }, 'role', 'required'],
      [{ name: 'ok', role: 'editor' }, 'role', 'platform-role'],
      [{ name: 'ok', project: 'team-a', role: 'platform-admin' }, 'role', 'project-role'],
      [{ name: 'ok', project: 'no-such-project', role: 'editor' }, 'project', 'exists'],
      [{ name: 'ok', project: 'team-a', role: 'no-such-role' }, 'role', 'exists'],
      [{ name: 'ok', user: 'Bad User' }, 'user', 'dns-label'],
      [{ name: 'ok', nope: 1, type: 'user' }, 'nope', 'additionalProperties'],
      [['ok'], 'body', 'type'],
    ];
    for (const [body, path, rule] of cases) {
      const answer = await api.call('POST', '/v1/tokens', body);
      expect([answer.status, answer.body.error.details]).toEqual([422, expect.arrayContaining([expect.objectContaining({ path, rule })])]);
    }
    const controller = (await api.call('POST', '/v1/tokens', { name: 'some-controller', controller: 'some-controller' })).body.token;
    const refused = await api.call('POST', '/v1/tokens', { name: 'sneaky', controller: 'some-controller' }, { token: controller });
    expect(refused.status).toBe(403);
  });
});
