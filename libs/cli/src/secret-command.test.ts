/** `tug secret set` against the in-memory fake API, with a kind of its own that has secret fields. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createApiClient } from '@tugboat/api-client';
import { createFakeApi, FAKE_TOKEN, type FakeApi } from '@tugboat/api-client/testing';
import { BUILTIN_KINDS, type KindDefinition } from '@tugboat/resource-model';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './describe-error.js';
import { SECRET_VALUE_MAX_BYTES } from './read-secret-value.js';
import { runCli } from './run-cli.js';

const VAULT_CONTROLLER = 'vault-controller';

/** One secret field, `value`, optional, as the SecretInstance kind has it. */
const VAULT_SECRET: KindDefinition = {
  kind: 'VaultSecret',
  plural: 'vaultsecrets',
  singular: 'vaultsecret',
  shortNames: ['vs'],
  scope: 'Project',
  controller: VAULT_CONTROLLER,
  references: [],
  secretFields: ['value'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['key'],
    properties: { key: { type: 'string' }, value: { type: 'string', maxLength: 65536 } },
  },
};

/** Two secret fields, one nested and required: `--field` must name one. */
const VAULT_LOGIN: KindDefinition = {
  kind: 'VaultLogin',
  plural: 'vaultlogins',
  singular: 'vaultlogin',
  shortNames: ['vl'],
  scope: 'Platform',
  controller: VAULT_CONTROLLER,
  references: [],
  secretFields: ['password', 'tls.key'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['user', 'tls'],
    properties: {
      user: { type: 'string' },
      password: { type: 'string' },
      tls: { type: 'object', additionalProperties: false, required: ['key'], properties: { key: { type: 'string' }, cert: { type: 'string' } } },
    },
  },
};

/** A value no output may ever contain. */
const SECRET = 's3cr3t-Pa55-ünïcode';

let dir: string;
let api: FakeApi;
const outputs: string[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tug-secret-'));
  api = createFakeApi({ kinds: [...BUILTIN_KINDS, VAULT_SECRET, VAULT_LOGIN] });
  await api.create({ kind: 'VaultSecret', metadata: { name: 'db-password', project: 'shop' }, spec: { key: 'DB_PASSWORD' } });
  await api.create({ kind: 'VaultLogin', metadata: { name: 'ops' }, spec: { user: 'ops', tls: { key: 'placeholder' } } });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => {
  // Whatever each test did, the value never reached stdout or stderr.
  for (const output of outputs) expect(output).not.toContain(SECRET);
});

async function tug(argv: string[], extra: { stdin?: string | Uint8Array; stdinIsTTY?: boolean } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    env: { TUGBOAT_TOKEN: FAKE_TOKEN },
    cwd: dir,
    fetch: api.fetch,
    ...(extra.stdin === undefined ? {} : { stdin: Readable.from([extra.stdin]) }),
    ...(extra.stdinIsTTY === undefined ? {} : { stdinIsTTY: extra.stdinIsTTY }),
  });
  outputs.push(stdout, stderr);
  return { code, stdout, stderr };
}

/** What the owning controller reads: the only way to see a stored secret. */
async function storedSecrets(ref: { kind: string; name: string; project?: string }): Promise<Record<string, unknown>> {
  const { token } = await api.createToken({ name: `reader-${outputs.length}`, type: 'controller', controller: VAULT_CONTROLLER });
  return createApiClient({ baseUrl: 'http://fake-api.invalid', token, fetch: api.fetch }).readSecrets(ref);
}

const DB_PASSWORD = { kind: 'VaultSecret', project: 'shop', name: 'db-password' };

describe('tug secret set', () => {
  it('sets the only secret field from a file, byte for byte, and prints the field and generation, never the value', async () => {
    await writeFile(join(dir, 'pw.txt'), `${SECRET}\n`);
    const set = await tug(['secret', 'set', 'vaultsecret/db-password', '-p', 'shop', '--from-file', 'pw.txt']);
    expect(set).toEqual({ code: EXIT_OK, stdout: 'vaultsecret/db-password: spec.value set (generation 2)\n', stderr: '' });
    // Without --trim the newline is part of the value.
    expect(await storedSecrets(DB_PASSWORD)).toEqual({ value: `${SECRET}\n` });
    const object = api.object(DB_PASSWORD);
    expect(object?.spec).toEqual({ key: 'DB_PASSWORD', value: '<redacted>' });
    // A merge patch of that one field: one PATCH, no PUT.
    expect(api.requests.filter((r) => r.method === 'PATCH' || r.method === 'PUT').map((r) => `${r.method} ${r.path}`)).toEqual(['PATCH /v1/vaultsecrets/db-password']);
  });

  it('sets the value of the built-in SecretInstance, by its short name', async () => {
    await api.create({ kind: 'SecretDefinition', metadata: { name: 'in-tugboat' }, spec: { backend: 'tugboat' } });
    await api.create({ kind: 'SecretInstance', metadata: { name: 'db-password', project: 'shop' }, spec: { definitionRef: { name: 'in-tugboat' }, key: 'DB_PASSWORD' } });
    const set = await tug(['secret', 'set', 'secret/db-password', '-p', 'shop', '--from-stdin', '--trim'], { stdin: `${SECRET}\n` });
    expect(set).toEqual({ code: EXIT_OK, stdout: 'secretinstance/db-password: spec.value set (generation 2)\n', stderr: '' });
    expect(api.object({ kind: 'SecretInstance', project: 'shop', name: 'db-password' })?.spec).toMatchObject({ value: '<redacted>' });
  });

  it('reads stdin; --trim strips one trailing newline only; the short name and KIND NAME work too', async () => {
    expect((await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', '--from-stdin'], { stdin: `${SECRET}\n` })).code).toBe(EXIT_OK);
    expect(await storedSecrets(DB_PASSWORD)).toEqual({ value: `${SECRET}\n` });

    const trimmed = await tug(['secret', 'set', 'vaultsecrets', 'db-password', '-p', 'shop', '--from-stdin', '--trim'], { stdin: `${SECRET}\r\n` });
    expect(trimmed).toEqual({ code: EXIT_OK, stdout: 'vaultsecret/db-password: spec.value set (generation 3)\n', stderr: '' });
    expect(await storedSecrets(DB_PASSWORD)).toEqual({ value: SECRET });

    await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', '--from-stdin', '--trim'], { stdin: `${SECRET}\n\n` });
    expect(await storedSecrets(DB_PASSWORD)).toEqual({ value: `${SECRET}\n` });
  });

  it('says on a terminal that the typed value shows and how to end it', async () => {
    const typed = await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', '--from-stdin'], { stdin: SECRET, stdinIsTTY: true });
    expect(typed).toMatchObject({ code: EXIT_OK, stderr: 'reading the value from the terminal (shown as you type); end it with Ctrl-D\n' });
  });

  it('refuses a value over 64 KiB, an empty one, one that is not UTF-8, and "<redacted>", saying what to fix', async () => {
    const cases: Array<[string | Uint8Array, string[], string]> = [
      ['x'.repeat(SECRET_VALUE_MAX_BYTES + 1), [], '--from-stdin: the value is over 64 KiB (65536 bytes), the most tug secret set takes; give a smaller one'],
      ['', [], '--from-stdin: the value is empty; give the value to set'],
      ['\n', ['--trim'], '--from-stdin: the value is empty (only a newline, removed by --trim)'],
      [Uint8Array.from([0x70, 0x77, 0xff, 0xfe]), [], '--from-stdin: the value is not valid UTF-8 text; secret fields hold text: encode binary data first (e.g. base64)'],
      ['<redacted>\n', ['--trim'], '--from-stdin: the value is "<redacted>", which the API takes as "keep the stored value"'],
    ];
    for (const [stdin, flags, message] of cases) {
      const refused = await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', '--from-stdin', ...flags], { stdin });
      expect(refused).toMatchObject({ code: EXIT_USAGE, stdout: '' });
      expect(refused.stderr).toContain(message);
    }
    // Exactly 64 KiB is taken; the same from a file, one byte more, is not.
    await writeFile(join(dir, 'big.txt'), 'y'.repeat(SECRET_VALUE_MAX_BYTES));
    expect((await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', '--from-file', 'big.txt'])).code).toBe(EXIT_OK);
    await writeFile(join(dir, 'big.txt'), 'y'.repeat(SECRET_VALUE_MAX_BYTES + 1));
    expect((await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', '--from-file', 'big.txt'])).stderr).toContain('--from-file: the value is over 64 KiB');
    expect(api.object(DB_PASSWORD)?.metadata.generation).toBe(2);

    const missing = await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', '--from-file', 'nope.txt']);
    expect(missing).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('--from-file: cannot read nope.txt: no such file') });
  });

  it('needs --field among several secret fields, refuses a field that is not secret, and sets a nested one', async () => {
    await writeFile(join(dir, 'key.pem'), SECRET);
    const unnamed = await tug(['secret', 'set', 'vaultlogin/ops', '--from-file', 'key.pem']);
    expect(unnamed).toMatchObject({ code: EXIT_USAGE, stdout: '' });
    expect(unnamed.stderr).toContain('--field: VaultLogin has several secret fields; name one: spec.password, spec.tls.key');

    const plain = await tug(['secret', 'set', 'vl/ops', '--field', 'user', '--from-file', 'key.pem']);
    expect(plain).toMatchObject({ code: EXIT_USAGE, stdout: '' });
    expect(plain.stderr).toContain('--field: spec.user is not a secret field of VaultLogin (those are: spec.password, spec.tls.key); set other fields with tug apply');

    const noSecrets = await tug(['secret', 'set', 'project/shop', '--from-file', 'key.pem']);
    expect(noSecrets.stderr).toContain('Project has no secret fields: set its fields with tug apply');

    const nested = await tug(['secret', 'set', 'vl/ops', '--field', 'spec.tls.key', '--from-file', 'key.pem']);
    expect(nested).toEqual({ code: EXIT_OK, stdout: 'vaultlogin/ops: spec.tls.key set (generation 2)\n', stderr: '' });
    expect(await storedSecrets({ kind: 'VaultLogin', name: 'ops' })).toEqual({ 'tls.key': SECRET });
  });

  it('takes no value on the command line, and exactly one source', async () => {
    const given = await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', `--value=${SECRET}`]);
    expect(given).toMatchObject({ code: EXIT_USAGE, stdout: '' });
    expect(given.stderr).toContain('--value: not taken, as a value on the command line lands in the shell history and the process list');
    const stray = await tug(['secret', 'set', 'vs/db-password', SECRET, '-p', 'shop', '--from-stdin'], { stdin: 'x' });
    expect(stray).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('give the object as KIND/NAME or as KIND NAME, not both (and never the value') });
    expect((await tug(['secret', 'set', 'vs/db-password', '-p', 'shop'])).stderr).toContain('give the value with exactly one of --from-file FILE or --from-stdin');
    expect((await tug(['secret', 'set', 'vs/db-password', '-p', 'shop', '--from-stdin', '--from-file', 'x'], { stdin: 'x' })).code).toBe(EXIT_USAGE);
    expect((await tug(['secret', 'set', 'db-password', '-p', 'shop', '--from-stdin'], { stdin: 'x' })).stderr).toContain('give the object as KIND/NAME (e.g. secret/db-password) or as KIND NAME');
    expect((await tug(['secret', 'set', 'vs/db-password', '--from-stdin'], { stdin: 'x' })).stderr).toContain('-p/--project is required');
    expect(api.object(DB_PASSWORD)?.metadata.generation).toBe(1);

    const help = await tug(['secret', 'set', '--help']);
    expect(help.code).toBe(EXIT_OK);
    expect(help.stdout).toContain('There is no --value');
    expect(help.stdout).toContain('--trim');
    expect(help.stdout).not.toContain('--value <value>');
  });

  it('changes only an existing object, and says how to create one', async () => {
    await writeFile(join(dir, 'pw.txt'), SECRET);
    const missing = await tug(['secret', 'set', 'vs/other', '-p', 'shop', '--from-file', 'pw.txt']);
    expect(missing).toMatchObject({ code: EXIT_FAILED, stdout: '' });
    expect(missing.stderr).toContain('VaultSecret "other" not found in project shop');
    expect(missing.stderr).toContain('hint: create it first with tug apply: its manifest may leave spec.value out or say "<redacted>" (not set yet; re-applying it then keeps the value), then set it with tug secret set');
    const required = await tug(['secret', 'set', 'vl/nobody', '--field', 'tls.key', '--from-file', 'pw.txt']);
    expect(required.stderr).toContain('its schema requires spec.tls.key, so apply it with a placeholder value there');
  });

  it('documents the API: a create may leave the field out or carry "<redacted>" (not set yet); a later apply keeps it only with "<redacted>"', async () => {
    const manifest = (value?: string) => JSON.stringify({ kind: 'VaultSecret', metadata: { name: 'api-key', project: 'shop' }, spec: { key: 'API_KEY', ...(value === undefined ? {} : { value }) } });
    await writeFile(join(dir, 'new.json'), manifest('<redacted>'));
    expect((await tug(['apply', '-f', 'new.json'])).code).toBe(EXIT_OK);
    expect((await tug(['secret', 'set', 'vs/api-key', '-p', 'shop', '--from-stdin'], { stdin: SECRET })).code).toBe(EXIT_OK);
    const ref = { kind: 'VaultSecret', project: 'shop', name: 'api-key' };
    await writeFile(join(dir, 'new.json'), manifest('<redacted>'));
    expect((await tug(['apply', '-f', 'new.json'])).stdout).toContain('unchanged');
    expect(await storedSecrets(ref)).toEqual({ value: SECRET });
    await writeFile(join(dir, 'new.json'), manifest());
    expect((await tug(['apply', '-f', 'new.json'])).stdout).toContain('configured');
    expect(await storedSecrets(ref)).toEqual({});
  });
});
