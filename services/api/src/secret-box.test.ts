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

  it('parses TUGBOAT_SECRET_KEYS: the first key seals, every key listed opens', () => {
    const text = `a:${randomBytes(32).toString('base64')}, b:${randomBytes(32).toString('base64')}`;
    const keys = parseSecretKeys(text);
    expect(keys.map((k) => k.id)).toEqual(['a', 'b']);
    const box = createSecretBox({ keys });
    expect([box.currentKeyId, box.keyIds]).toEqual(['a', ['a', 'b']]);
    expect(parseSecretKeys(`local-2026-12-05:${randomBytes(32).toString('base64')}\n`).map((k) => k.id)).toEqual(['local-2026-12-05']);
  });

  const good = randomBytes(32).toString('base64');
  it.each([
    ['', /names no key; make one with: TUGBOAT_SECRET_KEYS="k1:\$\(openssl rand -base64 32\)"/],
    [' , ,', /names no key/],
    [good, /entry 1: must be id:base64key/],
    [`:${good}`, /entry 1: the key id must be 1-63 letters/],
    [`a b:${good}`, /entry 1: the key id must be/],
    [`-a:${good}`, /entry 1: the key id must be/],
    [`${'k'.repeat(64)}:${good}`, /entry 1: the key id must be/],
    [`k\u0000:${good}`, /entry 1: the key id must be/],
    ['k1:', /entry 1 \(key id "k1"\): the key is not base64/],
    [`k1:${good.slice(0, 20)}!!${good.slice(22)}`, /entry 1 \(key id "k1"\): the key is not base64/],
    [`k1:${good.replace(/=+$/, '')}`, /the key is not base64/],
    // The URL-safe alphabet (which Node's decoder also takes): not the form the variable is given in.
    [`k1:${good.slice(0, 40)}-_A=`, /the key is not base64/],
    [`k1:${randomBytes(16).toString('base64')}`, /entry 1 \(key id "k1"\): the key is 16 bytes, must be 32/],
    [`k1:${randomBytes(33).toString('base64')}`, /the key is 33 bytes, must be 32/],
    [`k1:${good},k2:${randomBytes(31).toString('base64')}`, /entry 2 \(key id "k2"\): the key is 31 bytes/],
    [`k1:${good},k1:${randomBytes(32).toString('base64')}`, /entry 2: key id "k1" is listed twice/],
  ])('refuses TUGBOAT_SECRET_KEYS=%j, naming the entry and the rule', (text, message) => {
    expect(() => parseSecretKeys(text)).toThrow(message);
    // Key material is never echoed back.
    try {
      parseSecretKeys(text);
    } catch (error) {
      expect(String(error)).not.toContain(good);
    }
  });

  it('refuses two keys with one id', () => {
    expect(() => createSecretBox({ keys: [oldKey, { id: 'old', key: randomBytes(32) }] })).toThrow(/unique/);
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
