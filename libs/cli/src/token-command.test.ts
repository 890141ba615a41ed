/** `tug token create|list|revoke` against the in-memory fake API, on a fixed clock. */
import { createFakeApi, FAKE_TOKEN, type FakeApi } from '@tugboat/api-client/testing';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './describe-error.js';
import { runCli } from './run-cli.js';

const START = Date.parse('2027-03-01T12:00:00.000Z');
let clock = START;
let api: FakeApi;

beforeEach(() => {
  clock = START;
  api = createFakeApi({ now: () => new Date(clock) });
});

async function tug(argv: string[], token = FAKE_TOKEN) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    env: { TUGBOAT_TOKEN: token },
    cwd: '/',
    fetch: api.fetch,
    now: () => clock,
  });
  return { code, stdout, stderr };
}

describe('tug token create', () => {
  it('prints the new token alone on stdout, and what it made on stderr', async () => {
    expect(await tug(['token', 'create', 'deploy-bot', '--controller', 'deploy-controller'])).toEqual({
      code: EXIT_OK,
      stdout: 'tug_fake_1\n',
      stderr: 'token created for controller "deploy-bot" (controller deploy-controller); does not expire; it is not shown again\n',
    });
    expect(await tug(['token', 'create', 'ci-pipeline', '--expires', '30d'])).toEqual({
      code: EXIT_OK,
      stdout: 'tug_fake_2\n',
      stderr: 'token created for user "ci-pipeline"; expires 2027-03-31T12:00:00.000Z; it is not shown again\n',
    });
    expect((await tug(['token', 'create', 'release', '--expires', '2027-06-01'])).stderr).toContain('expires 2027-06-01T00:00:00.000Z');
    expect(api.requests.filter((r) => r.method === 'POST').length).toBe(3);
  });

  it('refuses a taken name, a lifetime it cannot read before asking, and one too long, naming what to fix', async () => {
    await tug(['token', 'create', 'deploy-bot']);
    const again = await tug(['token', 'create', 'deploy-bot']);
    expect(again.code).toBe(EXIT_FAILED);
    expect(again.stderr).toContain('a token named "deploy-bot" already exists');

    const unreadable = await tug(['token', 'create', 'later', '--expires', 'next week']);
    expect(unreadable).toMatchObject({ code: EXIT_USAGE, stdout: '' });
    expect(unreadable.stderr).toContain('--expires: "next week" is neither a lifetime (90m, 12h, 30d; at most 365d) nor a time');
    const tooLong = await tug(['token', 'create', 'later', '--expires', '400d']);
    expect(tooLong).toMatchObject({ code: EXIT_FAILED, stdout: '' });
    expect(tooLong.stderr).toContain('expiresIn: must be at most a year (365d) ahead');

    const mixed = await tug(['token', 'create', 'odd', '--controller', 'x-controller', '--project', 'shop', '--role', 'editor']);
    expect(mixed).toMatchObject({ code: EXIT_USAGE, stdout: '' });
    expect(mixed.stderr).toContain('--controller: a controller token takes no --user, --project or --role');
    // Options in another order say the same.
    const roleless = await tug(['token', 'create', '--project', 'shop', 'odd']);
    expect(roleless).toMatchObject({ code: EXIT_USAGE, stdout: '' });
    expect(roleless.stderr).toContain('--project: give the role too (--role viewer, editor, admin or one the project defines)');
  });
});

describe('tug token list', () => {
  it('shows every token in a table, relative times, never a secret; -o json gives exact times', async () => {
    const empty = await tug(['token', 'list']);
    expect(empty).toEqual({ code: EXIT_OK, stdout: '', stderr: 'no tokens (tug token create NAME makes one)\n' });

    const bot = (await tug(['token', 'create', 'deploy-bot', '--controller', 'deploy-controller'])).stdout.trim();
    const ci = (await tug(['token', 'create', 'ci-pipeline', '--expires', '30d'])).stdout.trim();
    const shop = await tug(['token', 'create', 'shop-ci', '--project', 'shop', '--role', 'editor']);
    expect(shop.stderr).toBe('token created for service account "shop-ci" with role editor in project shop; does not expire; it is not shown again\n');
    clock = START + 3 * 3_600_000;
    expect((await tug(['get', 'app'], bot)).code).toBe(EXIT_OK); // a use of deploy-bot
    clock = START + 5 * 3_600_000;
    await tug(['token', 'revoke', 'ci-pipeline']);
    clock = START + 2 * 86_400_000;

    const table = await tug(['token', 'list']);
    expect(table.code).toBe(EXIT_OK);
    expect(table.stdout).toBe(
      [
        'NAME          TYPE             FOR                 GRANT         CREATED   EXPIRES   LAST USED   REVOKED',
        'ci-pipeline   user             ci-pipeline         -             2d ago    -         never       43h ago',
        'deploy-bot    controller       deploy-controller   -             2d ago    never     45h ago     -',
        'shop-ci       serviceaccount   -                   shop:editor   2d ago    never     never       -',
        '',
      ].join('\n'),
    );
    expect(table.stdout).not.toContain(bot);
    expect(table.stdout).not.toContain(ci);
    expect(table.stdout).not.toContain(shop.stdout.trim());

    const json = JSON.parse((await tug(['token', 'list', '-o', 'json'])).stdout) as { items: Array<Record<string, unknown>> };
    expect(json.items.map((item) => [item['name'], item['expiresAt'], item['revokedAt']])).toEqual([
      ['ci-pipeline', '2027-03-31T12:00:00.000Z', '2027-03-01T17:00:00.000Z'],
      ['deploy-bot', null, null],
      ['shop-ci', null, null],
    ]);
  });

  it('shows when a live token expires, or that it has', async () => {
    await tug(['token', 'create', 'soon', '--expires', '12h']);
    clock = START + 2 * 3_600_000;
    expect((await tug(['token', 'list'])).stdout).toContain('in 10h');
    clock = START + 14 * 3_600_000;
    expect((await tug(['token', 'list'])).stdout).toContain('expired 2h ago');
  });
});

describe('tug token revoke', () => {
  it('revokes: the token then fails with a hint, stays listed; an unknown name fails saying where to look', async () => {
    const token = (await tug(['token', 'create', 'ci-pipeline'])).stdout.trim();
    clock = START + 60_000;
    expect(await tug(['token', 'revoke', 'ci-pipeline'])).toEqual({ code: EXIT_OK, stdout: 'token "ci-pipeline" revoked at 2027-03-01T12:01:00.000Z\n', stderr: '' });
    const refused = await tug(['get', 'app'], token);
    expect(refused.code).toBe(EXIT_FAILED);
    expect(refused.stderr).toContain('token "ci-pipeline" was revoked at 2027-03-01T12:01:00.000Z');
    expect(refused.stderr).toContain('hint: this token no longer works: pass another with --token or TUGBOAT_TOKEN');

    const unknown = await tug(['token', 'revoke', 'nope']);
    expect(unknown.code).toBe(EXIT_FAILED);
    expect(unknown.stderr).toContain('no token named "nope" (tug token list shows them)');
    expect(await tug(['token', 'revoke'])).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining("missing required argument 'name'") });
  });

  it('is for the admin only', async () => {
    const user = (await tug(['token', 'create', 'someone'])).stdout.trim();
    const refused = await tug(['token', 'revoke', 'someone'], user);
    expect(refused.code).toBe(EXIT_FAILED);
    expect(refused.stderr).toContain('may not revokeToken: admin only');
    expect((await tug(['token', 'list'], user)).stderr).toContain('may not listTokens: admin only');
  });
});
