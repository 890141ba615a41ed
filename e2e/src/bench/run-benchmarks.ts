/**
 * `pnpm bench`: runs every `*.bench.ts` in this directory (or those named on the command line),
 * one after the other, each in its own process so one benchmark's heap and JIT state cannot
 * colour the next. Each prints its table and writes `bench-results/<name>.json`. It builds the
 * workspace first: the services are measured built, as deployed.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_TS, REPO_ROOT } from '../harness/cli-processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benchmarks = (await readdir(here))
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.includes(basename(file, '.bench.ts')))
  .sort();
if (benchmarks.length === 0) throw new Error(`no benchmark matches ${wanted.join(', ')}`);

// The services run built (`dist/`), as deployed: build first, so a figure never measures stale code.
const built = await new Promise<number | null>((resolve) => {
  spawn('pnpm', ['build'], { cwd: REPO_ROOT, stdio: 'inherit' }).once('close', (exitCode) => resolve(exitCode));
});
if (built !== 0) throw new Error(`pnpm build failed (exit ${built}): the benchmarks run the built services`);

let failed = 0;
for (const file of benchmarks) {
  console.log(`\n== ${basename(file, '.bench.ts')}`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(NODE_TS[0], [...NODE_TS.slice(1), join(here, file)], { cwd: REPO_ROOT, stdio: 'inherit' });
    // Passed on, so the benchmark ends the processes it started (a SIGTERM to this runner alone would orphan them).
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.once('close', () => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    });
    child.once('close', (exitCode) => resolve(exitCode));
  });
  if (code !== 0) {
    failed += 1;
    console.error(`${file} failed (exit ${code})`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
