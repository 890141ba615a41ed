import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOrCreateSecretFile, readSecretFile, writeSecretFile } from './secret-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tug-secret-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('readOrCreateSecretFile', () => {
  it('generates a token once, readable by the owner only, and reads it back afterwards', async () => {
    const path = join(dir, 'state', 'admin-token');
    const first = await readOrCreateSecretFile(path);
    expect(first.created).toBe(true);
    expect(first.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readOrCreateSecretFile(path)).toEqual({ value: first.value, created: false });
  });

  it('lets one of two concurrent starts win', async () => {
    const path = join(dir, 'admin-token');
    const [a, b] = await Promise.all([readOrCreateSecretFile(path), readOrCreateSecretFile(path)]);
    expect(a.value).toBe(b.value);
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
  });

  it('writes and reads a token file, absent as undefined', async () => {
    const path = join(dir, 'tokens', 'x');
    expect(await readSecretFile(path)).toBeUndefined();
    await writeSecretFile(path, 'abc');
    expect(await readSecretFile(path)).toBe('abc');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
