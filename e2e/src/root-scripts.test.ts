import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startChild, waitUntil, type Child } from './harness/cli-processes.js';

// The root scripts a newcomer types, through pnpm as they type them: options in any order reach the
// program (pnpm's nested `pnpm --filter … start` used to swallow --state-dir), --help is the
// program's own, and a stop through the pnpm parent is clean (exit 0, no ELIFECYCLE line).
let dir: string;
const children: Child[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tug-root-scripts-'));
});
afterAll(async () => {
  for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function pnpm(args: string[]): Child {
  const child = startChild('pnpm', args, { ...process.env });
  children.push(child);
  return child;
}

it('pnpm sandbox takes --state-dir before --port, and stops cleanly on SIGTERM to pnpm', async () => {
  for (const order of ['state-dir first', 'port first'] as const) {
    const port = await freePort();
    const stateDir = join(dir, order.replace(' ', '-'));
    const options = order === 'state-dir first' ? ['--state-dir', stateDir, '--port', String(port)] : ['--port', String(port), '--state-dir', stateDir];
    const sandbox = pnpm(['sandbox', ...options]);
    await waitUntil(() => sandbox.output().includes('Tugboat sandbox on'), `the sandbox (${order})`, 60_000);
    expect(sandbox.output()).toContain(`Tugboat sandbox on http://127.0.0.1:${port}`);
    expect(sandbox.output()).toContain(`state:             ${join(stateDir, 'state.json')}`);
    expect(await readFile(join(stateDir, 'aws.env'), 'utf8')).toContain(`http://127.0.0.1:${port}`);
    sandbox.process.kill('SIGTERM');
    expect(await sandbox.exited).toEqual({ code: 0, signal: null });
    expect(sandbox.output()).not.toContain('ELIFECYCLE');
  }
}, 120_000);

it('pnpm sandbox --help and pnpm tug --help print the programs\' own help', async () => {
  const sandbox = pnpm(['sandbox', '--help']);
  expect(await sandbox.exited).toEqual({ code: 0, signal: null });
  expect(sandbox.output()).toContain('Usage: pnpm sandbox [options]');
  expect(sandbox.output()).toContain('--state-dir DIR');
  const tug = pnpm(['tug', 'up', '--help']);
  expect(await tug.exited).toEqual({ code: 0, signal: null });
  expect(tug.output()).toContain('Usage: tug up [options]');
}, 60_000);
