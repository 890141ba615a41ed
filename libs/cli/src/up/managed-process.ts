import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { TextSink } from '../command-context.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcessOptions {
  /** Shown in front of every line the process writes, e.g. `api`. */
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string | undefined>;
  output: TextSink;
  /** Width the name is padded to, so the output lines up. */
  labelWidth?: number;
  /** Sent by `stop` whatever signal it is given, for programs whose clean stop is another one. */
  stopSignal?: NodeJS.Signals;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves once the process has exited and its output is drained. */
  readonly exited: Promise<ProcessExit>;
  readonly hasExited: boolean;
  /** Sends a signal; stops waiting after `graceMs` and kills it. Resolves when it has exited. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<ProcessExit>;
  /** Last resort, synchronous (for the `exit` hook). */
  killNow(): void;
}

/**
 * A child in its own process group, so a Ctrl-C in the terminal reaches `tug up` alone and the
 * children are stopped in order; its stdout and stderr are copied line by line with its name.
 */
export function startManagedProcess(options: ManagedProcessOptions): ManagedProcess {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const label = `${options.name.padEnd(options.labelWidth ?? options.name.length)} | `;
  const copy = (stream: Readable) => {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => options.output.write(label + line + '\n'));
  };
  copy(child.stdout);
  copy(child.stderr);

  let hasExited = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      options.output.write(`${label}could not start ${options.command}: ${error.message}\n`);
      hasExited = true;
      resolve({ code: 127, signal: null });
    });
    child.once('close', (code, signal) => {
      hasExited = true;
      resolve({ code, signal });
    });
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    if (hasExited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  };

  return {
    name: options.name,
    pid: child.pid ?? -1,
    exited,
    get hasExited() {
      return hasExited;
    },
    async stop(signal, graceMs) {
      signalGroup(options.stopSignal ?? signal);
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          options.output.write(`${label}did not stop within ${graceMs} ms; killing it\n`);
          signalGroup('SIGKILL');
          resolve();
        }, graceMs);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      return exited;
    },
    killNow() {
      signalGroup('SIGKILL');
    },
  };
}

export function describeExit(exit: ProcessExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
