import type { Logger } from 'pino';

/**
 * A pass run now and then every `intervalMs` (the retention job, the secret re-seal): one at a
 * time, a failure logged and the next pass kept on schedule, `stop()` waiting for a pass under way.
 */
export interface PeriodicPass {
  start(): void;
  stop(): Promise<void>;
}

export function createPeriodicPass(options: { run: () => Promise<unknown>; intervalMs: number; logger: Logger; failure: string }): PeriodicPass {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      running = options
        .run()
        .catch((error: unknown) => options.logger.warn({ err: String(error) }, options.failure))
        .finally(() => {
          running = undefined;
          if (timer !== undefined) schedule(options.intervalMs);
        });
    }, delayMs);
    timer.unref();
  }

  return {
    start() {
      if (timer === undefined) schedule(0);
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
