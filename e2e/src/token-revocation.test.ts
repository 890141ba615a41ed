/**
 * Revocation on two replicas: two real API processes on one schema and one NATS prefix. A token
 * made with the real `tug` works on both; revoked through one, it answers 401 on the other within
 * a second (measured from the revoke request, by polling the other replica until it refuses), and
 * `tug token list` against the other shows when.
 */
import { createApiClient } from '@tugboat/api-client';
import { runTug, startApiProcess, startApiReplica, type ApiProcess } from './harness/cli-processes.js';

let primary: ApiProcess | undefined;
let replica: ApiProcess | undefined;

beforeAll(async () => {
  primary = await startApiProcess({ name: 'tokrev', projects: ['rev'] });
  replica = await startApiReplica(primary);
});

afterAll(async () => {
  await replica?.close();
  await primary?.close();
});

it('a token revoked through one API replica stops working on the other within one second', async () => {
  const one = primary!;
  const two = replica!;
  const created = await runTug(['token', 'create', 'ci-pipeline', '--project', 'rev', '--role', 'viewer', '--expires', '30d'], { env: { TUGBOAT_URL: one.url, TUGBOAT_TOKEN: one.adminToken } });
  expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(/^tug_[\w-]+\n$/) });
  const token = created.stdout.trim();
  const whoamiOnTwo = async () => (await fetch(`${two.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status;
  // Both replicas know it; the second now has it in its cache.
  expect((await createApiClient({ baseUrl: one.url, token }).whoami()).name).toBe('ci-pipeline');
  expect(await whoamiOnTwo()).toBe(200);
  expect(await whoamiOnTwo()).toBe(200);

  // A watch the token holds open on the other replica ends too, saying why.
  const watch = await fetch(`${two.url}/v1/watch?kinds=Project`, { headers: { authorization: `Bearer ${token}` } });
  expect(watch.status).toBe(200);
  const watchEnded = (async () => {
    let text = '';
    for await (const chunk of watch.body as AsyncIterable<Uint8Array>) text += Buffer.from(chunk).toString('utf8');
    return { text, at: performance.now() };
  })();

  const started = performance.now();
  const revoked = await createApiClient({ baseUrl: one.url, token: one.adminToken }).revokeToken('ci-pipeline');
  let status = await whoamiOnTwo();
  while (status !== 401 && performance.now() - started < 5_000) status = await whoamiOnTwo();
  const tookMs = performance.now() - started;
  expect(status).toBe(401);
  expect(tookMs).toBeLessThan(1_000);
  const ended = await watchEnded;
  expect(ended.text).toContain('event: error\ndata: {"code":"Unauthenticated","message":"token \\"ci-pipeline\\" was revoked"}');
  expect(ended.at - started).toBeLessThan(1_000);
  process.stdout.write(`token revocation felt by the other replica after ${tookMs.toFixed(1)} ms; its open watch ended after ${(ended.at - started).toFixed(1)} ms\n`);

  const refused = await fetch(`${two.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(`token "ci-pipeline" was revoked at ${revoked.revokedAt}; the admin can create a new one`);
  const listed = await runTug(['token', 'list', '-o', 'json'], { env: { TUGBOAT_URL: two.url, TUGBOAT_TOKEN: two.adminToken } });
  expect(JSON.parse(listed.stdout).items).toEqual([expect.objectContaining({ name: 'ci-pipeline', revokedAt: revoked.revokedAt, lastUsedAt: expect.any(String) })]);
});
