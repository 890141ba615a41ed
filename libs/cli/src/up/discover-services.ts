import { access, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Walks up from this file to the directory holding `pnpm-workspace.yaml`. */
export async function findRepoRoot(start: string = dirname(fileURLToPath(import.meta.url))): Promise<string> {
  for (let dir = start; ; dir = dirname(dir)) {
    if (await exists(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml above ${start}: tug up runs from a Tugboat checkout`);
  }
}

/** Every `services/*-controller` package with an entry, in name order; none is hard-coded. */
export async function discoverControllers(repoRoot: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(repoRoot, 'services'));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('-controller')) continue;
    const dir = join(repoRoot, 'services', name);
    if ((await exists(join(dir, 'src', 'main.ts'))) || (await exists(join(dir, 'dist', 'main.js')))) found.push(name);
  }
  return found;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
