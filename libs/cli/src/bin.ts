#!/usr/bin/env node
import { runCli } from './run-cli.js';

// Ctrl-C or SIGTERM aborts the running command through its signal, so `get -w` ends cleanly and a
// `wait` stops its requests; a second one exits at once. `tug up` listens for them itself.
const interrupt = new AbortController();
let stopRequests = 0;
const onStop = (signal: NodeJS.Signals) => () => {
  if (process.argv[2] === 'up') return;
  if (++stopRequests > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
  interrupt.abort(new Error(`stopped by ${signal}`));
};
process.on('SIGINT', onStop('SIGINT'));
process.on('SIGTERM', onStop('SIGTERM'));
// `tug get -w | head`: the reader is gone, so there is nothing left to do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  // Lazily, so commands that never read stdin do not touch it.
  stdin: { [Symbol.asyncIterator]: () => process.stdin[Symbol.asyncIterator]() },
  get stdinIsTTY() {
    return process.stdin.isTTY === true;
  },
  processSignals: process,
  signal: interrupt.signal,
});
// Output is written; a connection or timer some library left behind must not keep `tug` running.
setTimeout(() => process.exit(), 2_000).unref();
