/**
 * Operator controls (suspend, resume, reconcile now, forced finalizer removal), the retention job
 * and the contract's metric names, in-process against real Postgres and NATS.
 */
import { pino } from 'pino';
import { startTestApi, waitUntil, type TestApi } from './api-test-harness.js';
import { createRetentionJob } from './retention-job.js';

// An AwsAccount: a kind whose objects its owner (the infra-controller) holds with a finalizer.
const definitionSpec = { accountId: '123456789012', region: 'eu-west-1' };

describe('operator controls, retention, metrics', () => {
  let api: TestApi;
  let userToken: string;
  let infraToken: string;

  beforeAll(async () => {
    api = await startTestApi({ retention: { enabled: false } });
    userToken = (await api.call('POST', '/v1/tokens', { name: 'alice', type: 'user', role: 'platform-editor' })).body.token;
    infraToken = (await api.call('POST', '/v1/tokens', { name: 'infra', type: 'controller', controller: 'infra-controller' })).body.token;
  });
  afterAll(async () => {
    await api?.close();
  });

  const path = (name: string, suffix = '') => `/v1/awsaccounts/${name}${suffix}`;

  async function revisions(name: string): Promise<Array<{ cause: string; actor: string; note?: string; generation: number }>> {
    return (await api.call('GET', path(name, '/revisions'))).body.items;
  }

  async function events(name: string): Promise<Array<{ type: string; reason: string; message: string; count: number; source: string }>> {
    return (await api.call('GET', path(name, '/events'))).body.items;
  }

  it('suspends and resumes, each recorded as a revision and an event with the identity', async () => {
    const created = (await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'std' }, spec: definitionSpec })).body;
    expect(created.metadata).not.toHaveProperty('suspended');

    const suspended = await api.call('POST', path('std', '/suspend'), undefined, { token: userToken });
    expect(suspended.status).toBe(200);
    expect(suspended.body.metadata).toMatchObject({ suspended: true, generation: 1 });
    expect(Number(suspended.body.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const published = await api.waitForEvent((e) => e.event.name === 'std' && e.event.resourceVersion === suspended.body.metadata.resourceVersion);
    expect(published.event).toMatchObject({ cause: 'metadata', actor: 'alice' });
    expect((await revisions('std'))[0]).toMatchObject({ cause: 'metadata', actor: 'alice', note: 'suspended', generation: 1 });
    expect(await events('std')).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Suspended', message: 'suspended by alice', source: 'alice' })]);

    // Again: nothing changes, nothing is recorded.
    const again = await api.call('POST', path('std', '/suspend'));
    expect(again.body.metadata.resourceVersion).toBe(suspended.body.metadata.resourceVersion);
    expect(await revisions('std')).toHaveLength(2);

    // A reconcile request on a suspended object says what to do instead.
    const refused = await api.call('POST', path('std', '/reconcile'));
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toEqual([{ path: 'metadata.suspended', rule: 'suspended' }]);

    const resumed = await api.call('POST', path('std', '/resume'));
    expect(resumed.body.metadata).not.toHaveProperty('suspended');
    expect((await revisions('std'))[0]).toMatchObject({ cause: 'metadata', actor: 'admin', note: 'resumed' });
    expect((await events('std')).map((e) => e.reason)).toEqual(['Resumed', 'Suspended']);
    // PUT does not set it: only the controls do.
    const put = await api.call('PUT', path('std'), { metadata: { name: 'std', suspended: true }, spec: definitionSpec });
    expect(put.body.metadata).not.toHaveProperty('suspended');
  });

  it('requests a reconcile: a new version and a `reconcile` event, no spec change', async () => {
    const before = (await api.call('GET', path('std'))).body;
    const answer = await api.call('POST', path('std', '/reconcile'));
    expect(answer.status).toBe(200);
    expect(answer.body.metadata.generation).toBe(before.metadata.generation);
    expect(answer.body.spec).toEqual(before.spec);
    const rv = answer.body.metadata.resourceVersion;
    const published = await api.waitForEvent((e) => e.event.name === 'std' && e.event.resourceVersion === rv);
    expect(published.event).toMatchObject({ cause: 'reconcile', actor: 'admin', generation: before.metadata.generation });
    expect(published.msgId).toBe(`${before.metadata.uid}/${rv}`);
    expect((await revisions('std'))[0]).toMatchObject({ cause: 'reconcile', note: 'reconcile requested' });
    expect((await events('std'))[0]).toMatchObject({ reason: 'ReconcileRequested', message: 'reconcile requested by admin' });
    // A second request is its own event (its own Msg-Id), not a repeat the stream drops.
    const second = await api.call('POST', path('std', '/reconcile'));
    await api.waitForEvent((e) => e.event.resourceVersion === second.body.metadata.resourceVersion && e.event.cause === 'reconcile');
    expect((await events('std'))[0]).toMatchObject({ reason: 'ReconcileRequested', count: 2 });
    expect((await api.call('POST', '/v1/awsaccounts/nope/reconcile')).status).toBe(404);
  });

  it('force-removes a finalizer for the admin only, and the delete then completes', async () => {
    await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'stuck' }, spec: definitionSpec });
    expect((await api.call('DELETE', path('stuck'))).status).toBe(202);

    const byUser = await api.call('DELETE', path('stuck', '/finalizers/infra-controller?force=true'), undefined, { token: userToken });
    expect(byUser.status).toBe(403);
    expect(byUser.body.error.message).toContain('only a platform admin, or an admin of the project, force-removes a finalizer');
    const byOtherController = await api.call('DELETE', path('stuck', '/finalizers/somebody-else?force=true'), undefined, { token: infraToken });
    expect(byOtherController.status).toBe(403);
    expect((await api.call('DELETE', path('stuck', '/finalizers/infra-controller?force=maybe'))).status).toBe(400);
    expect((await api.call('DELETE', path('stuck', '/finalizers/infra-controller'))).status).toBe(403);
    const uid = (await api.call('GET', path('stuck'))).body.metadata.uid;

    const forced = await api.call('DELETE', path('stuck', '/finalizers/infra-controller?force=true'));
    expect(forced.status).toBe(200);
    expect(forced.body).toEqual({ deleted: true });
    expect((await api.call('GET', path('stuck'))).status).toBe(404);
    // The history outlives the object and says who did it.
    const history = await revisions('stuck');
    expect(history.map((r) => `${r.cause}:${r.actor}:${r.note ?? ''}`)).toEqual(['delete:admin:', 'metadata:admin:finalizer infra-controller force-removed', 'metadata:admin:', 'spec:admin:']);
    await api.waitForEvent((e) => e.event.uid === uid && e.event.cause === 'delete');

    // Without a pending delete the object stays, with one finalizer fewer.
    await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'kept' }, spec: definitionSpec });
    const kept = await api.call('DELETE', path('kept', '/finalizers/infra-controller?force=true'));
    expect(kept.body).toMatchObject({ deleted: false, object: { metadata: { finalizers: [] } } });
    expect((await events('kept'))[0]).toMatchObject({ type: 'Warning', reason: 'FinalizerForceRemoved', message: 'finalizer infra-controller force-removed by admin' });
  });

  it('prunes revisions and events to their bounds, and old events', async () => {
    await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'busy' }, spec: definitionSpec });
    for (let i = 1; i <= 4; i += 1) {
      await api.call('PUT', path('busy'), { metadata: { name: 'busy' }, spec: { ...definitionSpec, endpoint: `http://127.0.0.1:${4560 + i}` } });
      await api.call('POST', path('busy', '/events'), { type: 'Normal', reason: 'Step', message: `step ${i}` }, { token: infraToken });
    }
    // Another object's only event, last seen three hours ago: too old, whatever the count.
    await api.call('POST', path('kept', '/events'), { type: 'Normal', reason: 'Old', message: 'long ago' }, { token: infraToken });
    await api.sql(`update events set last_seen = now() - interval '3 hours' where reason = 'Old'`);
    const newest = (await revisions('busy'))[0];

    const job = createRetentionJob({ db: api.server.database.db, logger: pino({ level: 'silent' }), revisionsKeep: 2, eventsKeep: 3, eventsMaxAgeMs: 3_600_000 });
    const pass = await job.prune();
    expect(pass.revisionsDeleted).toBeGreaterThanOrEqual(3);
    const kept = await revisions('busy');
    expect(kept).toHaveLength(2);
    expect(kept[0]).toEqual(newest);
    expect((await events('busy')).map((e) => e.message)).toEqual(['step 4', 'step 3', 'step 2']);
    expect((await events('kept')).map((e) => e.reason)).toEqual(['FinalizerForceRemoved']);
    expect(pass.eventsDeleted).toBe(2);
    expect(await job.prune()).toEqual({ revisionsDeleted: 0, eventsDeleted: 0, auditRecordsDeleted: 0 });
    expect(() => createRetentionJob({ db: api.server.database.db, logger: pino({ level: 'silent' }), revisionsKeep: 0 })).toThrow(/revisionsKeep/);
  });

  it('records desired-state changes as revisions, not status writes: 60 status writes keep the first revision', async () => {
    const created = (await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'churn' }, spec: definitionSpec })).body;
    for (let i = 1; i <= 60; i += 1) {
      const written = await api.call('PUT', path('churn', '/status'), { status: { phase: 'Progressing', message: `step ${i}` } }, { token: infraToken });
      expect(written.status).toBe(200);
    }
    await api.call('PUT', path('churn'), { metadata: { name: 'churn' }, spec: { ...definitionSpec, endpoint: 'http://127.0.0.1:4566' } });
    const job = createRetentionJob({ db: api.server.database.db, logger: pino({ level: 'silent' }) }); // the default bound, 50
    await job.prune();
    const history = (await api.call('GET', path('churn', '/revisions'))).body.items as Array<{ revision: number; cause: string }>;
    expect(history.map((r) => r.cause)).toEqual(['spec', 'spec']);
    expect(history.at(-1)!.revision).toBe(Number(created.metadata.resourceVersion));
  });

  it('exports the contract metrics: requests by route pattern, outbox depth and age, relay publishes', async () => {
    await waitUntil(async () => (await api.sql('select count(*)::int as n from outbox'))[0].n === 0, 'the outbox to drain');
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).toMatch(/tugboat_http_requests_total\{route="\/v1\/:plural\/:name\/suspend",method="POST",status="200"\} 2/);
    expect(text).toMatch(/tugboat_http_requests_total\{route="\/v1\/:plural\/:name\/reconcile",method="POST",status="409"\} 1/);
    expect(text).toMatch(/tugboat_http_request_duration_seconds_count\{route="\/v1\/:plural\/:name\/revisions",method="GET"\} \d+/);
    expect(text).toMatch(/^tugboat_outbox_pending_rows 0$/m);
    expect(text).toMatch(/^tugboat_outbox_oldest_age_seconds 0$/m);
    const published = Number(/^tugboat_relay_published_total (\d+)$/m.exec(text)?.[1]);
    expect(published).toBeGreaterThanOrEqual(api.events().length);
    // Failed requests carry their route pattern too (the 403s of the forced removal).
    expect(text).toMatch(/tugboat_http_requests_total\{route="\/v1\/:plural\/:name\/finalizers\/:finalizer",method="DELETE",status="403"\} 3/);
    expect(text).not.toMatch(/route="\/(v1\/)?awsaccounts/);
    expect(text).not.toMatch(/route="\/:plural/);
  });
});
