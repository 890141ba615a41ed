import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecretBox, loadSecretKeys, parseSecretKeys } from './secret-box.js';

describe('secret box', () => {
  const oldKey = { id: 'old', key: randomBytes(32) };
  const newKey = { id: 'new', key: randomBytes(32) };

  it('seals with the first key, opens with any listed key, and binds the value to its object and field', () => {
    const before = createSecretBox({ keys: [oldKey] });
    const sealed = before.seal('s3cret', 'uid-1:password');
    expect(sealed.keyId).toBe('old');
    expect(JSON.stringify(sealed)).not.toContain('s3cret');

    const rotated = createSecretBox({ keys: [newKey, oldKey] });
    expect(rotated.open(sealed, 'uid-1:password')).toBe('s3cret');
    expect(rotated.seal('s3cret', 'uid-1:password').keyId).toBe('new');
    expect(() => rotated.open(sealed, 'uid-2:password')).toThrow();
    expect(() => createSecretBox({ keys: [newKey] }).open(sealed, 'uid-1:password')).toThrow(/unknown key id "old"/);
    expect(() => rotated.open({ ...sealed, data: Buffer.from('tampered').toString('base64') }, 'uid-1:password')).toThrow();
  });

  it('parses TUGBOAT_SECRET_KEYS and refuses keys of the wrong size', () => {
    const text = `a:${randomBytes(32).toString('base64')}, b:${randomBytes(32).toString('base64')}`;
    expect(parseSecretKeys(text).map((k) => k.id)).toEqual(['a', 'b']);
    expect(() => parseSecretKeys(`a:${randomBytes(16).toString('base64')}`)).toThrow(/32-byte/);
    expect(() => parseSecretKeys('')).toThrow();
  });

  it('generates a local key once into the state directory (mode 0600)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tugboat-keys-'));
    try {
      const first = await loadSecretKeys({ stateDir: dir });
      const again = await loadSecretKeys({ stateDir: dir });
      expect(again).toEqual(first);
      expect(first[0]!.key).toHaveLength(32);
      expect((await stat(join(dir, 'secret-keys'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(dir, 'secret-keys'), 'utf8')).toContain(`${first[0]!.id}:`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
