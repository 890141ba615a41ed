/**
 * `main.ts` as a separate process, the way e2e tests and `tug up` start it: the listening log line,
 * readiness, the test-only kill points, recovery by the next start, and graceful SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { streamNames, type ChangeEvent } from '@tugboat/resource-model';
import pg from 'pg';
import { ADMIN_TOKEN, TEST_DATABASE_URL, TEST_NATS_URL, uniqueName, waitUntil } from './api-test-harness.js';

const apiDir = fileURLToPath(new URL('..', import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('api process (main.ts)', () => {
  const schema = uniqueName('main_test');
  const prefix = uniqueName('m');
  const secretKeys = `k1:${randomBytes(32).toString('base64')}`;
  const children: ChildProcess[] = [];
  let nc: NatsConnection;
  const received: ChangeEvent[] = [];

  async function start(extraEnv: Record<string, string> = {}): Promise<Started> {
    // Node itself (tsx as a loader), so the exit status is the process's own, not a wrapper's.
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@tugboat/source', 'src/main.ts'], {
      cwd: apiDir,
      env: {
        ...process.env,
        DATABASE_URL: TEST_DATABASE_URL,
        DATABASE_SCHEMA: schema,
        NATS_URL: TEST_NATS_URL,
        TUGBOAT_NATS_PREFIX: prefix,
        TUGBOAT_ADMIN_TOKEN: ADMIN_TOKEN,
        TUGBOAT_SECRET_KEYS: secretKeys,
        PORT: '0',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += String(chunk)));
    child.stderr!.on('data', (chunk) => (output += String(chunk)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const port = await waitUntil(
      () => {
        const line = output.split('\n').find((l) => l.includes('"msg":"api listening"'));
        return line ? (JSON.parse(line) as { port: number }).port : undefined;
      },
      'the "api listening" line',
      20_000,
    );
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(async () => (await fetch(`${url}/readyz`)).status === 200, '/readyz 200');
    return { child, url, output: () => output, exited };
  }

  async function post(url: string, name: string): Promise<Response> {
    return fetch(`${url}/v1/clusterdefinitions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name }, spec: { provider: 'eks', allowedVersions: ['1.30'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['m5.large'] } }),
    });
  }

  const publishedNames = () => received.map((e) => e.name);

  beforeAll(async () => {
    nc = await connect({ servers: TEST_NATS_URL });
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(streamNames(prefix).eventsStream).catch(() => undefined);
    await nc.close();
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });

  it('dies at its kill points without losing a committed change, and stops gracefully on SIGTERM', async () => {
    // 1. The relay lets one row through, then dies before publishing the next.
    const first = await start({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'relay-before-publish', TUGBOAT_KILL_POINT_AFTER: '1' });
    const messages = await (await jetstream(nc).consumers.get(streamNames(prefix).eventsStream)).consume();
    void (async () => {
      for await (const m of messages as AsyncIterable<JsMsg>) received.push(m.json<ChangeEvent>());
    })();
    expect((await post(first.url, 'one')).status).toBe(201);
    await waitUntil(() => publishedNames().includes('one'), 'the first event');
    // The relay may die before or after this answer is sent; the commit happened either way.
    const two = await post(first.url, 'two').catch(() => undefined);
    if (two) expect(two.status).toBe(201);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(publishedNames()).not.toContain('two');

    // 2. The next start publishes what the dead relay left; its write path dies right after a commit.
    const second = await start({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'after-commit' });
    await waitUntil(() => publishedNames().includes('two'), 'the event the dead relay left behind');
    await expect(post(second.url, 'three')).rejects.toThrow();
    expect(await second.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // 3. A clean start: the committed-but-unanswered write is there and its event goes out.
    const third = await start();
    for (const name of ['two', 'three']) {
      const read = await fetch(`${third.url}/v1/clusterdefinitions/${name}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(read.status).toBe(200);
    }
    await waitUntil(() => publishedNames().includes('three'), 'the event of the write that died before its answer');
    expect(publishedNames().filter((n) => n === 'one')).toHaveLength(1);
    await messages.close();

    third.child.kill('SIGTERM');
    expect(await third.exited).toEqual({ code: 0, signal: null });
    expect(third.output()).toContain('"msg":"api stopped"');
  });
});
