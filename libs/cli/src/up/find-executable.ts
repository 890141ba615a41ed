import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** Debian installs `nats-server` in /usr/sbin, which is not on every user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin'];

/** The first executable file called `name` on PATH (then the sbin directories); `undefined` if none. */
export async function findExecutable(
  name: string,
  env: Record<string, string | undefined>,
  extraDirs: readonly string[] = EXTRA_DIRS,
): Promise<string | undefined> {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''), ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}
