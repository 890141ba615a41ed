/**
 * The audit trail against real Postgres and NATS: every mutation and secret read leaves exactly one
 * record naming who, which token, what, how it ended, the request id and the source address; a
 * change that rolls back leaves none, and a record that cannot be written stops the change (and
 * the secret read); refused and failed attempts are recorded on their own; `GET /v1/audit` filters,
 * pages and refuses hostile input; retention prunes by age alone, on an injected clock.
 */
import { pino } from 'pino';
import { startTestApi, uniqueName, waitUntil, type TestApi } from './api-test-harness.js';
import { createAuditLog } from './audit-log.js';
import { createRetentionJob, RETENTION_DEFAULTS } from './retention-job.js';

let api: TestApi;
let devToken: string;
let controllerToken: string;
let outsiderToken: string;
let requests = 0;

const KIND = {
  kind: 'Vault',
  plural: 'vaults',
  singular: 'vault',
  shortNames: ['vt'],
  scope: 'Project',
  controller: 'vault-controller',
  schema: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, password: { type: 'string' } } },
  references: [],
  secretFields: ['password'],
};

beforeAll(async () => {
  api = await startTestApi();
  // dev edits every project of these tests and administers team-f (whose audit trail it may read).
  for (const project of ['team-a', 'team-b', 'team-c', 'team-d', 'team-e', 'team-f', 'team-g']) {
    const members = [{ user: 'dev', role: project === 'team-f' ? 'admin' : 'editor' }];
    expect((await api.call('POST', '/v1/projects', { kind: 'Project', metadata: { name: project }, spec: { members } })).status).toBe(201);
  }
  devToken = (await api.call('POST', '/v1/tokens', { name: 'dev', type: 'user' })).body.token;
  outsiderToken = (await api.call('POST', '/v1/tokens', { name: 'outsider', type: 'user' })).body.token;
  controllerToken = (await api.call('POST', '/v1/tokens', { name: 'vault-bot', controller: 'vault-controller' })).body.token;
  expect((await api.call('POST', '/v1/kinds', KIND)).status).toBe(201);
});
afterAll(async () => {
  await api?.close();
});

/** A call with its own request id; answers the id with the answer. */
async function traced(method: string, path: string, body?: unknown, token?: string | null) {
  const requestId = `audit-${process.pid}-${++requests}`;
  const answer = await api.call(method, path, body, { token: token === undefined ? undefined : token, headers: { 'x-request-id': requestId } } as never);
  return { ...answer, requestId };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows read loosely
async function recordsOf(requestId: string): Promise<any[]> {
  return api.sql('select * from audit_records where request_id = $1 order by id', [requestId]);
}

async function theRecordOf(requestId: string) {
  const rows = await recordsOf(requestId);
  expect(rows).toHaveLength(1);
  return rows[0];
}

describe('every mutation and secret read leaves one record in its transaction', () => {
  it('records create, update, patch, status, events, controls, secret reads, finalizers and delete with who, token, what, outcome, request and source', async () => {
    const object = { kind: 'Vault', project: 'team-a', name: 'v1' };
    const expectRecord = async (requestId: string, action: string, actor: string, extra: Record<string, unknown> = {}) => {
      const row = await theRecordOf(requestId);
      expect(row).toMatchObject({ action, actor, token: actor === 'admin' ? null : actor, outcome: 'success', request_id: requestId, ...object, ...extra });
      expect(row.actor_type).toBe(actor === 'vault-bot' ? 'controller' : 'user');
      expect(row.source).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
      expect(Date.now() - new Date(row.at).getTime()).toBeLessThan(60_000);
      return row;
    };

    const created = await traced('POST', '/v1/vaults', { metadata: { name: 'v1', project: 'team-a' }, spec: { size: 1, password: 'pw-canary-1' } }, devToken);
    expect(created.status).toBe(201);
    await expectRecord(created.requestId, 'create', 'dev', { status: 201 });

    const replaced = await traced('PUT', '/v1/vaults/v1?project=team-a', { metadata: { name: 'v1', project: 'team-a' }, spec: { size: 2, password: 'pw-canary-1' } }, devToken);
    expect(replaced.status).toBe(200);
    await expectRecord(replaced.requestId, 'update', 'dev');

    const patched = await traced('PATCH', '/v1/vaults/v1?project=team-a', { spec: { size: 3 } }, devToken);
    expect(patched.status).toBe(200);
    await expectRecord(patched.requestId, 'patch', 'dev');

    // A write that changes nothing is no mutation: no record.
    const same = await traced('PATCH', '/v1/vaults/v1?project=team-a', { spec: { size: 3 } }, devToken);
    expect(same.status).toBe(200);
    expect(await recordsOf(same.requestId)).toEqual([]);

    const status = await traced('PUT', '/v1/vaults/v1/status?project=team-a', { status: { phase: 'Ready' } }, controllerToken);
    expect(status.status).toBe(200);
    await expectRecord(status.requestId, 'writeStatus', 'vault-bot');

    const event = await traced('POST', '/v1/vaults/v1/events?project=team-a', { type: 'Normal', reason: 'Sealed', message: 'sealed with pw-canary-1' }, controllerToken);
    expect(event.status).toBe(201);
    const eventRecord = await expectRecord(event.requestId, 'writeEvent', 'vault-bot', { status: 201 });
    expect(JSON.stringify(eventRecord.detail)).not.toContain('canary');

    for (const control of ['suspend', 'resume', 'reconcile']) {
      const answer = await traced('POST', `/v1/vaults/v1/${control}?project=team-a`, undefined, devToken);
      expect(answer.status).toBe(200);
      await expectRecord(answer.requestId, control, 'dev');
    }

    const secrets = await traced('GET', '/v1/vaults/v1/secrets?project=team-a', undefined, controllerToken);
    expect(secrets.body).toEqual({ password: 'pw-canary-1' });
    const secretRecord = await expectRecord(secrets.requestId, 'readSecrets', 'vault-bot');
    expect(JSON.stringify(secretRecord)).not.toContain('canary');

    const deleted = await traced('DELETE', '/v1/vaults/v1?project=team-a', undefined, devToken);
    expect(deleted.status).toBe(202);
    await expectRecord(deleted.requestId, 'delete', 'dev');

    const released = await traced('DELETE', '/v1/vaults/v1/finalizers/vault-controller?project=team-a', undefined, controllerToken);
    expect(released.body).toEqual({ deleted: true });
    await expectRecord(released.requestId, 'removeFinalizer', 'vault-bot', { detail: { finalizer: 'vault-controller' } });

    // The admin's force-removal, on a second object.
    await api.call('POST', '/v1/vaults', { metadata: { name: 'v2', project: 'team-a' }, spec: { size: 1 } });
    await api.call('DELETE', '/v1/vaults/v2?project=team-a');
    const forced = await traced('DELETE', '/v1/vaults/v2/finalizers/vault-controller?project=team-a&force=true');
    expect(forced.body).toEqual({ deleted: true });
    const forcedRecord = await theRecordOf(forced.requestId);
    expect(forcedRecord).toMatchObject({ action: 'forceRemoveFinalizer', actor: 'admin', token: null, actor_type: 'user', name: 'v2', detail: { finalizer: 'vault-controller' } });
  });

  it('names, in the one record of a delete, the other objects it changed', async () => {
    await api.call('POST', '/v1/vaults', { metadata: { name: 'parent', project: 'team-a' }, spec: { size: 1 } });
    const child = await api.call('POST', '/v1/vaults', { metadata: { name: 'child', project: 'team-a', ownerReferences: [{ kind: 'Vault', name: 'parent' }] }, spec: { size: 1 } });
    expect(child.status).toBe(201);
    const deleted = await traced('DELETE', '/v1/vaults/parent?project=team-a', undefined, devToken);
    expect(deleted.status).toBe(202);
    expect(await theRecordOf(deleted.requestId)).toMatchObject({ action: 'delete', name: 'parent', detail: { alsoChanged: ['Vault/team-a/child'], alsoChangedCount: 1 } });
  });

  it('records kind registration, update and delete, and token creation and revocation', async () => {
    const names = { kind: 'Gizmo', plural: 'gizmos' };
    const definition = { ...names, scope: 'Project', controller: 'gizmo-controller', schema: { type: 'object', properties: { size: { type: 'integer' } } } };
    const registered = await traced('POST', '/v1/kinds', definition);
    expect(registered.status).toBe(201);
    expect(await theRecordOf(registered.requestId)).toMatchObject({ action: 'registerKind', kind: 'Gizmo', name: null, project: null, actor: 'admin', status: 201 });
    const updated = await traced('PUT', '/v1/kinds/Gizmo', { ...definition, schema: { type: 'object', properties: { size: { type: 'integer' }, colour: { type: 'string' } } } });
    expect(updated.status).toBe(200);
    expect(await theRecordOf(updated.requestId)).toMatchObject({ action: 'updateKind', kind: 'Gizmo' });
    const unchanged = await traced('PUT', '/v1/kinds/Gizmo', { ...definition, schema: { type: 'object', properties: { size: { type: 'integer' }, colour: { type: 'string' } } } });
    expect(unchanged.status).toBe(200);
    expect(await recordsOf(unchanged.requestId)).toEqual([]);
    const removed = await traced('DELETE', '/v1/kinds/Gizmo');
    expect(removed.status).toBe(200);
    expect(await theRecordOf(removed.requestId)).toMatchObject({ action: 'deleteKind', kind: 'Gizmo' });

    const created = await traced('POST', '/v1/tokens', { name: 'ci-audit', type: 'user', expiresIn: '30d' });
    expect(created.status).toBe(201);
    const createdRecord = await theRecordOf(created.requestId);
    expect(createdRecord).toMatchObject({ action: 'createToken', name: 'ci-audit', kind: null, status: 201, detail: { type: 'user' } });
    expect(JSON.stringify(createdRecord)).not.toContain(created.body.token);
    const revoked = await traced('DELETE', '/v1/tokens/ci-audit');
    expect(revoked.status).toBe(200);
    expect(await theRecordOf(revoked.requestId)).toMatchObject({ action: 'revokeToken', name: 'ci-audit' });
    const again = await traced('DELETE', '/v1/tokens/ci-audit');
    expect(again.status).toBe(200);
    expect(await recordsOf(again.requestId)).toEqual([]);
  });

  it('gives each create of a group commit its own record, with the context of the request that queued it', async () => {
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => traced('POST', '/v1/vaults', { metadata: { name: `batch-${i}`, project: 'team-b' }, spec: { size: 1 } }, i % 2 ? devToken : undefined)),
    );
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(201);
      expect(await theRecordOf(answer.requestId)).toMatchObject({ action: 'create', kind: 'Vault', project: 'team-b', name: `batch-${i}`, actor: i % 2 ? 'dev' : 'admin', status: 201 });
    }
  });

  it('writes nothing, record included, when the change rolls back; and one record per object when an apply commits', async () => {
    // The second object is blocked, so the whole bundle rolls back: the first object's record too.
    const blocked = await traced('POST', '/v1/apply', [
      { kind: 'Vault', metadata: { name: 'rolled-back', project: 'team-c' }, spec: { size: 1 } },
      { kind: 'Vault', metadata: { name: 'bad', project: 'team-c' }, spec: { size: 0 } },
    ]);
    expect(blocked.status).toBe(422);
    expect(await api.sql(`select * from resources where name = 'rolled-back'`)).toEqual([]);
    // Only the refusal, recorded on its own once the transaction is gone.
    const refusal = await waitUntil(async () => (await recordsOf(blocked.requestId))[0], 'the failed apply record');
    expect(refusal).toMatchObject({ action: 'apply', outcome: 'failed', status: 422, detail: { code: 'InvalidInput' } });
    expect(await recordsOf(blocked.requestId)).toHaveLength(1);

    const dryRun = await traced('POST', '/v1/apply?dryRun=true', [{ kind: 'Vault', metadata: { name: 'dry', project: 'team-c' }, spec: { size: 1 } }]);
    expect(dryRun.status).toBe(200);
    expect(await recordsOf(dryRun.requestId)).toEqual([]);

    const applied = await traced('POST', '/v1/apply', [
      { kind: 'Vault', metadata: { name: 'a1', project: 'team-c' }, spec: { size: 1 } },
      { kind: 'Vault', metadata: { name: 'a2', project: 'team-c' }, spec: { size: 1 } },
    ]);
    expect(applied.status).toBe(200);
    expect((await recordsOf(applied.requestId)).map((r) => [r.action, r.name, r.detail])).toEqual([
      ['create', 'a1', { via: 'apply' }],
      ['create', 'a2', { via: 'apply' }],
    ]);
  });

  it('refuses the change, and the secret read, when its record cannot be written', async () => {
    await api.call('POST', '/v1/vaults', { metadata: { name: 'guarded', project: 'team-d' }, spec: { size: 1, password: 'pw-canary-2' } });
    // A fault only this test's schema sees: the audit insert of an update or a secret read fails.
    await api.sql(`create function refuse_audit() returns trigger language plpgsql as $$
      begin if new.action in ('update', 'readSecrets') and new.outcome = 'success' then raise exception 'audit refused (test)'; end if; return new; end $$`);
    await api.sql('create trigger refuse_audit before insert on audit_records for each row execute function refuse_audit()');
    try {
      const update = await traced('PUT', '/v1/vaults/guarded?project=team-d', { metadata: { name: 'guarded', project: 'team-d' }, spec: { size: 5 } });
      expect(update.status).toBe(500);
      expect((await api.call('GET', '/v1/vaults/guarded?project=team-d')).body.spec.size).toBe(1);
      const read = await traced('GET', '/v1/vaults/guarded/secrets?project=team-d', undefined, controllerToken);
      expect(read.status).toBe(500);
      expect(JSON.stringify(read.body)).not.toContain('canary');
    } finally {
      await api.sql('drop trigger refuse_audit on audit_records');
    }
    const after = await traced('PUT', '/v1/vaults/guarded?project=team-d', { metadata: { name: 'guarded', project: 'team-d' }, spec: { size: 5 } });
    expect(after.status).toBe(200);
    expect(await theRecordOf(after.requestId)).toMatchObject({ action: 'update', outcome: 'success' });
  });

  it('records refused and failed attempts on their own, but not an unauthenticated one', async () => {
    await api.call('POST', '/v1/vaults', { metadata: { name: 'locked', project: 'team-e' }, spec: { size: 1 } });
    const denied = await traced('GET', '/v1/vaults/locked/secrets?project=team-e', undefined, devToken);
    expect(denied.status).toBe(403);
    const deniedRecord = await waitUntil(async () => (await recordsOf(denied.requestId))[0], 'the denied record');
    expect(deniedRecord).toMatchObject({ action: 'readSecrets', outcome: 'denied', status: 403, actor: 'dev', token: 'dev', kind: 'Vault', project: 'team-e', name: 'locked' });

    const stale = await traced('PUT', '/v1/vaults/locked?project=team-e', { metadata: { name: 'locked', project: 'team-e', resourceVersion: '1' }, spec: { size: 2 } }, devToken);
    expect(stale.status).toBe(409);
    expect(await waitUntil(async () => (await recordsOf(stale.requestId))[0], 'the failed record')).toMatchObject({ action: 'update', outcome: 'failed', status: 409 });

    const suspend = await traced('POST', '/v1/vaults/nothing-here/suspend?project=team-e', undefined, devToken);
    expect(suspend.status).toBe(404);
    expect(await waitUntil(async () => (await recordsOf(suspend.requestId))[0], 'the failed control')).toMatchObject({ action: 'suspend', outcome: 'failed', status: 404 });

    const anonymous = await traced('POST', '/v1/vaults', { metadata: { name: 'x', project: 'team-e' }, spec: { size: 1 } }, null);
    expect(anonymous.status).toBe(401);
    // A later request's record proves the earlier attempt had its chance to be written.
    const marker = await traced('GET', '/v1/vaults/locked/secrets?project=team-e', undefined, devToken);
    await waitUntil(async () => (await recordsOf(marker.requestId))[0], 'the marker record');
    expect(await recordsOf(anonymous.requestId)).toEqual([]);
  });
});

describe('GET /v1/audit', () => {
  const ids = (answer: { body: { items: Array<{ requestId: string }> } }) => answer.body.items.map((r) => r.requestId);

  it('filters by project, identity, kind (any of its names), action and time, newest first', async () => {
    const made: string[] = [];
    for (const [i, token] of [devToken, undefined, devToken].entries()) {
      made.push((await traced('POST', '/v1/vaults', { metadata: { name: `f${i}`, project: 'team-f' }, spec: { size: 1 } }, token)).requestId);
    }
    // The project's own records (its Project object's creation) come before; the kind keeps to the Vaults.
    const byProject = await api.call('GET', '/v1/audit?project=team-f&kind=vaults');
    expect(byProject.status).toBe(200);
    expect(ids(byProject)).toEqual([...made].reverse());
    expect(byProject.body.items[0]).toMatchObject({ actor: 'dev', token: 'dev', actorType: 'user', action: 'create', kind: 'Vault', project: 'team-f', name: 'f2', outcome: 'success', status: 201 });
    expect(typeof byProject.body.items[0].source).toBe('string');
    expect(ids(await api.call('GET', '/v1/audit?project=team-f&identity=dev'))).toEqual([made[2], made[0]]);
    expect(ids(await api.call('GET', '/v1/audit?project=team-f&identity=admin&kind=vt'))).toEqual([made[1]]);
    expect(ids(await api.call('GET', '/v1/audit?project=team-f&kind=WorkloadInstance'))).toEqual([]);
    expect(ids(await api.call('GET', '/v1/audit?project=team-f&action=delete'))).toEqual([]);
    const at = byProject.body.items.map((r: { at: string }) => r.at);
    expect(ids(await api.call('GET', `/v1/audit?project=team-f&kind=Vault&until=${encodeURIComponent(at[2])}`))).toEqual([]);
    expect(ids(await api.call('GET', `/v1/audit?project=team-f&since=${encodeURIComponent(at[0])}`))).toContain(made[2]);
    expect(ids(await api.call('GET', '/v1/audit?project=team-f&since=2999-01-01T00:00:00Z'))).toEqual([]);
  });

  it('pages with an opaque continue token, without gaps or repeats', async () => {
    const project = 'team-g';
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await traced('POST', '/v1/vaults', { metadata: { name: `g${i}`, project }, spec: { size: 1 } })).requestId);
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await api.call('GET', `/v1/audit?project=${project}&kind=Vault&limit=3${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...ids(page));
      cont = page.body.metadata.continue;
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());
  });

  it('shows a project admin its projects only, refuses others, and refuses hostile input naming the parameter', async () => {
    const own = await api.call('GET', '/v1/audit?limit=1000', undefined, { token: devToken });
    expect(own.status).toBe(200);
    expect(own.body.items.length).toBeGreaterThan(0);
    expect(new Set(own.body.items.map((r: { project: string }) => r.project))).toEqual(new Set(['team-f']));
    // The Project object's own records are filed under the project.
    expect(own.body.items).toContainEqual(expect.objectContaining({ kind: 'Project', name: 'team-f', project: 'team-f', action: 'create', actor: 'admin' }));
    expect((await api.call('GET', '/v1/audit?project=team-f', undefined, { token: devToken })).status).toBe(200);
    expect((await api.call('GET', '/v1/audit?project=team-a', undefined, { token: devToken })).status).toBe(403);
    expect((await api.call('GET', '/v1/audit', undefined, { token: outsiderToken })).status).toBe(403);
    expect((await api.call('GET', '/v1/audit', undefined, { token: null })).status).toBe(401);
    const cases: Array<[string, number, string, string]> = [
      ['limit=0', 422, 'limit', 'range'],
      ['limit=1001', 422, 'limit', 'range'],
      ['limit=abc', 400, 'limit', 'type'],
      ['limit=-1', 400, 'limit', 'type'],
      [`limit=${'9'.repeat(400)}`, 400, 'limit', 'type'],
      ['since=yesterday', 422, 'since', 'date-time'],
      ['until=2027-13-45T99:99:99Z', 422, 'until', 'date-time'],
      ['since=2027-02-01T00:00:00Z&until=2027-01-01T00:00:00Z', 422, 'until', 'after-since'],
      ['continue=garbage', 422, 'continue', 'format'],
      [`continue=${Buffer.from(JSON.stringify({ before: "1; drop table audit_records" })).toString('base64url')}`, 422, 'continue', 'format'],
      ['project=a&project=b', 400, 'project', 'type'],
      ['project[$ne]=x', 400, 'project[$ne]', 'additionalProperties'],
      [`project=${encodeURIComponent("'; drop table audit_records; --")}`, 422, 'project', 'pattern'],
      [`identity=${'x'.repeat(300)}`, 422, 'identity', 'pattern'],
      ['kind=%00', 422, 'kind', 'nul-character'],
      ['colour=red', 400, 'colour', 'additionalProperties'],
    ];
    for (const [query, status, path, rule] of cases) {
      const answer = await api.call('GET', `/v1/audit?${query}`);
      expect([query, answer.status]).toEqual([query, status]);
      expect([query, answer.body.error.details]).toEqual([query, expect.arrayContaining([expect.objectContaining({ path, rule })])]);
    }
    expect((await api.sql('select count(*)::int as n from audit_records'))[0].n).toBeGreaterThan(0);
  });

  it('restricts the query to the projects a caller may see, in the database', async () => {
    const log = createAuditLog({ db: api.server.database.db });
    const only = await log.list({ projects: ['team-f'], limit: 1000 });
    expect(only.items.length).toBeGreaterThan(0);
    expect(new Set(only.items.map((r) => r.project))).toEqual(new Set(['team-f']));
    expect((await log.list({ projects: [] })).items).toEqual([]);
    expect((await log.list({ projects: ['team-f'], project: 'team-g' })).items).toEqual([]);
  });
});

describe('audit retention', () => {
  it('removes records older than the bound, by age alone, independently of revisions', async () => {
    const now = Date.parse('2030-06-01T00:00:00Z');
    const marker = uniqueName('old');
    const day = 86_400_000;
    for (const ageDays of [120, 91, 89, 1]) {
      await api.sql(`insert into audit_records (at, actor, actor_type, action, outcome, status, request_id) values ($1, 'old-actor', 'user', 'create', 'success', 201, $2)`, [
        new Date(now - ageDays * day),
        `${marker}-${ageDays}`,
      ]);
    }
    const revisionsBefore = (await api.sql('select count(*)::int as n from revisions'))[0].n;
    expect(RETENTION_DEFAULTS.auditMaxAgeMs).toBe(90 * day);
    const job = createRetentionJob({ db: api.server.database.db, logger: pino({ level: 'silent' }), now: () => now });
    const pass = await job.prune();
    expect(pass.auditRecordsDeleted).toBeGreaterThanOrEqual(2);
    const left = await api.sql(`select request_id from audit_records where request_id like $1 order by request_id`, [`${marker}-%`]);
    expect(left.map((r) => r.request_id)).toEqual([`${marker}-1`, `${marker}-89`]);
    // Revisions keep their own bound (50 per object here): none went with the audit records.
    expect((await api.sql('select count(*)::int as n from revisions'))[0].n).toBe(revisionsBefore);

    const shorter = createRetentionJob({ db: api.server.database.db, logger: pino({ level: 'silent' }), now: () => now, auditMaxAgeMs: 7 * day });
    await shorter.prune();
    expect((await api.sql(`select request_id from audit_records where request_id like $1`, [`${marker}-%`])).map((r) => r.request_id)).toEqual([`${marker}-1`]);
    expect(() => createRetentionJob({ db: api.server.database.db, logger: pino({ level: 'silent' }), auditMaxAgeMs: 0 })).toThrow('auditMaxAgeMs');
  });
});
