import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isAlive, NODE_TS, runTug, startChild, waitForReady, waitUntil, type Child } from './harness/cli-processes.js';

// `tug up` as a user runs it: separate processes, embedded Postgres, a local nats-server and the
// sandbox; then the CLI against it with the token it saved, then SIGTERM.
let stateDir: string;
let up: Child | undefined;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'tug-up-smoke-'));
});

afterAll(async () => {
  if (up !== undefined && up.process.exitCode === null) {
    up.process.kill('SIGKILL');
    await up.exited;
  }
  await rm(stateDir, { recursive: true, force: true });
});

it('runs every process, serves the CLI, and stops them all on SIGTERM', async () => {
  const [apiPort, natsPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
  up = startChild(
    NODE_TS[0],
    [...NODE_TS.slice(1), 'libs/cli/src/bin.ts', 'up', '--state-dir', stateDir, '--port', String(apiPort), '--nats-port', String(natsPort), '--sandbox-port', String(sandboxPort)],
    { ...process.env, DATABASE_URL: 'postgres://must-not-be-used@127.0.0.1:1/none', TUGBOAT_TOKEN: undefined },
  );
  const api = `http://127.0.0.1:${apiPort}`;
  await waitForReady(`${api}/readyz`, up, 90_000);
  await waitUntil(() => up!.output().includes('Tugboat is up.'), 'the banner');
  expect(up.output()).toContain(`API          ${api}`);
  expect((await stat(join(stateDir, 'admin-token'))).mode & 0o777).toBe(0o600);

  // The token comes from the state directory, as after `pnpm start`.
  const env = { TUGBOAT_URL: api, TUGBOAT_STATE_DIR: stateDir };
  const applied = await runTug(['apply', '-f', 'examples/first-app.yaml'], { env });
  expect(applied).toMatchObject({ code: 0, stderr: '' });
  expect(applied.stdout).toContain('WorkloadInstance/hello created');
  const got = await runTug(['get', 'workloadinstances', '-p', 'team-a'], { env });
  expect(got.code).toBe(0);
  expect(got.stdout).toMatch(/^hello\s+team-a\s+Pending\s+-\s+1\s/m);

  const pids = [...up.output().matchAll(/started (\S+) \(pid (\d+)\)/g)].map((match) => ({ name: match[1]!, pid: Number(match[2]) }));
  expect(pids.map((entry) => entry.name)).toEqual(expect.arrayContaining(['nats', 'sandbox', 'api']));
  expect(pids.every((entry) => isAlive(entry.pid))).toBe(true);

  up.process.kill('SIGTERM');
  expect(await up.exited).toEqual({ code: 0, signal: null });
  for (const { name } of pids) expect(up.output()).toMatch(new RegExp(`${name} exited with code 0`));
  expect(pids.filter((entry) => isAlive(entry.pid))).toEqual([]);
}, 120_000);
