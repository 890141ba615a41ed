import { keyString, type ResourceKey } from '@tugboat/resource-model';

export interface WorkItem<D> {
  key: ResourceKey;
  id: string;
  /** Every message that asked for this key since it was queued; settled together after one reconcile. */
  deliveries: D[];
}

/**
 * The local work queue of one replica, keyed by object: a key already waiting absorbs new
 * deliveries (so a burst of events costs one reconcile), and a key being processed is never handed
 * to a second worker; deliveries that arrive meanwhile wait for it to finish, then run once more.
 */
export interface WorkQueue<D> {
  add(key: ResourceKey, delivery: D): void;
  /** The next key to process; `undefined` once the signal is aborted or the queue is closed. */
  take(signal: AbortSignal): Promise<WorkItem<D> | undefined>;
  finish(item: WorkItem<D>): void;
  /** Keys waiting (not being processed). */
  readonly depth: number;
  /** Deliveries held in total, waiting or being processed. */
  readonly held: number;
  /** Every held delivery, e.g. to tell the server they are still being worked on. */
  allDeliveries(): D[];
  /** Removes every waiting key (not those being processed) and returns their deliveries. */
  removeWaiting(): D[];
  /** Resolves once fewer than `limit` deliveries are held (or the signal aborts). */
  whenHeldBelow(limit: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

export function createWorkQueue<D>(): WorkQueue<D> {
  const ready = new Map<string, WorkItem<D>>();
  const processing = new Map<string, WorkItem<D>>();
  const deferred = new Map<string, WorkItem<D>>();
  let held = 0;
  let closed = false;
  let listeners: Array<() => void> = [];

  function notify(): void {
    const current = listeners;
    listeners = [];
    for (const listener of current) listener();
  }

  function waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      listeners.push(done);
    });
  }

  function into(map: Map<string, WorkItem<D>>, key: ResourceKey, id: string, delivery: D): void {
    const item = map.get(id) ?? { key, id, deliveries: [] };
    item.deliveries.push(delivery);
    map.set(id, item);
  }

  return {
    add(key, delivery) {
      const id = keyString(key);
      held += 1;
      into(processing.has(id) ? deferred : ready, key, id, delivery);
      notify();
    },

    async take(signal) {
      for (;;) {
        if (closed || signal.aborted) return undefined;
        const first = ready.values().next();
        if (!first.done) {
          const item = first.value;
          ready.delete(item.id);
          processing.set(item.id, item);
          notify();
          return item;
        }
        await waitForChange(signal);
      }
    },

    finish(item) {
      if (processing.get(item.id) !== item) return;
      processing.delete(item.id);
      held -= item.deliveries.length;
      const next = deferred.get(item.id);
      if (next !== undefined) {
        deferred.delete(item.id);
        ready.set(item.id, next);
      }
      notify();
    },

    get depth() {
      return ready.size + deferred.size;
    },

    get held() {
      return held;
    },

    allDeliveries() {
      return [...ready.values(), ...processing.values(), ...deferred.values()].flatMap((item) => item.deliveries);
    },

    removeWaiting() {
      const removed = [...ready.values(), ...deferred.values()].flatMap((item) => item.deliveries);
      ready.clear();
      deferred.clear();
      held -= removed.length;
      notify();
      return removed;
    },

    async whenHeldBelow(limit, signal) {
      while (held >= limit && !closed && !signal.aborted) await waitForChange(signal);
    },

    close() {
      closed = true;
      notify();
    },
  };
}
