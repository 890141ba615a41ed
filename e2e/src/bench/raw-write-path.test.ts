/**
 * A fast smoke of the benchmark's matched baseline (the benchmark itself runs only under
 * `pnpm bench`): its statements still fit the schema the migrations make, a create writes the rows
 * an API create writes (resource, revision, outbox row, and the reference row for a kind with a
 * reference), concurrent creates share a statement, and its relay empties the outbox onto the
 * stream with the API's message ids.
 */
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventSubject } from '@tugboat/resource-model';
import pg from 'pg';
import { DATABASE_URL, NATS_URL, dropSchema, uniqueName, waitUntil } from '../harness/cli-processes.js';
import { sealedLike, startRawWritePath, type RawObject, type RawWritePath } from './raw-write-path.js';

const schema = uniqueName('rawsmoke');
const prefix = uniqueName('rawsmoke');
let raw: RawWritePath;
let nc: NatsConnection;
let client: pg.Client;

beforeAll(async () => {
  raw = await startRawWritePath({ schema, prefix, applicationName: `${schema}-client`, poolSize: 4, maxInFlight: 1, maxBatch: 64, relayBatch: 256 });
  nc = await connect({ servers: NATS_URL });
  client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
});

afterAll(async () => {
  await raw?.close();
  await client?.end();
  await nc?.close();
  await dropSchema(schema);
});

const object = (name: string, extra: Partial<RawObject> = {}): RawObject => ({
  uid: randomUUID(),
  kind: 'Widget',
  project: 'p',
  name,
  labels: { tier: 'web' },
  spec: { image: 'x' },
  secrets: {},
  finalizers: ['c'],
  actor: 'tester',
  ...extra,
});

const count = async (table: string) => Number((await client.query<{ n: string }>(`select count(*)::text as n from "${schema}"."${table}"`)).rows[0]!.n);

test('writes the rows of an API create, batches concurrent creates, and drains the outbox to the stream', async () => {
  await raw.create(object('p', { kind: 'Project', project: '', finalizers: [] }));
  await raw.create(object('store', { kind: 'Store' }));
  const widgets = Array.from({ length: 5 }, (_, i) => object(`w-${i}`));
  await Promise.all(widgets.map((w) => raw.create(w)));
  const vault = object('v', { kind: 'Vault', spec: { password: '<redacted>' }, secrets: { password: sealedLike('secret') }, reference: { path: 'storeRef', kind: 'Store', name: 'store' } });
  await raw.create(vault);

  // The Project and seven objects in it.
  expect(await count('resources')).toBe(8);
  expect(await count('revisions')).toBe(8);
  expect(await count('references')).toBe(1);
  // An audit record per create, as the API writes it (a Project's under its own name).
  expect(await count('audit_records')).toBe(8);
  const { rows: audited } = await client.query<{ project: string | null; action: string; status: number }>(`select project, action, status from "${schema}".audit_records where name = 'v' or name = 'p' order by name`);
  expect(audited).toEqual([{ project: 'p', action: 'create', status: 201 }, { project: 'p', action: 'create', status: 201 }]);
  // The first widget goes alone; the four that arrived meanwhile share the next statement.
  const { rows } = await client.query<{ n: string }>(`select count(distinct created_at)::text as n from "${schema}".resources where kind = 'Widget'`);
  expect(Number(rows[0]!.n)).toBeLessThan(5);

  await waitUntil(async () => (await count('outbox')) === 0, 'the raw relay to drain the outbox', 20_000);
  const jsm = await jetstreamManager(nc);
  expect((await jsm.streams.info(raw.streamName)).state.messages).toBe(8);
  const last = await jsm.streams.getMessage(raw.streamName, { last_by_subj: eventSubject(prefix, { kind: 'Vault', project: 'p', name: 'v' }, 'spec') });
  const { rows: stored } = await client.query<{ uid: string; resource_version: string }>(`select uid, resource_version::text from "${schema}".resources where name = 'v'`);
  expect(last?.header?.get('Nats-Msg-Id')).toBe(`${stored[0]!.uid}/${stored[0]!.resource_version}`);
});
