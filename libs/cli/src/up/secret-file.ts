import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Reads a token from `path`, or generates one and saves it readable by the owner only (0600).
 * Created with `wx`, so two concurrent starts cannot both write.
 */
export async function readOrCreateSecretFile(path: string): Promise<{ value: string; created: boolean }> {
  const existing = await readSecretFile(path);
  if (existing !== undefined) return { value: existing, created: false };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString('base64url');
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(value + '\n');
    } finally {
      await handle.close();
    }
    await chmod(path, 0o600); // the umask may have narrowed it further, never widened; make it exact
    return { value, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const raced = await readSecretFile(path);
    if (raced === undefined) throw error;
    return { value: raced, created: false };
  }
}

export async function readSecretFile(path: string): Promise<string | undefined> {
  try {
    const value = (await readFile(path, 'utf8')).trim();
    return value === '' ? undefined : value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function writeSecretFile(path: string, value: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(value + '\n');
  } finally {
    await handle.close();
  }
  await chmod(path, 0o600);
}
