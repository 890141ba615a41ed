/** `tug admin keys status` against the in-memory fake API. */
import { createFakeApi, FAKE_TOKEN } from '@tugboat/api-client/testing';
import type { SecretKeyStatus } from '@tugboat/api-client';
import { EXIT_FAILED, EXIT_OK } from './describe-error.js';
import { runCli } from './run-cli.js';

async function tug(argv: string[], fetchFn: typeof fetch, token = FAKE_TOKEN) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    env: { TUGBOAT_TOKEN: token },
    cwd: '/',
    fetch: fetchFn,
  });
  return { code, stdout, stderr };
}

describe('tug admin keys status', () => {
  it('prints the keys as a table and says an old key with no values can be dropped', async () => {
    let onOld = 3;
    const api = createFakeApi({
      secretKeyStatus: (stored): SecretKeyStatus => ({
        current: 'k2',
        keys: [
          { id: 'k2', current: true, values: stored - onOld },
          { id: 'k1', current: false, values: onOld },
        ],
        unknown: [],
      }),
    });
    for (const name of ['a', 'b', 'c', 'd']) {
      await api.create({ kind: 'AwsAccount', metadata: { name }, spec: { accountId: '123456789012', region: 'eu-west-1', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: `s-${name}` } });
    }
    expect(await tug(['admin', 'keys', 'status'], api.fetch)).toEqual({
      code: EXIT_OK,
      stdout: ['KEY   CURRENT   VALUES', 'k2    yes       1', 'k1    no        3', ''].join('\n'),
      stderr: 'key k1 still seals 3 values: the API re-seals them with k2 in the background; keep k1 until this shows 0\n',
    });
    onOld = 0;
    expect(await tug(['admin', 'keys', 'status'], api.fetch)).toEqual({
      code: EXIT_OK,
      stdout: ['KEY   CURRENT   VALUES', 'k2    yes       4', 'k1    no        0', ''].join('\n'),
      stderr: 'key k1 seals no stored value: it can be dropped from TUGBOAT_SECRET_KEYS on every API replica\n',
    });
    const json = await tug(['admin', 'keys', 'status', '-o', 'json'], api.fetch);
    expect(JSON.parse(json.stdout)).toEqual({ current: 'k2', keys: [{ id: 'k2', current: true, values: 4 }, { id: 'k1', current: false, values: 0 }], unknown: [] });
  });

  it('names a key the replica was not given, and refuses anyone but the admin', async () => {
    const api = createFakeApi({ secretKeyStatus: () => ({ current: 'k3', keys: [{ id: 'k3', current: true, values: 0 }], unknown: [{ id: 'k2', values: 1 }] }) });
    const status = await tug(['admin', 'keys', 'status'], api.fetch);
    expect(status.stdout).toBe(['KEY   CURRENT   VALUES', 'k3    yes       0', 'k2    unknown   1', ''].join('\n'));
    expect(status.stderr).toBe("key k2 is not in this replica's TUGBOAT_SECRET_KEYS but seals 1 value: add it back, after k3\n");

    const controller = (await api.createToken({ name: 'infra', controller: 'infra-controller' })).token;
    const refused = await tug(['admin', 'keys', 'status'], api.fetch, controller);
    expect(refused.code).toBe(EXIT_FAILED);
    expect(refused.stderr).toContain('may not readKeys: admin only');
  });
});
