/**
 * examples/ci/create-release.sh, the release step of the example CI workflow, run as the workflow
 * runs it (`sh`, the environment, the repository's `tug`) against a small HTTP server that answers
 * `POST /v1/releases` as the API does: the request it makes, the name it prints, and the errors
 * for a missing variable or a digest that is not one, before any request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { NODE_TS, REPO_ROOT, startChild } from './harness/cli-processes.js';

const SCRIPT = join(REPO_ROOT, 'examples/ci/create-release.sh');
const DIGEST = `sha256:${'ab12'.repeat(16)}`;
const COMMIT = '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

let server: Server;
let url: string;
const seen: Seen[] = [];

beforeAll(async () => {
  const kinds = [{ kind: 'Release', plural: 'releases', singular: 'release', shortNames: ['rel'], scope: 'Project', controller: 'tugboat-api', schema: {}, references: [], secretFields: [] }];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization, body: text === '' ? undefined : JSON.parse(text) });
      const answer =
        path === '/v1/kinds' ? { status: 200, body: { items: kinds } } : req.method === 'POST' && path === '/v1/releases' ? { status: 201, body: JSON.parse(text) } : { status: 404, body: { error: { code: 'NotFound', message: `no route ${path}`, details: [] } } };
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => void seen.splice(0));

/** The workflow's environment for the step; `PATH` only from outside, so nothing else leaks in. */
function pipelineEnv(): Record<string, string | undefined> {
  return {
    PATH: process.env['PATH'],
    IMAGE: 'ghcr.io/example-org/shop-web',
    DIGEST,
    COMMIT,
    BUILD_URL: 'https://github.com/example-org/shop/actions/runs/42',
    APPLICATION: 'shop',
    COMPONENT: 'web',
    PROJECT: 'shop',
    TUGBOAT_URL: url,
    TUGBOAT_TOKEN: 'tug_ci_token',
    TUG: [...NODE_TS, join(REPO_ROOT, 'libs/cli/src/bin.ts')].join(' '),
  };
}

async function runScript(env: Record<string, string | undefined>) {
  const child = startChild('sh', [SCRIPT], env);
  let stdout = '';
  child.process.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const { code } = await child.exited;
  return { code, stdout, output: child.output() };
}

it('creates the Release of the build with the token, and prints its name alone', async () => {
  const run = await runScript(pipelineEnv());
  expect(run.code).toBe(0);
  expect(run.stdout).toBe('shop-web-ab12ab12ab12\n');
  expect(seen.filter((r) => r.path !== '/v1/kinds')).toEqual([
    {
      method: 'POST',
      path: '/v1/releases',
      authorization: 'Bearer tug_ci_token',
      body: {
        kind: 'Release',
        metadata: { name: 'shop-web-ab12ab12ab12', project: 'shop' },
        spec: {
          application: { name: 'shop' },
          component: 'web',
          image: `ghcr.io/example-org/shop-web@${DIGEST}`,
          commit: COMMIT,
          buildUrl: 'https://github.com/example-org/shop/actions/runs/42',
        },
      },
    },
  ]);
}, 30_000);

it('names every missing variable, and refuses a digest that is not one, before any request (exit 2)', async () => {
  const missing = await runScript({ ...pipelineEnv(), COMMIT: undefined, TUGBOAT_TOKEN: '' });
  expect(missing.code).toBe(2);
  expect(missing.output).toBe('create-release.sh: missing environment variable(s): COMMIT TUGBOAT_TOKEN; set them as examples/ci/README.md says\n');
  const tag = await runScript({ ...pipelineEnv(), DIGEST: 'latest' });
  expect(tag.code).toBe(2);
  expect(tag.output).toContain('DIGEST: "latest" is not sha256:<64 hex>');
  const short = await runScript({ ...pipelineEnv(), DIGEST: 'sha256:ab12' });
  expect(short.code).toBe(2);
  expect(short.output).toContain('pin the image by digest: repo@sha256:<64 hex>');
  expect(seen.filter((r) => r.path !== '/v1/kinds')).toEqual([]);
}, 30_000);
