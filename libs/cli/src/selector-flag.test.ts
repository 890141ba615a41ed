import { EXIT_USAGE } from './describe-error.js';
import { runCli } from './run-cli.js';
import { createFakeApi, FAKE_TOKEN } from '@tugboat/api-client/testing';

describe('tug get -l', () => {
  it('checks the selector with the API parser before any request: a usage error naming the term', async () => {
    const api = createFakeApi();
    let stderr = '';
    const code = await runCli(['get', 'apps', '-l', 'tier=prod,bad key'], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      env: { TUGBOAT_TOKEN: FAKE_TOKEN },
      cwd: process.cwd(),
      fetch: api.fetch,
    });
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain('-l/--selector: "bad key"');
    expect(api.requests).toEqual([]);
  });
});
