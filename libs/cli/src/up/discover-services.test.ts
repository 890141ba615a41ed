import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverControllers, findRepoRoot } from './discover-services.js';
import { findExecutable } from './find-executable.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tug-repo-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function touch(path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, '');
}

describe('discoverControllers', () => {
  it('finds every services/*-controller with an entry, in name order', async () => {
    await touch(join(root, 'services', 'workload-controller', 'src', 'main.ts'));
    await touch(join(root, 'services', 'infra-controller', 'dist', 'main.js'));
    await touch(join(root, 'services', 'half-controller', 'README.md'));
    await touch(join(root, 'services', 'api', 'src', 'main.ts'));
    expect(await discoverControllers(root)).toEqual(['infra-controller', 'workload-controller']);
  });

  it('finds none without a services directory', async () => {
    expect(await discoverControllers(root)).toEqual([]);
  });
});

describe('findRepoRoot', () => {
  it('walks up to the workspace root', async () => {
    await touch(join(root, 'pnpm-workspace.yaml'));
    await mkdir(join(root, 'libs', 'cli', 'src'), { recursive: true });
    expect(await findRepoRoot(join(root, 'libs', 'cli', 'src'))).toBe(root);
  });
});

describe('findExecutable', () => {
  it('searches PATH, then the extra directories', async () => {
    const bin = join(root, 'bin');
    await touch(join(bin, 'tool'));
    expect(await findExecutable('tool', { PATH: bin }, [])).toBeUndefined(); // not executable
    const { chmod } = await import('node:fs/promises');
    await chmod(join(bin, 'tool'), 0o755);
    expect(await findExecutable('tool', { PATH: bin }, [])).toBe(join(bin, 'tool'));
    expect(await findExecutable('tool', { PATH: '' }, [bin])).toBe(join(bin, 'tool'));
    expect(await findExecutable('tool', {}, [])).toBeUndefined();
  });
});
