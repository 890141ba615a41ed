/**
 * Runs the helm binary: execFile (no shell), a clean environment, a deadline, a cap on what it may
 * print, killed when the caller gives up. The one place a process is spawned; a test or an
 * instrumented controller passes its own `HelmRunner` (to count runs, say).
 */
import { execFile } from 'node:child_process';

export interface HelmRunOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal | undefined;
}

/** Resolves with helm's stdout when it exits 0; rejects with a `HelmRunFailure` otherwise. */
export type HelmRunner = (binary: string, args: readonly string[], options: HelmRunOptions) => Promise<string>;

export type HelmRunFailureKind = 'exit' | 'timeout' | 'too-large' | 'missing' | 'aborted';

export class HelmRunFailure extends Error {
  override readonly name = 'HelmRunFailure';
  constructor(
    readonly kind: HelmRunFailureKind,
    readonly stderr: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const execHelm: HelmRunner = (binary, args, options) =>
  new Promise((resolve, reject) => {
    execFile(
      binary,
      [...args],
      {
        env: options.env,
        timeout: options.timeoutMs,
        maxBuffer: options.maxOutputBytes,
        killSignal: 'SIGKILL',
        encoding: 'utf8',
        windowsHide: true,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (error, stdout, stderr) => {
        if (error === null) return resolve(stdout);
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: string | number; signal?: string | null };
        if (failure.code === 'ENOENT') return reject(new HelmRunFailure('missing', '', `helm binary "${binary}" not found`, { cause: error }));
        if (failure.name === 'AbortError' || options.signal?.aborted) return reject(new HelmRunFailure('aborted', stderr, 'helm was stopped: the render was aborted', { cause: error }));
        if (failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return reject(new HelmRunFailure('too-large', stderr, `helm printed more than ${options.maxOutputBytes} bytes`, { cause: error }));
        }
        if (failure.killed) return reject(new HelmRunFailure('timeout', stderr, `helm did not finish within ${options.timeoutMs} ms`, { cause: error }));
        reject(new HelmRunFailure('exit', stderr, `helm exited with ${String(failure.code ?? failure.signal ?? 'an error')}`, { cause: error }));
      },
    );
  });
