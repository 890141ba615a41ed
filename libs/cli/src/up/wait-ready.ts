import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedProcess } from './managed-process.js';
import { describeExit } from './managed-process.js';

export interface WaitReadyOptions {
  url: string;
  process: ManagedProcess;
  timeoutMs: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  intervalMs?: number;
}

/**
 * Polls `url` until it answers 2xx. Fails as soon as the process exits, with how it exited, and
 * at the deadline; the process's own output (already copied) says why.
 */
export async function waitReady(options: WaitReadyOptions): Promise<void> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const deadline = Date.now() + options.timeoutMs;
  let exit: string | undefined;
  void options.process.exited.then((result) => {
    exit = describeExit(result);
  });
  for (;;) {
    if (exit !== undefined) throw new Error(`${options.process.name} ${exit} before it was ready (its output is above)`);
    try {
      const response = await doFetch(options.url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() >= deadline) {
      throw new Error(`${options.process.name} was not ready at ${options.url} within ${Math.round(options.timeoutMs / 1000)} s (its output is above)`);
    }
    await sleep(options.intervalMs ?? 200, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}
