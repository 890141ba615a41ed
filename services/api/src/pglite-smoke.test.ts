/** What a newcomer gets: no DATABASE_URL, embedded Postgres (PGlite) in a data directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, waitUntil, type TestApi } from './api-test-harness.js';

describe('API on embedded Postgres (PGlite)', () => {
  let api: TestApi;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tugboat-pglite-'));
    api = await startTestApi({ pglite: true, dataDir: join(dataDir, 'pgdata'), stateDir: dataDir });
  });
  afterAll(async () => {
    await api?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates and reads an object and publishes its event', async () => {
    const created = await api.call('POST', '/v1/clusterdefinitions', {
      metadata: { name: 'std', labels: { tier: 'prod' } },
      spec: { provider: 'eks', allowedVersions: ['1.30'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['m5.large'] },
    });
    expect(created.status).toBe(201);
    expect(api.server.database.engine).toBe('pglite');
    const read = await api.call('GET', '/v1/clusterdefinitions/std');
    expect(read.body).toEqual(created.body);
    expect((await api.call('GET', '/v1/clusterdefinitions?labelSelector=tier=prod')).body.items).toHaveLength(1);
    const published = await api.waitForEvent((e) => e.event.uid === created.body.metadata.uid);
    expect(published.msgId).toBe(`${created.body.metadata.uid}/${created.body.metadata.resourceVersion}`);
    await waitUntil(async () => (await api.sql('select count(*)::int as n from outbox'))[0].n === 0, 'the outbox to drain');
  });
});
