/**
 * Secret key rotation on real Postgres: the API refuses a shared database without keys, moves
 * stored values to a new current key in the background without touching the objects, and refuses
 * to start without a key that stored values still need. Then: a re-seal racing a write loses neither.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { streamNames, type SecretKeyStatus } from '@tugboat/resource-model';
import pg from 'pg';
import { pino } from 'pino';
import { createApiServer, type ApiServer, type ApiServerOptions } from './api-server.js';
import { ADMIN_TOKEN, TEST_DATABASE_URL, TEST_NATS_URL, uniqueName, waitUntil } from './api-test-harness.js';
import type { SecretKey } from './secret-box.js';

const apiDir = fileURLToPath(new URL('..', import.meta.url));
const key = (id: string): SecretKey => ({ id, key: randomBytes(32) });
const ACCOUNTS = 12;

describe('secret key rotation', () => {
  const schema = uniqueName('keys_test');
  const prefix = uniqueName('k');
  const [k1, k2, k3] = [key('k1'), key('k2'), key('k3')];
  const running: ApiServer[] = [];
  let pool: pg.Pool;
  let controllerToken = '';

  async function startApi(keys: SecretKey[], extra: Partial<ApiServerOptions> = {}): Promise<{ server: ApiServer; url: string }> {
    const server = createApiServer({
      databaseUrl: TEST_DATABASE_URL,
      schema,
      prefix,
      natsUrl: TEST_NATS_URL,
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN_TOKEN,
      secretKeys: keys,
      logger: pino({ level: 'silent' }),
      // No relay: the outbox rows stay, so a test sees that a re-seal adds none.
      relay: { enabled: false },
      retention: { enabled: false },
      // Small batches, so a pass takes several statements.
      secretReseal: { batchSize: 5 },
      ...extra,
    });
    running.push(server);
    try {
      return { server, url: (await server.start()).url };
    } catch (error) {
      await server.stop().catch(() => undefined);
      throw error;
    }
  }

  async function stopAll(): Promise<void> {
    for (const server of running.splice(0)) await server.stop();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers loosely
  async function call(url: string, method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<{ status: number; body: any }> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  const secretOf = (i: number) => `secret-${i}-${'x'.repeat(i)}`;
  const keyStatus = async (url: string): Promise<SecretKeyStatus> => (await call(url, 'GET', '/v1/admin/keys')).body as SecretKeyStatus;
  const untouched = async () =>
    (await pool.query(`select (select json_agg(json_build_object('uid', uid, 'rv', resource_version, 'at', updated_at) order by uid) from resources) as rows,
                              (select count(*) from revisions) as revisions, (select count(*) from outbox) as outbox`)).rows[0];

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 3, options: `-c search_path=${schema}` });
  });
  afterAll(async () => {
    await stopAll();
    await pool.query(`drop schema if exists "${schema}" cascade`);
    await pool.end();
    const nc = await connect({ servers: TEST_NATS_URL });
    await (await jetstreamManager(nc)).streams.delete(streamNames(prefix).eventsStream).catch(() => undefined);
    await nc.close();
  });

  it('refuses a shared database without keys, naming TUGBOAT_SECRET_KEYS and how to make one', async () => {
    await expect(startApi([], { secretKeys: undefined })).rejects.toThrow(/TUGBOAT_SECRET_KEYS is required with DATABASE_URL; make one with: .*openssl rand -base64 32/);
    running.splice(0);
  });

  it('moves every value to the new key, lets the old key go once none is left, and refuses a start without a key still in use', async () => {
    const first = await startApi([k1]);
    for (let i = 0; i < ACCOUNTS; i += 1) {
      const created = await call(first.url, 'POST', '/v1/awsaccounts', { metadata: { name: `a-${i}` }, spec: { accountId: '123456789012', region: 'eu-west-1', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: secretOf(i) } });
      expect(created.status).toBe(201);
    }
    controllerToken = (await call(first.url, 'POST', '/v1/tokens', { name: 'infra', type: 'controller', controller: 'infra-controller' })).body.token;
    expect(await keyStatus(first.url)).toEqual({ current: 'k1', keys: [{ id: 'k1', current: true, values: ACCOUNTS }], unknown: [] });
    // Admin only.
    expect((await call(first.url, 'GET', '/v1/admin/keys', undefined, controllerToken)).status).toBe(403);
    const before = await untouched();
    await stopAll();

    // The new key first, the old one still listed: the background pass (first run at start) moves every value.
    const rotated = await startApi([k2, k1]);
    const settled = await waitUntil(async () => {
      const status = await keyStatus(rotated.url);
      return status.keys.find((k) => k.id === 'k1')?.values === 0 ? status : undefined;
    }, '0 values on k1');
    expect(settled).toEqual({
      current: 'k2',
      keys: [
        { id: 'k2', current: true, values: ACCOUNTS },
        { id: 'k1', current: false, values: 0 },
      ],
      unknown: [],
    });
    // The objects did not change: same resource versions and times, no revision, no outbox row.
    expect(await untouched()).toEqual(before);
    expect(await rotated.server.secretReseal.reseal()).toEqual({ rowsResealed: 0, valuesResealed: 0, rowsChanged: 0, valuesSkipped: 0 });
    await stopAll();

    // Only the new key: every value still opens, unchanged.
    const dropped = await startApi([k2]);
    for (let i = 0; i < ACCOUNTS; i += 1) {
      const read = await call(dropped.url, 'GET', `/v1/awsaccounts/a-${i}/secrets`, undefined, controllerToken);
      expect(read).toEqual({ status: 200, body: { secretAccessKey: secretOf(i) } });
    }
    await stopAll();

    // A key that is not k2: refused before anything becomes unreadable, naming the key id and the count.
    await expect(startApi([k3])).rejects.toThrow(`stored secret values are sealed with key id "k2" (${ACCOUNTS} values) missing from TUGBOAT_SECRET_KEYS (given: k3)`);
    await stopAll();
  });

  it('loses neither a write nor the re-seal when a write lands between its read and its write', async () => {
    // Values sealed with k3 (k2's are in place already): the server below seals with k2 and still opens k3.
    const seeded = await startApi([k3, k2], { secretReseal: { enabled: false } });
    for (let i = 0; i < 3; i += 1) {
      expect((await call(seeded.url, 'POST', '/v1/awsaccounts', { metadata: { name: `r-${i}` }, spec: { accountId: '123456789012', region: 'eu-west-1', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: `race-${i}` } })).status).toBe(201);
    }
    await stopAll();
    const { server, url } = await startApi([k2, k3], { secretReseal: { enabled: false, batchSize: 5 } });

    // An open transaction holds r-0's row lock, as a slow writer would.
    const holder = await pool.connect();
    try {
      await holder.query('begin');
      await holder.query(`select 1 from resources where kind = 'AwsAccount' and name = 'r-0' for update`);
      const holderPid = Number((await holder.query('select pg_backend_pid() as pid')).rows[0].pid);
      const blockedBy = async (pids: number[]) =>
        (await pool.query<{ pid: number }>('select pid from pg_stat_activity where pg_blocking_pids(pid) && $1::int[]', [pids])).rows.map((r) => Number(r.pid));

      // The API's write waits for the lock; the re-seal reads the row as it is (k3) and waits behind it.
      const write = call(url, 'PATCH', '/v1/awsaccounts/r-0', { spec: { secretAccessKey: 'written-during-reseal' } });
      const writerPid = await waitUntil(async () => (await blockedBy([holderPid]))[0], 'the write to wait for the row');
      const reseal = server.secretReseal.reseal();
      await waitUntil(async () => (await blockedBy([holderPid, writerPid])).some((pid) => pid !== writerPid), 'the re-seal to wait for the row');
      await holder.query('rollback');

      expect((await write).status).toBe(200);
      // The write came first: the re-seal finds the row changed and leaves it; the others it moves.
      expect(await reseal).toEqual({ rowsResealed: 2, valuesResealed: 2, rowsChanged: 1, valuesSkipped: 0 });
    } finally {
      holder.release();
    }
    const read = async (name: string) => (await call(url, 'GET', `/v1/awsaccounts/${name}/secrets`, undefined, controllerToken)).body;
    expect(await read('r-0')).toEqual({ secretAccessKey: 'written-during-reseal' });
    expect(await read('r-1')).toEqual({ secretAccessKey: 'race-1' });
    expect(await read('r-2')).toEqual({ secretAccessKey: 'race-2' });
    // The written value was sealed with the current key: nothing is left on k3.
    expect((await keyStatus(url)).keys).toEqual([
      { id: 'k2', current: true, values: ACCOUNTS + 3 },
      { id: 'k3', current: false, values: 0 },
    ]);
    await stopAll();
  });

  it('main.ts: exits non-zero with a fatal line naming TUGBOAT_SECRET_KEYS, for a missing or unusable value, never echoing a key', async () => {
    const run = async (keys: string | undefined) => {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, TUGBOAT_ADMIN_TOKEN: ADMIN_TOKEN, PORT: '0' };
      if (keys === undefined) delete env['TUGBOAT_SECRET_KEYS'];
      else env['TUGBOAT_SECRET_KEYS'] = keys;
      const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@tugboat/source', 'src/main.ts'], { cwd: apiDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += String(chunk)));
      child.stderr.on('data', (chunk) => (output += String(chunk)));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      return { code, output };
    };
    const short = randomBytes(16).toString('base64');
    const [missing, tooShort] = await Promise.all([run(undefined), run(`k1:${short}`)]);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('"level":60');
    expect(missing.output).toContain('TUGBOAT_SECRET_KEYS is required with DATABASE_URL; make one with: TUGBOAT_SECRET_KEYS=\\"k1:$(openssl rand -base64 32)\\"');
    expect(tooShort.code).toBe(2);
    expect(tooShort.output).toContain('TUGBOAT_SECRET_KEYS entry 1 (key id \\"k1\\"): the key is 16 bytes, must be 32');
    expect(tooShort.output).not.toContain(short);
  });
});
