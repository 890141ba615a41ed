/**
 * Encrypts secret field values at rest with AES-256-GCM. Each sealed value names the key that
 * sealed it, so keys can rotate: the first key seals, every key listed opens. The object's uid and
 * the field path are bound in as additional data, so a sealed value cannot be moved to another
 * object or field.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError } from '@tugboat/resource-model';
import type { SealedSecret } from './database-schema.js';

export interface SecretKey {
  id: string;
  key: Buffer;
}

export interface SecretBox {
  seal(value: unknown, context: string): SealedSecret;
  open(sealed: SealedSecret, context: string): unknown;
  /** The id new values are sealed with (the first key given). */
  readonly currentKeyId: string;
  /** Every key id this box opens, the current one first. */
  readonly keyIds: readonly string[];
}

/** How an operator makes a key; named in every refusal about keys. */
export const SECRET_KEYS_HOWTO = 'make one with: TUGBOAT_SECRET_KEYS="k1:$(openssl rand -base64 32)" (id:base64 of 32 random bytes; several comma-separated, the first seals)';

/** The additional data a secret field's value is sealed with: the object's uid and the field's path. */
export function secretContext(uid: string, path: string): string {
  return `${uid}:${path}`;
}

/**
 * Secret fields a migration moved without re-sealing them (it holds no key): new path → the path
 * the value was sealed under. Migration 0005 moved ClusterInstance `existing.kubeconfig`. Only these
 * moves are honoured, so editing a row's `sealedAt` cannot move a sealed value to another field.
 */
export const MOVED_SECRET_PATHS: Readonly<Record<string, string>> = { kubeconfig: 'existing.kubeconfig' };

/** The context to open a stored sealed value with: its own path, or where a migration moved it from. */
export function storedSecretContext(uid: string, path: string, sealed: SealedSecret): string {
  const movedFrom = Object.hasOwn(MOVED_SECRET_PATHS, path) ? MOVED_SECRET_PATHS[path] : undefined;
  return secretContext(uid, sealed.sealedAt !== undefined && sealed.sealedAt === movedFrom ? movedFrom : path);
}

export function createSecretBox(options: { keys: SecretKey[] }): SecretBox {
  const [current] = options.keys;
  if (!current) throw new InternalError('at least one secret key is required');
  const byId = new Map(options.keys.map((k) => [k.id, k.key]));
  if (byId.size !== options.keys.length) throw new InternalError('secret key ids must be unique');
  return {
    currentKeyId: current.id,
    keyIds: options.keys.map((k) => k.id),
    seal(value, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(Buffer.from(context));
      const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return { keyId: current.id, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    },
    open(sealed, context) {
      const key = byId.get(sealed.keyId);
      if (!key) throw new InternalError(`secret sealed with unknown key id "${sealed.keyId}"`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      const plain = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as unknown;
    },
  };
}

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Parses `id:base64key[,id:base64key…]`: ids unique (letters, digits, `.`, `_`, `-`; at most 63),
 * keys the canonical base64 of exactly 32 bytes. A refusal names the entry and the rule, never
 * the key material.
 */
export function parseSecretKeys(text: string): SecretKey[] {
  const entries = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (entries.length === 0) throw new InternalError(`TUGBOAT_SECRET_KEYS names no key; ${SECRET_KEYS_HOWTO}`);
  const seen = new Set<string>();
  return entries.map((part, index) => {
    const where = `TUGBOAT_SECRET_KEYS entry ${index + 1}`;
    const colon = part.indexOf(':');
    if (colon < 0) throw new InternalError(`${where}: must be id:base64key; ${SECRET_KEYS_HOWTO}`);
    const id = part.slice(0, colon).trim();
    const encoded = part.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new InternalError(`${where}: the key id must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    if (seen.has(id)) throw new InternalError(`${where}: key id "${id}" is listed twice`);
    seen.add(id);
    const key = Buffer.from(encoded, 'base64');
    // Node's decoder skips what is not base64: only a key that re-encodes to the same text is whole.
    if (encoded === '' || key.toString('base64') !== encoded) throw new InternalError(`${where} (key id "${id}"): the key is not base64; ${SECRET_KEYS_HOWTO}`);
    if (key.length !== 32) throw new InternalError(`${where} (key id "${id}"): the key is ${key.length} bytes, must be 32; ${SECRET_KEYS_HOWTO}`);
    return { id, key };
  });
}

/**
 * The keys from `TUGBOAT_SECRET_KEYS`, or, for local use, from `<stateDir>/secret-keys`
 * (generated on first start, mode 0600).
 */
export async function loadSecretKeys(options: { fromEnv?: string; stateDir: string }): Promise<SecretKey[]> {
  if (options.fromEnv) return parseSecretKeys(options.fromEnv);
  const file = join(options.stateDir, 'secret-keys');
  try {
    return parseSecretKeys(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(options.stateDir, { recursive: true });
  const generated = `local-${new Date().toISOString().slice(0, 10)}:${randomBytes(32).toString('base64')}\n`;
  await writeFile(file, generated, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    // Another process generated it first: use theirs.
    if (error.code !== 'EEXIST') throw error;
  });
  await chmod(file, 0o600);
  return parseSecretKeys(await readFile(file, 'utf8'));
}
