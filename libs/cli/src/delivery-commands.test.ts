/**
 * `tug release create` and `tug rollout approve|reject|history|undo` against a small HTTP server
 * that answers as the API's routes do (`POST /v1/rollouts/{name}/approve|reject`,
 * `POST /v1/applications/{name}/undo`, the generic list and create; e2e/src/cli-rollout.test.ts runs
 * the same commands against the real API): what each command sends (method, path, query, body) and
 * what it prints.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Rollout, RolloutDecision, RolloutRelease, RolloutState } from '@tugboat/api-client';
import { matchesLabelSelector, parseLabelSelector, type KindDefinition } from '@tugboat/resource-model';
import { describeRollout } from './commands/rollout-command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './describe-error.js';
import { runCli } from './run-cli.js';

const DIGEST = '0123456789abcdef'.repeat(4);
const OTHER_DIGEST = 'fedcba9876543210'.repeat(4);
const IMAGE = `registry.example.com/shop/web@sha256:${DIGEST}`;
const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const AT = '2027-03-01T12:00:00.000Z';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

function kind(name: string, plural: string, shortNames: string[] = []): KindDefinition {
  return { kind: name, plural, singular: name.toLowerCase(), shortNames, scope: 'Project', controller: 'tugboat-api', schema: { type: 'object' }, references: [], secretFields: [] };
}

function rollout(tier: string, revision: number, state: RolloutState, releases: RolloutRelease[], more: { decision?: RolloutDecision; cause?: Rollout['spec']['cause'] } = {}): Rollout {
  const name = `shop-${tier}-${revision}`;
  return {
    apiVersion: 'tugboat.dev/v1',
    kind: 'Rollout',
    metadata: {
      name,
      project: 'team-a',
      uid: `uid-${name}`,
      labels: { 'tugboat.dev/application': 'shop', 'tugboat.dev/tier': tier },
      generation: 1,
      resourceVersion: String(revision),
      finalizers: [],
      deletionRequestedAt: null,
      createdAt: `2027-03-0${revision}T10:00:00.000Z`,
      updatedAt: `2027-03-0${revision}T10:00:00.000Z`,
    },
    spec: { application: { name: 'shop' }, tier, revision, cause: more.cause ?? 'release', releases, changes: [], contentHash: `sha256:${revision}` },
    status: {
      state,
      phase: state === 'Applied' ? 'Ready' : state === 'PendingApproval' ? 'Pending' : 'Failed',
      ...(more.decision === undefined ? {} : { decision: more.decision }),
      ...(state === 'PendingApproval' ? { approvers: ['admin'], message: `waits for an approval by admin of the project: tug rollout approve ${name} (or reject it)` } : {}),
    },
  };
}

const web = (release: string, digest: string): RolloutRelease => ({ component: 'web', release, image: `registry.example.com/shop/web@sha256:${digest}` });

/** The rollouts the fake starts with: dev applied twice automatically, prod applied once and now pending. */
function startingRollouts(): Rollout[] {
  return [
    rollout('dev', 1, 'Applied', [web('shop-web-fedcba987654', OTHER_DIGEST)], { decision: { action: 'automatic', by: 'ci', at: '2027-03-01T10:00:05.123Z' } }),
    rollout('dev', 2, 'Applied', [web('shop-web-0123456789ab', DIGEST), { component: 'worker' }], {
      decision: { action: 'automatic', by: 'ci', at: '2027-03-02T10:00:05Z' },
    }),
    rollout('prod', 1, 'Applied', [web('shop-web-fedcba987654', OTHER_DIGEST)], { decision: { action: 'approve', by: 'alice', role: 'admin', at: '2027-03-01T11:00:00Z', message: 'ok' } }),
    rollout('prod', 2, 'PendingApproval', [web('shop-web-0123456789ab', DIGEST)]),
  ];
}

/** A stand-in for the API: the generic routes these commands use, and the three rollout routes. */
async function startContractApi() {
  const seen: Seen[] = [];
  const releases = new Map<string, { metadata: { name: string; project: string }; spec: Record<string, unknown> }>();
  const rollouts = startingRollouts();
  const problem = (status: number, code: string, message: string) => ({ status, body: { error: { code, message, details: [] } } });

  function decide(name: string, action: 'approve' | 'reject', body: { message?: string }) {
    if (name === 'shop-prod-9') return problem(403, 'Forbidden', 'user "dev" may not approve in tier prod: the policy names the roles admin');
    const found = rollouts.find((item) => item.metadata.name === name);
    if (found === undefined) return problem(404, 'NotFound', `Rollout "${name}" not found in project team-a`);
    if (found.status.state !== 'PendingApproval') return problem(409, 'Conflict', `rollout ${name} is ${found.status.state}, not PendingApproval`);
    found.status = {
      ...found.status,
      state: action === 'approve' ? 'Applied' : 'Rejected',
      phase: action === 'approve' ? 'Ready' : 'Failed',
      conditions: [],
      decision: { action, by: 'alice', role: 'admin', at: AT, ...(body.message === undefined ? {} : { message: body.message }) },
    };
    return action === 'approve'
      ? {
          status: 200,
          body: {
            rollout: found,
            results: [
              { kind: 'WorkloadInstance', project: 'team-a', name: 'shop-web-prod-eu', action: 'updated' },
              { kind: 'SecretInstance', project: 'team-a', name: 'shop-db', action: 'unchanged' },
            ],
          },
        }
      : { status: 200, body: { rollout: found } };
  }

  function answer(request: Seen): { status: number; body?: unknown } {
    const { method, path, query } = request;
    if (method === 'GET' && path === '/v1/kinds') return { status: 200, body: { items: [kind('Release', 'releases', ['rel']), kind('Rollout', 'rollouts', ['ro']), kind('Application', 'applications')] } };
    if (method === 'POST' && path === '/v1/releases') {
      const input = request.body as { metadata: { name: string; project: string }; spec: Record<string, unknown> };
      if (releases.has(input.metadata.name)) return problem(409, 'Conflict', `Release "${input.metadata.name}" already exists in project ${input.metadata.project}`);
      releases.set(input.metadata.name, input);
      return { status: 201, body: { ...input, kind: 'Release', status: {} } };
    }
    const release = /^\/v1\/releases\/([^/]+)$/.exec(path);
    if (method === 'GET' && release) {
      const found = releases.get(release[1]!);
      return found === undefined ? problem(404, 'NotFound', 'not found') : { status: 200, body: { ...found, kind: 'Release', status: {} } };
    }
    if (method === 'GET' && path === '/v1/applications/shop' && query.project === 'team-a') return { status: 200, body: { kind: 'Application', metadata: { name: 'shop', project: 'team-a' }, spec: {}, status: {} } };
    if (method === 'GET' && path === '/v1/rollouts') {
      const selector = parseLabelSelector(query.labelSelector ?? '');
      return { status: 200, body: { items: rollouts.filter((item) => item.metadata.project === query.project && matchesLabelSelector(selector, item.metadata.labels)), metadata: {} } };
    }
    const decision = /^\/v1\/rollouts\/([^/]+)\/(approve|reject)$/.exec(path);
    if (method === 'POST' && decision) return decide(decision[1]!, decision[2] as 'approve' | 'reject', request.body as { message?: string });
    if (method === 'POST' && path === '/v1/applications/shop/undo') {
      const undone = [
        rollout('dev', 3, 'Applied', [web('shop-web-fedcba987654', OTHER_DIGEST)], { cause: 'undo', decision: { action: 'automatic', by: 'alice', at: AT } }),
        rollout('prod', 3, 'PendingApproval', [web('shop-web-fedcba987654', OTHER_DIGEST)], { cause: 'undo' }),
      ];
      return { status: 200, body: { rollouts: undone } };
    }
    return problem(404, 'NotFound', `no route ${method} ${path}`);
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const request: Seen = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), body: text === '' ? undefined : JSON.parse(text) };
      seen.push(request);
      const { status, body } = answer(request);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** What was sent, without the kinds discovery. */
    sent: () => seen.filter((r) => r.path !== '/v1/kinds'),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let api: Awaited<ReturnType<typeof startContractApi>>;
beforeEach(async () => {
  api = await startContractApi();
});
afterEach(async () => api.close());

async function tug(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    env: { TUGBOAT_TOKEN: 'tok', TUGBOAT_URL: api.url },
    cwd: '/',
  });
  return { code, stdout, stderr };
}

describe('tug release create', () => {
  it('creates a Release named after the application, component and digest, and prints the name alone', async () => {
    const created = await tug('release', 'create', 'shop', '-p', 'team-a', '--component', 'web', '--image', IMAGE, '--commit', COMMIT, '--build-url', 'https://ci.example.com/runs/42');
    expect(created).toEqual({
      code: EXIT_OK,
      stdout: 'shop-web-0123456789ab\n',
      stderr: 'release shop-web-0123456789ab created: application shop, component web, commit a1b2c3d4e5f6; see where it rolls out with: tug rollout history application/shop -p team-a\n',
    });
    expect(api.sent()).toEqual([
      {
        method: 'POST',
        path: '/v1/releases',
        query: {},
        body: {
          kind: 'Release',
          metadata: { name: 'shop-web-0123456789ab', project: 'team-a' },
          spec: { application: { name: 'shop' }, component: 'web', image: IMAGE, commit: COMMIT, buildUrl: 'https://ci.example.com/runs/42' },
        },
      },
    ]);
    const named = await tug('release', 'create', 'shop', '-p', 'team-a', '--component', 'web', '--image', IMAGE, '--commit', 'abc1234', '--name', 'shop-hotfix', '--description', 'the hotfix');
    expect(named.stdout).toBe('shop-hotfix\n');
    expect(api.sent().at(-1)!.body).toMatchObject({ metadata: { name: 'shop-hotfix' }, spec: { commit: 'abc1234', description: 'the hotfix' } });
  });

  it('answers a re-run of the same build with the same name, and refuses the name for another build', async () => {
    const argv = ['release', 'create', 'shop', '-p', 'team-a', '--component', 'web', '--image', IMAGE, '--commit', COMMIT];
    expect((await tug(...argv)).code).toBe(EXIT_OK);
    expect(await tug(...argv)).toEqual({ code: EXIT_OK, stdout: 'shop-web-0123456789ab\n', stderr: 'release shop-web-0123456789ab already exists for this image and commit; nothing changed\n' });
    const other = await tug('release', 'create', 'shop', '-p', 'team-a', '--component', 'web', '--image', IMAGE, '--commit', 'fffffff');
    expect(other.code).toBe(EXIT_FAILED);
    expect(other.stderr).toContain(`error: release "shop-web-0123456789ab" already exists for another build (image ${IMAGE}, commit ${COMMIT}); a Release cannot change: give another --name`);
    expect(api.sent().map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/releases',
      'POST /v1/releases',
      'GET /v1/releases/shop-web-0123456789ab',
      'POST /v1/releases',
      'GET /v1/releases/shop-web-0123456789ab',
    ]);
  });

  it('refuses an image not pinned by digest, a bad commit, a missing flag or project, before any request (exit 2)', async () => {
    const base = ['release', 'create', 'shop', '-p', 'team-a', '--component', 'web', '--commit', COMMIT];
    for (const image of ['registry.example.com/shop/web:1.4', 'registry.example.com/shop/web@sha256:0123', `web@sha256:${DIGEST.toUpperCase()}`]) {
      const refused = await tug(...base, '--image', image);
      expect(refused.code).toBe(EXIT_USAGE);
      expect(refused.stderr).toContain(
        `error: --image: "${image}" is not pinned by a digest: pin the image by digest: repo@sha256:<64 hex>; e.g. the output of docker buildx --metadata-file / \`docker inspect --format '{{index .RepoDigests 0}}'\``,
      );
    }
    const commit = await tug('release', 'create', 'shop', '-p', 'team-a', '--component', 'web', '--image', IMAGE, '--commit', 'main');
    expect([commit.code, commit.stderr.split('\n')[0]]).toEqual([EXIT_USAGE, 'error: --commit: "main" is not a commit id (7 to 64 lowercase hex characters, e.g. $GITHUB_SHA)']);
    const component = await tug('release', 'create', 'shop', '-p', 'team-a', '--image', IMAGE, '--commit', COMMIT);
    expect([component.code, component.stderr.split('\n')[0]]).toEqual([EXIT_USAGE, 'error: --component is required']);
    const long = await tug('release', 'create', 'a'.repeat(50), '-p', 'team-a', '--component', 'web', '--image', IMAGE, '--commit', COMMIT);
    expect([long.code, long.stderr]).toEqual([EXIT_USAGE, expect.stringContaining('is not a DNS label (at most 63 characters, a-z, 0-9 and -): pass --name')]);
    const url = await tug(...base, '--image', IMAGE, '--build-url', 'ci.example.com/42');
    expect([url.code, url.stderr.split('\n')[0]]).toEqual([EXIT_USAGE, 'error: --build-url: "ci.example.com/42" is not an http(s) URL']);
    const project = await tug('release', 'create', 'shop', '--component', 'web', '--image', IMAGE, '--commit', COMMIT);
    expect([project.code, project.stderr.split('\n')[0]]).toEqual([EXIT_USAGE, 'error: -p/--project is required to create a Release (it is project-scoped)']);
    expect(api.sent()).toEqual([]);
  });
});

describe('tug rollout approve / reject', () => {
  it('approves a rollout by name with a message, printing its state and the objects it changed', async () => {
    const approved = await tug('rollout', 'approve', 'shop-prod-2', '-p', 'team-a', '--message', 'checked on dev');
    expect(approved).toEqual({
      code: EXIT_OK,
      stdout:
        'approved rollout shop-prod-2 (application shop, tier prod, revision 2): web=shop-web-0123456789ab@0123456789ab: applied\n' +
        '  updated WorkloadInstance/shop-web-prod-eu\n',
      stderr: '',
    });
    expect(api.sent()).toEqual([{ method: 'POST', path: '/v1/rollouts/shop-prod-2/approve', query: { project: 'team-a' }, body: { message: 'checked on dev' } }]);
    // Decided already: the API's 409, exit 1.
    const again = await tug('rollout', 'approve', 'rollout/shop-prod-2', '-p', 'team-a');
    expect([again.code, again.stderr]).toEqual([EXIT_FAILED, 'error: rollout shop-prod-2 is Applied, not PendingApproval\n']);
    const forbidden = await tug('rollout', 'approve', 'shop-prod-9', '-p', 'team-a');
    expect([forbidden.code, forbidden.stderr]).toEqual([EXIT_FAILED, 'error: user "dev" may not approve in tier prod: the policy names the roles admin\n']);
  });

  it('finds the pending rollout of application/NAME in --tier through the labels, then rejects it', async () => {
    const rejected = await tug('rollout', 'reject', 'application/shop', '--tier', 'prod', '-p', 'team-a', '-m', 'wait for the fix');
    expect(rejected).toEqual({
      code: EXIT_OK,
      stdout: 'rejected rollout shop-prod-2 (application shop, tier prod, revision 2): web=shop-web-0123456789ab@0123456789ab: rejected\n',
      stderr: '',
    });
    expect(api.sent()).toEqual([
      { method: 'GET', path: '/v1/rollouts', query: { project: 'team-a', labelSelector: 'tugboat.dev/application=shop,tugboat.dev/tier=prod' }, body: undefined },
      { method: 'POST', path: '/v1/rollouts/shop-prod-2/reject', query: { project: 'team-a' }, body: { message: 'wait for the fix' } },
    ]);
    const none = await tug('rollout', 'approve', 'applications/shop', '--tier', 'prod', '-p', 'team-a');
    expect(none).toEqual({
      code: EXIT_FAILED,
      stdout: '',
      stderr:
        'error: no rollout of application shop waits for approval in tier prod (tug rollout history application/shop --tier prod -p team-a shows its rollouts)\n' +
        '  --tier: pending-rollout\n',
    });
  });

  it('refuses application/NAME without --tier, --tier with a rollout name, another kind, and no project (exit 2)', async () => {
    const noTier = await tug('rollout', 'approve', 'application/shop', '-p', 'team-a');
    expect([noTier.code, noTier.stderr.split('\n')[0]]).toEqual([EXIT_USAGE, 'error: --tier is required with application/shop: the tier whose pending rollout to approve']);
    const tier = await tug('rollout', 'reject', 'shop-prod-2', '--tier', 'prod', '-p', 'team-a');
    expect([tier.code, tier.stderr.split('\n')[0]]).toEqual([EXIT_USAGE, "error: --tier: only with application/NAME (a rollout's name names its tier already)"]);
    const release = await tug('rollout', 'approve', 'rel/shop-web-0123456789ab', '-p', 'team-a');
    expect([release.code, release.stderr.split('\n')[0]]).toEqual([EXIT_USAGE, `error: "rel/shop-web-0123456789ab" is a Release: give a rollout's name or application/NAME with --tier`]);
    const project = await tug('rollout', 'approve', 'shop-prod-2');
    expect([project.code, project.stderr.split('\n')[0]]).toEqual([EXIT_USAGE, 'error: -p/--project is required to approve a Rollout (it is project-scoped)']);
    expect(api.sent()).toEqual([]);
  });
});

describe('tug rollout history', () => {
  it('prints a table per tier, newest first, and names the rollout waiting for approval on stderr', async () => {
    const history = await tug('rollout', 'history', 'application/shop', '-p', 'team-a');
    expect(history.code).toBe(EXIT_OK);
    expect(history.stdout).toBe(
      [
        'tier dev:',
        'REVISION   STATE     RELEASES                                                      CAUSE     DECIDED BY   AT',
        '2          Applied   web=shop-web-0123456789ab@0123456789ab, worker=(definition)   release   automatic    2027-03-02T10:00:05Z',
        '1          Applied   web=shop-web-fedcba987654@fedcba987654                        release   automatic    2027-03-01T10:00:05Z',
        '',
        'tier prod:',
        'REVISION   STATE             RELEASES                                 CAUSE     DECIDED BY      AT',
        '2          PendingApproval   web=shop-web-0123456789ab@0123456789ab   release   -               2027-03-02T10:00:00Z',
        '1          Applied           web=shop-web-fedcba987654@fedcba987654   release   alice (admin)   2027-03-01T11:00:00Z',
        '',
      ].join('\n'),
    );
    expect(history.stderr).toBe(
      'rollout shop-prod-2 (application shop, tier prod, revision 2): web=shop-web-0123456789ab@0123456789ab: waits for approval by admin; to approve: tug rollout approve shop-prod-2 -p team-a\n',
    );
    expect(api.sent()).toEqual([{ method: 'GET', path: '/v1/rollouts', query: { project: 'team-a', labelSelector: 'tugboat.dev/application=shop' }, body: undefined }]);
  });

  it('filters by --tier, prints documents with -o json|yaml, and says when there is none', async () => {
    const json = await tug('rollout', 'history', 'shop', '-p', 'team-a', '--tier', 'dev', '-o', 'json');
    expect((JSON.parse(json.stdout) as { items: Rollout[] }).items.map((item) => item.metadata.name)).toEqual(['shop-dev-2', 'shop-dev-1']);
    expect(api.sent()[0]!.query).toEqual({ project: 'team-a', labelSelector: 'tugboat.dev/application=shop,tugboat.dev/tier=dev' });
    expect((await tug('rollout', 'history', 'application/shop', '-p', 'team-a', '-o', 'yaml')).stdout).toMatch(/^items:\n {2}- apiVersion: tugboat.dev\/v1\n {4}kind: Rollout\n/);
    expect(await tug('rollout', 'history', 'application/shop', '-p', 'team-a', '--tier', 'staging')).toEqual({
      code: EXIT_OK,
      stdout: '',
      stderr: 'no rollouts of application shop in tier staging yet (a release or a change of the Application writes one per tier)\n',
    });
    expect((await tug('rollout', 'history', 'application/shop', '-p', 'team-a', '-o', 'wide')).code).toBe(EXIT_USAGE);
  });

  it('fails with not found for an Application that does not exist, instead of an empty history', async () => {
    const missing = await tug('rollout', 'history', 'application/nosuch', '-p', 'team-a');
    expect(missing.code).not.toBe(EXIT_OK);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('application nosuch not found in project team-a');
  });
});

describe('tug rollout undo', () => {
  it('sends the tier, release and component, and prints each rollout: applied, or the command to approve it', async () => {
    const undone = await tug('rollout', 'undo', 'application/shop', '-p', 'team-a', '--tier', 'prod', '--to-release', 'shop-web-fedcba987654', '--component', 'web');
    expect(undone).toEqual({
      code: EXIT_OK,
      stdout:
        'rollout shop-dev-3 (application shop, tier dev, revision 3): web=shop-web-fedcba987654@fedcba987654: applied\n' +
        'rollout shop-prod-3 (application shop, tier prod, revision 3): web=shop-web-fedcba987654@fedcba987654: waits for approval by admin; ' +
        'to approve: tug rollout approve shop-prod-3 -p team-a\n',
      stderr: '',
    });
    await tug('rollout', 'undo', 'application/shop', '-p', 'team-a');
    expect(api.sent().map((r) => [r.method, r.path, r.query, r.body])).toEqual([
      ['POST', '/v1/applications/shop/undo', { project: 'team-a' }, { tier: 'prod', release: 'shop-web-fedcba987654', component: 'web' }],
      ['POST', '/v1/applications/shop/undo', { project: 'team-a' }, {}],
    ]);
  });
});

describe('describeRollout', () => {
  it('says what a rollout held for a required tier waits on, and whether a person must approve it then', () => {
    const waitingFor = 'release shop-web-0123456789ab (web) is not Ready in tier staging yet (DeliveryPolicy prod requires it)';
    const held = rollout('prod', 4, 'PendingApproval', [web('shop-web-0123456789ab', DIGEST)]);
    held.status.waitingFor = waitingFor;
    expect(describeRollout(held, 'team-a')).toBe(
      `rollout shop-prod-4 (application shop, tier prod, revision 4): web=shop-web-0123456789ab@0123456789ab: waits for approval by admin; held back: ${waitingFor}; to approve: tug rollout approve shop-prod-4 -p team-a`,
    );
    const automatic = rollout('qa', 2, 'Waiting', [web('shop-web-0123456789ab', DIGEST)]);
    automatic.status.waitingFor = waitingFor;
    expect(describeRollout(automatic, undefined)).toBe(`rollout shop-qa-2 (application shop, tier qa, revision 2): web=shop-web-0123456789ab@0123456789ab: held back: ${waitingFor}; it rolls out by itself then`);
    expect(describeRollout(rollout('qa', 1, 'Superseded', []), undefined)).toBe('rollout shop-qa-1 (application shop, tier qa, revision 1): superseded');
  });
});
