import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resolveClientSettings } from './client-settings.js';
import { EXIT_OK, EXIT_USAGE } from './describe-error.js';
import { runCli } from './run-cli.js';

let dir: string;
let env: Record<string, string>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tug-config-'));
  env = { TUGBOAT_CONFIG: join(dir, 'config', 'tugboat.yaml') };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tug(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: dir,
  });
  return { code, stdout, stderr };
}

describe('tug config', () => {
  it('creates, lists, switches and deletes contexts in a file only its owner can read', async () => {
    expect(await tug('config', 'set-context', 'prod', '--server', 'https://tugboat.example.com/', '--token', 'tug_prod', '-p', 'team-a')).toEqual({
      code: EXIT_OK,
      stdout: 'Context "prod" created (current).\n',
      stderr: '',
    });
    expect((await tug('config', 'set-context', 'local', '--server', 'http://127.0.0.1:7070')).stdout).toBe('Context "local" created.\n');
    expect((await stat(env.TUGBOAT_CONFIG!)).mode & 0o777).toBe(0o600);
    expect(parse(await readFile(env.TUGBOAT_CONFIG!, 'utf8'))).toEqual({
      currentContext: 'prod',
      contexts: [
        { name: 'prod', server: 'https://tugboat.example.com', token: 'tug_prod', project: 'team-a' },
        { name: 'local', server: 'http://127.0.0.1:7070' },
      ],
    });

    const listed = await tug('config', 'get-contexts');
    expect(listed.stdout.split('\n').map((line) => line.split(/\s+/).filter(Boolean))).toEqual([
      ['CURRENT', 'NAME', 'SERVER', 'PROJECT', 'TOKEN'],
      ['*', 'prod', 'https://tugboat.example.com', 'team-a', 'set'],
      ['local', 'http://127.0.0.1:7070', '-', '-'],
      [],
    ]);
    expect(listed.stdout).not.toContain('tug_prod');

    expect((await tug('config', 'use-context', 'local')).stdout).toBe('Switched to context "local".\n');
    expect((await tug('config', 'current-context')).stdout).toBe('local\n');
    expect((await tug('config', 'set-context', 'prod', '--project', 'team-b')).stdout).toBe('Context "prod" updated.\n');
    expect((await tug('config', 'delete-context', 'local')).stdout).toBe('Context "local" deleted.\n');
    expect(parse(await readFile(env.TUGBOAT_CONFIG!, 'utf8'))).toEqual({
      contexts: [{ name: 'prod', server: 'https://tugboat.example.com', token: 'tug_prod', project: 'team-b' }],
    });
  });

  it('names what is wrong: an unknown context, a bad URL or name, a malformed file', async () => {
    await tug('config', 'set-context', 'prod', '--server', 'https://a.example');
    const unknown = await tug('config', 'use-context', 'staging');
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(unknown.stderr).toContain('use-context: no context "staging" in');
    expect(unknown.stderr).toContain('there are: prod');
    expect((await tug('config', 'set-context', 'x', '--server', 'ftp://a')).stderr).toContain('--server: "ftp://a" must be an http or https URL');
    expect((await tug('config', 'set-context', 'bad name')).stderr).toContain('context name "bad name"');
    expect((await tug('config', 'set-context', 'x', '-p', 'Team_A')).stderr).toContain('--project: "Team_A" is not a project name');
    expect((await tug('get', 'apps', '--context', 'nope')).stderr).toContain('--context: no context "nope"');

    await writeFile(env.TUGBOAT_CONFIG!, 'contexts: [{ server: 1 }]\n');
    const malformed = await tug('config', 'get-contexts');
    expect(malformed.code).toBe(EXIT_USAGE);
    expect(malformed.stderr).toContain('contexts[0].server: must be a string');
  });
});

describe('resolveClientSettings', () => {
  it('takes each setting from the flag, then the environment, then the context, then the local state', async () => {
    await tug('config', 'set-context', 'prod', '--server', 'https://prod.example', '--token', 'ctx-token', '-p', 'team-a');
    await tug('config', 'set-context', 'local', '--project', 'team-l');
    await writeFile(join(dir, 'admin-token'), 'state-token\n');
    const flags = { stateDir: '.' };

    expect(await resolveClientSettings(flags, env, dir)).toEqual({
      server: 'https://prod.example',
      token: 'ctx-token',
      tokenSource: 'context prod',
      context: 'prod',
      project: 'team-a',
    });
    expect(await resolveClientSettings(flags, { ...env, TUGBOAT_URL: 'http://env.example', TUGBOAT_TOKEN: 'env-token' }, dir)).toMatchObject({
      server: 'http://env.example',
      token: 'env-token',
      project: 'team-a',
    });
    expect(await resolveClientSettings({ ...flags, server: 'http://flag.example', token: 'flag-token' }, { ...env, TUGBOAT_TOKEN: 'env-token' }, dir)).toMatchObject({
      server: 'http://flag.example',
      token: 'flag-token',
      tokenSource: '--token',
    });
    // A context without a server or token: the local API and the token `tug up` saved.
    expect(await resolveClientSettings({ ...flags, context: 'local' }, env, dir)).toEqual({
      server: 'http://127.0.0.1:7070',
      token: 'state-token',
      tokenSource: join(dir, 'admin-token'),
      context: 'local',
      project: 'team-l',
    });
    // The local admin token never goes to a server a context names.
    await tug('config', 'set-context', 'remote', '--server', 'https://remote.example');
    expect(await resolveClientSettings({ ...flags, context: 'remote' }, env, dir)).toEqual({ server: 'https://remote.example', context: 'remote' });
  });
});
