/**
 * The API in-process against real Postgres (own schema) and real NATS (own prefix): the write path,
 * its outbox rows and the events the relay publishes.
 */
import { REDACTED } from '@tugboat/resource-model';
import { startTestApi, waitUntil, type TestApi } from './api-test-harness.js';

const definitionSpec = { provider: 'eks', allowedVersions: ['1.30'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['m5.large'] };
const workloadDefinitionSpec = { container: { image: 'nginx:1.27' }, overridable: ['image', 'replicas'], maxReplicas: 10 };

describe('API write path', () => {
  let api: TestApi;
  let infraToken: string;
  let clusterToken: string;
  let workloadToken: string;

  beforeAll(async () => {
    api = await startTestApi({ projects: ['team-a', 'team-b', 'team-m', 'team-z', 'p', 'p-one', 'p-two'] });
    infraToken = (await api.call('POST', '/v1/tokens', { name: 'infra', type: 'controller', controller: 'infra-controller' })).body.token;
    clusterToken = (await api.call('POST', '/v1/tokens', { name: 'cluster', type: 'controller', controller: 'cluster-controller' })).body.token;
    workloadToken = (await api.call('POST', '/v1/tokens', { name: 'workload-controller', type: 'controller' })).body.token;
  });
  afterAll(async () => {
    await api?.close();
  });

  async function counts(): Promise<{ resources: number; revisions: number; outbox: number; references: number }> {
    const [row] = await api.sql(`select (select count(*) from resources)::int as resources, (select count(*) from revisions)::int as revisions,
      (select count(*) from outbox)::int as outbox, (select count(*) from "references")::int as references`);
    return row;
  }

  /** Counts once the relay has drained the outbox, so a later comparison sees only new writes. */
  async function settledCounts(): Promise<Awaited<ReturnType<typeof counts>>> {
    await waitUntil(async () => (await counts()).outbox === 0, 'the outbox to drain');
    return counts();
  }

  /** Revisions count every committed change (each also wrote its outbox row in the same transaction). */
  async function revisionsOf(uid: string): Promise<number> {
    return (await api.sql(`select count(*)::int as n from revisions where resource_uid = $1`, [uid]))[0].n;
  }

  async function createPlatformBase(suffix: string): Promise<void> {
    expect((await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: `std-${suffix}` }, spec: definitionSpec })).status).toBe(201);
    expect((await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: `web-${suffix}` }, spec: workloadDefinitionSpec })).status).toBe(201);
    expect((await api.call('POST', '/v1/clusterinstances', { metadata: { name: `c-${suffix}` }, spec: { definitionRef: { name: `std-${suffix}` } } })).status).toBe(201);
  }

  function workload(name: string, suffix: string, extra: Record<string, unknown> = {}) {
    return {
      metadata: { name, project: 'team-a', labels: { tier: 'prod' } },
      spec: { definitionRef: { name: `web-${suffix}` }, clusterRef: { name: `c-${suffix}` }, overrides: { image: 'nginx:1.27', replicas: 2 }, ...extra },
    };
  }

  it('answers whoami, health and readiness', async () => {
    expect((await api.call('GET', '/v1/whoami')).body).toEqual({ name: 'admin', type: 'user', roles: [{ role: 'platform-admin' }] });
    expect((await api.call('GET', '/v1/whoami', undefined, { token: infraToken })).body).toEqual({ name: 'infra', type: 'controller', controller: 'infra-controller', token: 'infra', roles: [] });
    expect((await api.call('GET', '/readyz', undefined, { token: null })).status).toBe(200);
    expect((await api.call('GET', '/v1/whoami', undefined, { token: null })).status).toBe(401);
    expect((await api.call('GET', '/v1/whoami', undefined, { token: 'nope' })).status).toBe(401);
    expect((await api.call('POST', '/v1/tokens', { name: 'x', type: 'user' }, { token: infraToken })).status).toBe(403);
  });

  it('answers JSON with its type and byte length, and a HEAD with the headers alone', async () => {
    const get = await fetch(`${api.url}/v1/whoami`, { headers: { authorization: 'Bearer test-admin-token' } });
    const text = await get.text();
    expect(get.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(get.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toMatchObject({ name: 'admin' });
    // An answer outside ASCII (the unknown field is named in it): the length counts bytes, not characters.
    const refused = await fetch(`${api.url}/v1/clusterdefinitions`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'utf8-len', größe: '✓' }, spec: definitionSpec }),
    });
    const refusedText = await refused.text();
    expect(refused.status).toBe(422);
    expect(refusedText).toContain('größe');
    expect(Number(refused.headers.get('content-length'))).toBe(Buffer.byteLength(refusedText));
    const head = await fetch(`${api.url}/v1/whoami`, { method: 'HEAD', headers: { authorization: 'Bearer test-admin-token' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(await head.text()).toBe('');
  });

  it('creates an object, sets the envelope, and publishes its event with a Msg-Id', async () => {
    await createPlatformBase('a');
    const created = await api.call('POST', '/v1/workloadinstances', workload('shop', 'a'));
    expect(created.status).toBe(201);
    const meta = created.body.metadata;
    expect(meta).toMatchObject({ name: 'shop', project: 'team-a', generation: 1, finalizers: ['workload-controller'], deletionRequestedAt: null, labels: { tier: 'prod' } });
    expect(meta.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.resourceVersion).toMatch(/^\d+$/);

    const published = await api.waitForEvent((e) => e.event.uid === meta.uid);
    expect(published.msgId).toBe(`${meta.uid}/${meta.resourceVersion}`);
    expect(published.subject).toBe(`${api.prefix}.res.WorkloadInstance.team-a.shop`);
    expect(published.event).toMatchObject({ kind: 'WorkloadInstance', project: 'team-a', name: 'shop', generation: 1, resourceVersion: meta.resourceVersion, cause: 'spec', actor: 'admin' });
    expect(published.event).not.toHaveProperty('spec');
    await waitUntil(async () => (await counts()).outbox === 0, 'the outbox to drain');

    const read = await api.call('GET', '/v1/workloadinstances/shop?project=team-a');
    expect(read.body).toEqual(created.body);
    expect((await api.call('GET', '/v1/workloadinstances/shop')).status).toBe(422);
    expect((await api.call('GET', '/v1/workloadinstances/nope?project=team-a')).status).toBe(404);
    expect((await api.call('POST', '/v1/workloadinstances', workload('shop', 'a'))).status).toBe(409);
  });

  it('bumps generation only when spec changes; a write that changes nothing is a no-op', async () => {
    await createPlatformBase('b');
    const created = (await api.call('POST', '/v1/workloadinstances', workload('gen', 'b'))).body;
    const uid = created.metadata.uid;

    const relabelled = await api.call('PUT', '/v1/workloadinstances/gen?project=team-a', { ...workload('gen', 'b'), metadata: { ...workload('gen', 'b').metadata, labels: { tier: 'dev' }, resourceVersion: created.metadata.resourceVersion } });
    expect(relabelled.status).toBe(200);
    expect(relabelled.body.metadata.generation).toBe(1);
    expect(BigInt(relabelled.body.metadata.resourceVersion)).toBeGreaterThan(BigInt(created.metadata.resourceVersion));

    const same = await api.call('PUT', '/v1/workloadinstances/gen?project=team-a', { ...relabelled.body });
    expect(same.body.metadata.resourceVersion).toBe(relabelled.body.metadata.resourceVersion);
    expect(await revisionsOf(uid)).toBe(2);

    const scaled = await api.call('PATCH', '/v1/workloadinstances/gen?project=team-a', { spec: { overrides: { replicas: 5 } } }, { headers: { 'content-type': 'application/merge-patch+json', 'if-match': `"${relabelled.body.metadata.resourceVersion}"` } });
    expect(scaled.status).toBe(200);
    expect(scaled.body.metadata.generation).toBe(2);
    expect(scaled.body.spec).toMatchObject({ overrides: { replicas: 5, image: 'nginx:1.27' } });
    const event = await api.waitForEvent((e) => e.event.uid === uid && e.event.resourceVersion === scaled.body.metadata.resourceVersion);
    expect(event.event).toMatchObject({ cause: 'spec', generation: 2 });

    const removed = await api.call('PATCH', '/v1/workloadinstances/gen?project=team-a', { spec: { overrides: { replicas: null } }, metadata: { labels: { tier: null, team: 'a' } } }, { headers: { 'content-type': 'application/merge-patch+json' } });
    expect(removed.body.spec.overrides).not.toHaveProperty('replicas');
    expect(removed.body.metadata.labels).toEqual({ team: 'a' });
    expect(removed.body.metadata.generation).toBe(3);
  });

  it('refuses a stale PUT or PATCH with 409 and changes nothing', async () => {
    await createPlatformBase('c');
    const created = (await api.call('POST', '/v1/workloadinstances', workload('stale', 'c'))).body;
    const updated = (await api.call('PATCH', '/v1/workloadinstances/stale?project=team-a', { spec: { overrides: { replicas: 3 } } })).body;
    const before = await settledCounts();

    const stalePut = await api.call('PUT', '/v1/workloadinstances/stale?project=team-a', { ...workload('stale', 'c', { overrides: { replicas: 9 } }), metadata: { ...workload('stale', 'c').metadata, resourceVersion: created.metadata.resourceVersion } });
    expect(stalePut.status).toBe(409);
    expect(stalePut.body.error).toMatchObject({ code: 'Conflict', details: [{ path: 'metadata.resourceVersion', rule: 'stale' }] });
    const staleHeader = await api.call('PUT', '/v1/workloadinstances/stale?project=team-a', workload('stale', 'c', { overrides: { replicas: 9 } }), { headers: { 'if-match': `"${created.metadata.resourceVersion}"` } });
    expect(staleHeader.status).toBe(409);
    const stalePatch = await api.call('PATCH', '/v1/workloadinstances/stale?project=team-a', { metadata: { resourceVersion: created.metadata.resourceVersion }, spec: { overrides: { replicas: 9 } } });
    expect(stalePatch.status).toBe(409);

    expect(await counts()).toEqual(before);
    expect((await api.call('GET', '/v1/workloadinstances/stale?project=team-a')).body).toEqual(updated);
  });

  it('lets only the owning controller write status; a status no-op writes nothing', async () => {
    await createPlatformBase('d');
    const created = (await api.call('POST', '/v1/workloadinstances', workload('stat', 'd'))).body;
    const status = { observedGeneration: 1, phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }] };

    // The platform admin may read it, so it is told why not (403); the infra-controller may not even
    // read a WorkloadInstance, so it is answered as if it did not exist (404).
    for (const [token, expected] of [[undefined, 403], [infraToken, 404]] as const) {
      const denied = await api.call('PUT', '/v1/workloadinstances/stat/status?project=team-a', { status }, token ? { token } : {});
      expect(denied.status).toBe(expected);
    }
    const written = await api.call('PUT', '/v1/workloadinstances/stat/status?project=team-a', { metadata: { resourceVersion: created.metadata.resourceVersion }, status }, { token: workloadToken });
    expect(written.status).toBe(200);
    expect(written.body.metadata.generation).toBe(1);
    expect(written.body.status).toEqual(status);
    const statusEvent = await api.waitForEvent((e) => e.event.uid === created.metadata.uid && e.event.cause === 'status');
    // On the status subject, apart from desired-state changes: the owner's consumer never sees it.
    expect(statusEvent.subject).toBe(`${api.prefix}.status.WorkloadInstance.team-a.stat`);
    await waitUntil(async () => (await counts()).outbox === 0, 'the outbox to drain');

    const before = await settledCounts();
    const again = await api.call('PUT', '/v1/workloadinstances/stat/status?project=team-a', { status: { ...status } }, { token: workloadToken });
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(written.body.metadata.resourceVersion);
    expect(await counts()).toEqual(before);

    const stale = await api.call('PUT', '/v1/workloadinstances/stat/status?project=team-a', { metadata: { resourceVersion: created.metadata.resourceVersion }, status: { phase: 'Failed' } }, { token: workloadToken });
    expect(stale.status).toBe(409);
    const badPhase = await api.call('PUT', '/v1/workloadinstances/stat/status?project=team-a', { status: { phase: 'Sleeping' } }, { token: workloadToken });
    expect(badPhase.body.error.details).toEqual([{ path: 'status.phase', rule: 'enum' }]);
    expect(await counts()).toEqual(before);
  });

  it('deletes with finalizers in two steps and publishes the delete', async () => {
    await createPlatformBase('e');
    const created = (await api.call('POST', '/v1/workloadinstances', workload('fin', 'e'))).body;
    const requested = await api.call('DELETE', '/v1/workloadinstances/fin?project=team-a');
    expect(requested.status).toBe(202);
    expect(requested.body.metadata.deletionRequestedAt).not.toBeNull();
    const repeat = await api.call('DELETE', '/v1/workloadinstances/fin?project=team-a');
    expect(repeat.status).toBe(202);
    expect(repeat.body).toEqual(requested.body);

    expect((await api.call('DELETE', '/v1/workloadinstances/fin/finalizers/workload-controller?project=team-a', undefined, { token: infraToken })).status).toBe(404);
    const removed = await api.call('DELETE', '/v1/workloadinstances/fin/finalizers/workload-controller?project=team-a', undefined, { token: workloadToken });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ deleted: true });
    expect((await api.call('GET', '/v1/workloadinstances/fin?project=team-a')).status).toBe(404);
    const gone = await api.waitForEvent((e) => e.event.uid === created.metadata.uid && e.event.cause === 'delete');
    const causes = api.events().filter((e) => e.event.uid === created.metadata.uid).map((e) => e.event.cause);
    expect(causes).toEqual(['spec', 'metadata', 'delete']);
    expect(gone.msgId).toBe(`${created.metadata.uid}/${gone.event.resourceVersion}`);

    // Without finalizers the row goes at once.
    const other = (await api.call('POST', '/v1/workloadinstances', workload('nofin', 'e'))).body;
    await api.call('DELETE', `/v1/workloadinstances/nofin/finalizers/workload-controller?project=team-a`, undefined, { token: workloadToken });
    const direct = await api.call('DELETE', '/v1/workloadinstances/nofin?project=team-a');
    expect(direct).toEqual({ status: 200, body: { deleted: true } });
    await api.waitForEvent((e) => e.event.uid === other.metadata.uid && e.event.cause === 'delete');
  });

  it('refuses to delete a used object (409 naming the referrers) and cascades on request', async () => {
    await createPlatformBase('f');
    await api.call('POST', '/v1/workloadinstances', workload('user-1', 'f'));
    await api.call('POST', '/v1/workloadinstances', { ...workload('user-2', 'f'), metadata: { name: 'user-2', project: 'team-b' } });
    const before = await settledCounts();

    const blocked = await api.call('DELETE', '/v1/clusterinstances/c-f');
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.details).toEqual([
      { path: 'WorkloadInstance/team-a/user-1', rule: 'in-use' },
      { path: 'WorkloadInstance/team-b/user-2', rule: 'in-use' },
    ]);
    expect(await counts()).toEqual(before);
    expect((await api.call('GET', '/v1/clusterinstances/c-f/referrers')).body.items.map((r: { name: string; path: string }) => [r.name, r.path])).toEqual([
      ['user-1', 'spec.clusterRef'],
      ['user-2', 'spec.clusterRef'],
    ]);

    const cascaded = await api.call('DELETE', '/v1/clusterinstances/c-f?cascade=true');
    expect(cascaded.status).toBe(202);
    for (const [project, name] of [['team-a', 'user-1'], ['team-b', 'user-2']]) {
      expect((await api.call('GET', `/v1/workloadinstances/${name}?project=${project}`)).body.metadata.deletionRequestedAt).not.toBeNull();
    }
    // The cluster cannot go before its dependents are gone, even when its own finalizer is removed.
    const early = await api.call('DELETE', '/v1/clusterinstances/c-f/finalizers/cluster-controller', undefined, { token: clusterToken });
    expect(early.body.deleted).toBe(false);
    for (const [project, name] of [['team-a', 'user-1'], ['team-b', 'user-2']]) {
      await api.call('DELETE', `/v1/workloadinstances/${name}/finalizers/workload-controller?project=${project}`, undefined, { token: workloadToken });
    }
    expect((await api.call('GET', '/v1/clusterinstances/c-f')).status).toBe(404);
    // Dependents first: both workloads' delete events precede the cluster's.
    const deletes = await waitUntil(() => {
      const found = api.events().filter((e) => e.event.cause === 'delete' && ['user-1', 'user-2', 'c-f'].includes(e.event.name));
      return found.length === 3 ? found : undefined;
    }, 'three delete events');
    expect(deletes[2]!.event.name).toBe('c-f');
  });

  it('deletes owned objects with their owner', async () => {
    await createPlatformBase('g');
    await api.call('POST', '/v1/workloadinstances', workload('owner', 'g'));
    const owned = await api.call('POST', '/v1/workloadinstances', { ...workload('owned', 'g'), metadata: { name: 'owned', project: 'team-a', ownerReferences: [{ kind: 'WorkloadInstance', name: 'owner' }] } });
    expect(owned.status).toBe(201);
    expect(owned.body.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'WorkloadInstance', name: 'owner' })]);
    for (const name of ['owned', 'owner']) {
      await api.call('DELETE', `/v1/workloadinstances/${name}/finalizers/workload-controller?project=team-a`, undefined, { token: workloadToken });
    }
    expect((await api.call('DELETE', '/v1/workloadinstances/owner?project=team-a')).body).toEqual({ deleted: true });
    expect((await api.call('GET', '/v1/workloadinstances/owned?project=team-a')).status).toBe(404);
  });

  it('keeps secrets encrypted, redacted in every read, revision, event and log, readable only by controllers', async () => {
    const canary = 'CANARY-s3cr3t-7f3a9c';
    const created = await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'acct' }, spec: { accountId: '123456789012', region: 'eu-west-1', accessKeyId: 'AKIAABCDEFGHIJKLMNOP', secretAccessKey: canary } });
    expect(created.status).toBe(201);
    expect(created.body.spec.secretAccessKey).toBe(REDACTED);
    const uid = created.body.metadata.uid;

    // PUT with the redacted marker keeps the value; a spec change elsewhere still bumps generation.
    const kept = await api.call('PUT', '/v1/awsaccounts/acct', { ...created.body, spec: { ...created.body.spec, region: 'us-east-1' } });
    expect(kept.status).toBe(200);
    expect(kept.body.metadata.generation).toBe(2);
    const secrets = await api.call('GET', '/v1/awsaccounts/acct/secrets', undefined, { token: infraToken });
    expect(secrets.body).toEqual({ secretAccessKey: canary });
    expect((await api.call('GET', '/v1/awsaccounts/acct/secrets')).status).toBe(403);

    // Changing only the secret is a spec change too.
    const rotated = await api.call('PATCH', '/v1/awsaccounts/acct', { spec: { secretAccessKey: `${canary}-2` } });
    expect(rotated.body.metadata.generation).toBe(3);
    expect((await api.call('GET', '/v1/awsaccounts/acct/secrets', undefined, { token: infraToken })).body).toEqual({ secretAccessKey: `${canary}-2` });
    const event = await api.call('POST', '/v1/awsaccounts/acct/events', { type: 'Warning', reason: 'AuthFailed', message: `key ${canary}-2 was refused` }, { token: infraToken });
    expect(event.body.message).toBe(`key ${REDACTED} was refused`);

    await api.waitForEvent((e) => e.event.uid === uid && e.event.generation === 3);
    const everywhere = [
      JSON.stringify((await api.call('GET', '/v1/awsaccounts/acct')).body),
      JSON.stringify((await api.call('GET', '/v1/awsaccounts')).body),
      JSON.stringify((await api.call('GET', '/v1/awsaccounts/acct/events')).body),
      JSON.stringify(await api.sql('select * from revisions')),
      JSON.stringify(await api.sql('select spec, secrets, status, labels from resources')),
      JSON.stringify(await api.sql('select * from outbox')),
      JSON.stringify(api.events()),
      api.logText(),
    ];
    for (const text of everywhere) expect(text).not.toContain(canary);
    expect((await api.sql(`select secrets->'secretAccessKey'->>'keyId' as key_id from resources where uid = $1`, [uid]))[0].key_id).toBe('test-1');

    // "<redacted>" where none is stored is "not set yet" (one manifest serves before and after the value is set).
    const noStored = await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'acct-2' }, spec: { accountId: '123456789012', region: 'eu-west-1', secretAccessKey: REDACTED } });
    expect(noStored.status).toBe(201);
    expect(noStored.body.spec.secretAccessKey).toBeUndefined();
  });

  it('answers every bad input with a 4xx naming the field, and writes nothing', async () => {
    await createPlatformBase('h');
    const before = await settledCounts();
    const raw = async (method: string, path: string, body: string, contentType = 'application/json') => {
      const response = await fetch(`${api.url}${path}`, { method, headers: { authorization: 'Bearer test-admin-token', 'content-type': contentType }, body });
      return { status: response.status, body: (await response.json()) as { error: { code: string; details: unknown[] } } };
    };
    const cases: Array<[Promise<{ status: number; body: { error: { details: unknown[] } } }>, number, Array<{ path: string; rule: string }>]> = [
      [raw('POST', '/v1/workloadinstances', '{"metadata": {'), 400, [{ path: 'body', rule: 'json' }]],
      [raw('POST', '/v1/workloadinstances', JSON.stringify({ ...workload('big', 'h'), spec: { ...workload('big', 'h').spec, overrides: { image: 'x'.repeat(1_100_000) } } })), 413, [{ path: 'body', rule: 'max-size' }]],
      [api.call('POST', '/v1/gizmos', workload('w', 'h')), 404, [{ path: 'kind', rule: 'unknown-kind' }]],
      [api.call('POST', '/v1/workloadinstances', { ...workload('Bad_Name', 'h'), metadata: { name: 'Bad_Name', project: 'team-a' } }), 422, [{ path: 'metadata.name', rule: 'dns-label' }]],
      [api.call('POST', '/v1/workloadinstances', { ...workload('w', 'h'), metadata: { name: 'w', project: 'Team A' } }), 422, [{ path: 'metadata.project', rule: 'dns-label' }]],
      [api.call('POST', '/v1/workloadinstances', { ...workload('w', 'h'), metadata: { name: 'w' } }), 422, [{ path: 'metadata.project', rule: 'required' }]],
      [api.call('POST', '/v1/workloadinstances', workload('w', 'h', { overrides: { replicas: -1 } })), 422, [{ path: 'spec.overrides.replicas', rule: 'minimum' }]],
      [api.call('POST', '/v1/workloadinstances', workload('w', 'h', { colour: 'red' })), 422, [{ path: 'spec.colour', rule: 'additionalProperties' }]],
      [api.call('POST', '/v1/workloadinstances', { metadata: { name: 'w', project: 'team-a' }, spec: { clusterRef: { name: 'c-h' } } }), 422, [{ path: 'spec.definitionRef', rule: 'required' }]],
      [api.call('POST', '/v1/workloadinstances', { ...workload('w', 'h'), spec: { ...workload('w', 'h').spec, clusterRef: { name: 'missing' } } }), 422, [{ path: 'spec.clusterRef.name', rule: 'reference' }]],
      [api.call('POST', '/v1/workloadinstances', { ...workload('w', 'h'), status: undefined, extra: 1 }), 422, [{ path: 'extra', rule: 'additionalProperties' }]],
      [api.call('POST', '/v1/workloadinstances', { ...workload('w', 'h'), metadata: { name: 'w', project: 'team-a', labels: { 'bad key!': 'x' } } }), 422, [{ path: 'metadata.labels.bad key!', rule: 'label-key' }]],
      [api.call('POST', '/v1/clusterinstances', { metadata: { name: 'x', project: 'team-a' }, spec: { definitionRef: { name: 'std-h' } } }), 422, [{ path: 'metadata.project', rule: 'platform-scope' }]],
      [raw('POST', '/v1/workloadinstances', 'metadata=1', 'text/plain'), 400, [{ path: 'body', rule: 'content-type' }]],
      [api.call('GET', '/v1/workloadinstances?labelSelector=a%3D%3D%3Db'), 400, [{ path: 'labelSelector', rule: 'label-value' }]],
      [api.call('GET', '/v1/workloadinstances?limit=0'), 400, [{ path: 'limit', rule: 'range' }]],
      [api.call('GET', '/v1/workloadinstances?continue=garbage'), 400, [{ path: 'continue', rule: 'format' }]],
      [api.call('POST', '/v1/workloadinstances/x/y/z', {}), 404, [{ path: 'path', rule: 'route' }]],
    ];
    for (const [answer, status, details] of cases) {
      const { status: got, body } = await answer;
      expect({ got, details: body.error.details }).toEqual({ got: status, details });
    }
    expect(await counts()).toEqual(before);
  });

  it('lists by project and label selector with keyset pagination', async () => {
    await createPlatformBase('i');
    for (const [project, name, tier] of [['p-one', 'a1', 'prod'], ['p-one', 'a2', 'dev'], ['p-one', 'a3', 'prod'], ['p-two', 'b1', 'prod'], ['p-two', 'b2', 'dev']] as const) {
      const body = { ...workload(name, 'i'), metadata: { name, project, labels: { tier, suite: 'list' } } };
      expect((await api.call('POST', '/v1/workloadinstances', body)).status).toBe(201);
    }
    const names = (page: { body: { items: Array<{ metadata: { name: string } }> } }) => page.body.items.map((i) => i.metadata.name);
    expect(names(await api.call('GET', '/v1/workloadinstances?project=p-one'))).toEqual(['a1', 'a2', 'a3']);
    expect(names(await api.call('GET', '/v1/workloadinstances?labelSelector=suite=list,tier=prod'))).toEqual(['a1', 'a3', 'b1']);
    expect(names(await api.call('GET', '/v1/workloadinstances?labelSelector=suite%3Dlist,tier!%3Dprod'))).toEqual(['a2', 'b2']);
    expect(names(await api.call('GET', '/v1/workloadinstances?labelSelector=suite,!nothing&project=p-two'))).toEqual(['b1', 'b2']);

    const seen: string[] = [];
    let next: string | undefined;
    do {
      const page = await api.call('GET', `/v1/workloadinstances?labelSelector=suite=list&limit=2${next ? `&continue=${next}` : ''}`);
      seen.push(...names(page));
      next = page.body.metadata.continue;
    } while (next);
    expect(seen).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
  });

  it('registers a custom kind at run time and serves it', async () => {
    const kind = {
      kind: 'Bucket',
      plural: 'buckets',
      singular: 'bucket',
      shortNames: ['bk'],
      scope: 'Project',
      controller: 'storage-controller',
      schema: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, password: { type: 'string' } } },
      references: [],
      secretFields: ['password'],
    };
    expect((await api.call('POST', '/v1/kinds', kind, { token: infraToken })).status).toBe(403);
    const registered = await api.call('POST', '/v1/kinds', kind);
    expect(registered.status).toBe(201);
    expect((await api.call('POST', '/v1/kinds', kind)).status).toBe(409);
    expect((await api.call('POST', '/v1/kinds', { ...kind, kind: 'WorkloadInstance', plural: 'wis' })).status).toBe(409);
    expect((await api.call('POST', '/v1/kinds', { ...kind, kind: 'Other', plural: 'others', schema: { type: 'string' } })).body.error.details).toEqual([{ path: 'schema', rule: 'type' }]);
    expect((await api.call('GET', '/v1/kinds/bk')).body.kind).toBe('Bucket');

    const created = await api.call('POST', '/v1/buckets', { metadata: { name: 'b', project: 'p' }, spec: { size: 3, password: 'pw-canary-1' } });
    expect(created.status).toBe(201);
    expect(created.body.metadata.finalizers).toEqual(['storage-controller']);
    expect(created.body.spec.password).toBe(REDACTED);
    expect((await api.call('POST', '/v1/buckets', { metadata: { name: 'c', project: 'p' }, spec: { size: 3, extra: true } })).body.error.details).toEqual([{ path: 'spec.extra', rule: 'additionalProperties' }]);
    const kinds = (await api.call('GET', '/v1/kinds')).body.items.map((k: { kind: string }) => k.kind);
    expect(kinds).toEqual(expect.arrayContaining(['AwsAccount', 'ClusterDefinition', 'ClusterInstance', 'WorkloadDefinition', 'WorkloadInstance', 'Bucket']));
  });

  it('exposes Prometheus metrics: request latency by route template, delivery latency and backlog', async () => {
    await waitUntil(async () => (await api.sql('select count(*)::int as n from outbox'))[0].n === 0, 'the outbox to drain');
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).toMatch(/tugboat_http_requests_total\{route="\/v1\/:plural",method="POST",status="201"\} [1-9]\d*/);
    expect(text).toMatch(/tugboat_http_request_duration_seconds_count\{route="\/v1\/:plural",method="POST"\} [1-9]\d*/);
    expect(text).not.toMatch(/route="\/v1\/workloadinstances/);
    expect(text).toMatch(/tugboat_outbox_commit_to_publish_seconds_count [1-9]\d*/);
    expect(text).toMatch(/^tugboat_relay_published_total [1-9]\d*$/m);
    expect(text).toContain('tugboat_outbox_relay_active 1');
    expect(text).toMatch(/^tugboat_outbox_pending_rows 0$/m);
    // One metric per measure: the older names of the same measures are gone.
    for (const duplicate of ['tugboat_api_http_request_seconds', 'tugboat_outbox_published_total', 'tugboat_outbox_backlog']) expect(text).not.toContain(duplicate);
  });

  it('logs JSON with request ids and never a request body', async () => {
    const response = await fetch(`${api.url}/v1/whoami`, { headers: { authorization: 'Bearer test-admin-token', 'x-request-id': 'req-abc-123' } });
    expect(response.headers.get('x-request-id')).toBe('req-abc-123');
    await waitUntil(() => api.logText().includes('req-abc-123'), 'the access log line');
    const line = api.logText().split('\n').find((l) => l.includes('req-abc-123'))!;
    expect(JSON.parse(line)).toMatchObject({ reqId: 'req-abc-123', method: 'GET', path: '/v1/whoami', status: 200, actor: 'admin', msg: 'request' });
    expect(api.logText()).toContain('"msg":"api listening"');
  });
});
