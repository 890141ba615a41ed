/**
 * Renders keyed by their inputs: a bounded LRU of finished renders, and the renders under way, so
 * a controller's periodic reconcile does not spawn helm each time and ten identical reconciles
 * share one helm run. Failures are not kept (the next reconcile asks again). A caller that aborts
 * stops waiting at once; the shared run is stopped only when every caller has gone.
 */

interface InFlight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

export interface RenderCache<T> {
  get(key: string, produce: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly size: number;
}

export function createRenderCache<T>(maxEntries: number): RenderCache<T> {
  const done = new Map<string, T>();
  const running = new Map<string, InFlight<T>>();

  function remember(key: string, value: T): void {
    if (maxEntries <= 0) return;
    done.delete(key);
    done.set(key, value);
    while (done.size > maxEntries) done.delete(done.keys().next().value as string);
  }

  function start(key: string, produce: (signal: AbortSignal) => Promise<T>): InFlight<T> {
    const controller = new AbortController();
    const entry: InFlight<T> = { controller, waiters: 0, promise: Promise.resolve() as Promise<T> };
    entry.promise = produce(controller.signal).then(
      (value) => {
        if (running.get(key) === entry) running.delete(key);
        if (!controller.signal.aborted) remember(key, value);
        return value;
      },
      (error: unknown) => {
        if (running.get(key) === entry) running.delete(key);
        throw error;
      },
    );
    // Every waiter may have gone; the run's own rejection is then nobody's.
    entry.promise.catch(() => undefined);
    running.set(key, entry);
    return entry;
  }

  return {
    get size() {
      return done.size;
    },
    async get(key, produce, signal) {
      signal?.throwIfAborted();
      const cached = done.get(key);
      if (cached !== undefined) {
        remember(key, cached);
        return cached;
      }
      const entry = running.get(key) ?? start(key, produce);
      entry.waiters += 1;
      if (signal === undefined) return entry.promise;
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => {
          entry.waiters -= 1;
          if (entry.waiters === 0) {
            if (running.get(key) === entry) running.delete(key);
            entry.controller.abort(signal.reason);
          }
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.promise.then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      });
    },
  };
}
