import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { runTug, startApiProcess, type ApiProcess } from './harness/cli-processes.js';

// `tug secret set`, the real binary against the real API: a value through a real pipe and a file,
// sealed, readable by the owning controller only; and what the API does with a manifest that
// leaves the secret out or carries "<redacted>" (what `tug secret set --help` tells users).
let api: ApiProcess;
let admin: ApiClient;
let controller: ApiClient;
let dir: string;
let env: Record<string, string>;

const VALUE = 'e2e-s3cret-value-ü';
const tug = (args: string[], stdin?: string) => runTug(args, { env, ...(stdin === undefined ? {} : { stdin }) });
const ref = { kind: 'VaultSecret', project: 'shop', name: 'api-key' };
const manifest = (value?: string) =>
  JSON.stringify({ kind: 'VaultSecret', metadata: { name: 'api-key', project: 'shop' }, spec: { key: 'API_KEY', ...(value === undefined ? {} : { value }) } });

beforeAll(async () => {
  api = await startApiProcess({ name: 'secret', projects: ['shop'] });
  env = { TUGBOAT_URL: api.url, TUGBOAT_TOKEN: api.adminToken };
  admin = createApiClient({ baseUrl: api.url, token: api.adminToken });
  await admin.registerKind({
    kind: 'VaultSecret',
    plural: 'vaultsecrets',
    singular: 'vaultsecret',
    shortNames: ['vs'],
    scope: 'Project',
    controller: 'vault-controller',
    references: [],
    secretFields: ['value'],
    schema: { type: 'object', additionalProperties: false, required: ['key'], properties: { key: { type: 'string' }, value: { type: 'string', maxLength: 65536 } } },
  });
  const created = await admin.createToken({ name: 'cli-secret-vault-controller', type: 'controller', controller: 'vault-controller' });
  controller = createApiClient({ baseUrl: api.url, token: created.token });
  dir = await mkdtemp(join(tmpdir(), 'cli-secret-'));
});

afterAll(async () => {
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tug secret set against the API', () => {
  it('sets a value from stdin and from a file; one manifest carrying "<redacted>" serves before and after, one leaving it out removes it', async () => {
    const file = join(dir, 'api-key.json');
    const missing = await tug(['secret', 'set', 'vs/api-key', '-p', 'shop', '--from-stdin'], VALUE);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('hint: create it first with tug apply: its manifest may leave spec.value out or say');

    // A new object carrying "<redacted>": not set yet (no value is stored to keep).
    await writeFile(file, manifest('<redacted>'));
    expect((await tug(['apply', '-f', file])).stdout).toBe('VaultSecret/api-key created\n');
    expect(await controller.readSecrets(ref)).toEqual({});
    const piped = await tug(['secret', 'set', 'vaultsecret/api-key', '-p', 'shop', '--from-stdin', '--trim'], `${VALUE}\n`);
    expect(piped).toEqual({ code: 0, stdout: 'vaultsecret/api-key: spec.value set (generation 2)\n', stderr: '' });
    expect(await controller.readSecrets(ref)).toEqual({ value: VALUE });
    expect((await admin.getOrThrow(ref)).spec).toEqual({ key: 'API_KEY', value: '<redacted>' });

    await writeFile(join(dir, 'value.txt'), `${VALUE}-2`);
    const fromFile = await tug(['secret', 'set', 'vs', 'api-key', '-p', 'shop', '--from-file', join(dir, 'value.txt')]);
    expect(fromFile.stdout).toBe('vaultsecret/api-key: spec.value set (generation 3)\n');
    expect(await controller.readSecrets(ref)).toEqual({ value: `${VALUE}-2` });
    const history = await tug(['history', 'vs', 'api-key', '-p', 'shop']);
    expect(history.code).toBe(0);
    for (const output of [piped, fromFile, history]) expect(output.stdout + output.stderr).not.toContain(VALUE);

    // Applied again with "<redacted>", the value stays; left out, it is removed.
    await writeFile(file, manifest('<redacted>'));
    expect((await tug(['apply', '-f', file])).stdout).toBe('VaultSecret/api-key unchanged\n');
    expect(await controller.readSecrets(ref)).toEqual({ value: `${VALUE}-2` });
    await writeFile(file, manifest());
    expect((await tug(['apply', '-f', file])).stdout).toBe('VaultSecret/api-key configured\n');
    expect(await controller.readSecrets(ref)).toEqual({});
  });
});
