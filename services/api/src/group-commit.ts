/**
 * Group commit: writes that arrive while `maxInFlight` batches are already on their way to the
 * database wait, and go together as the next batch (one statement, one commit) as soon as one of
 * those returns. At low load every write goes alone at once (no added latency); under load the
 * per-statement and per-commit costs (parse, plan, WAL flush, one socket write each way) are paid
 * once per batch instead of once per write.
 *
 * The gather (`gather`, off unless given) makes the batches larger under load, as Postgres's own
 * `commit_delay` with `commit_siblings` does for WAL flushes: after a batch of at least `minBatch`
 * returns, the next one waits up to `ms` for as many writes again as that batch carried. Those are
 * mostly its own callers coming back with their next write: without the wait, callers split into
 * two groups that alternate, each paying a commit (with 16 writers in a closed loop, batches of 7–8
 * instead of 15). A write at low load never waits: a batch below `minBatch` is followed at once.
 *
 * The queue is bounded (`maxQueued`): past it a write is refused at once with a 503 that says when
 * to retry, so a flood of writes faster than the database costs a refusal each, not memory.
 *
 * `run` answers each item of a batch on its own (a value or an error), so one item's failure
 * fails only its own caller. Nothing is answered before `run` returned, i.e. before the commit.
 */
import { UnavailableError } from '@tugboat/resource-model';

export type ItemOutcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface GroupCommitOptions<I, O> {
  /** Writes a batch (in its own transaction) and returns one outcome per item, in order. */
  run(items: I[]): Promise<Array<ItemOutcome<O>>>;
  /** Batches on their way at once. */
  maxInFlight: number;
  /** Items in one batch at most. */
  maxBatch: number;
  /**
   * Items that may not share a batch (e.g. the same object key): the later one waits for the next
   * batch, so the order of two writes to one key is the order they were submitted.
   */
  keyOf?(item: I): string;
  /** Writes waiting (not yet in a batch on its way) at most; default 10 000. */
  maxQueued?: number;
  /** `Retry-After` of the 503 when the queue is full; default 1 s. */
  retryAfterSeconds?: number;
  /**
   * The gather under load: after a batch of at least `minBatch` items returns, the next batch waits
   * until as many items again have joined the queue (the answered callers coming back), the batch is
   * full, or `ms` have passed. A smaller batch is followed at once. Absent = no gather.
   */
  gather?: { minBatch: number; ms: number };
  /** The gather's timer; injected by tests to move time by hand. Default: the global timers. */
  timers?: GatherTimers;
}

export interface GatherTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const globalTimers: GatherTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export interface GroupCommit<I, O> {
  submit(item: I): Promise<O>;
  /** Batches on their way now (for tests and metrics). */
  readonly inFlight: number;
  /** Writes waiting now. */
  readonly queued: number;
}

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export function createGroupCommit<I, O>(options: GroupCommitOptions<I, O>): GroupCommit<I, O> {
  const { maxInFlight, maxBatch } = options;
  const maxQueued = options.maxQueued ?? 10_000;
  if (!(maxInFlight >= 1) || !(maxBatch >= 1) || !(maxQueued >= 1)) throw new RangeError('group commit: maxInFlight, maxBatch and maxQueued must be at least 1');
  let queue: Array<Waiting<I, O>> = [];
  let inFlight = 0;
  /** While gathering: the queue length that ends the gather, and the timer that ends it anyway. */
  let gathering: { until: number; timer: unknown } | undefined;
  const timers = options.timers ?? globalTimers;

  function takeBatch(): Array<Waiting<I, O>> {
    const batch: Array<Waiting<I, O>> = [];
    const rest: Array<Waiting<I, O>> = [];
    const keys = new Set<string>();
    for (const waiting of queue) {
      const key = options.keyOf?.(waiting.item);
      // Once an item waits, everything with its key after it waits too, so per-key order holds.
      if (batch.length >= maxBatch || (key !== undefined && keys.has(key))) {
        rest.push(waiting);
        if (key !== undefined) keys.add(key);
        continue;
      }
      if (key !== undefined) keys.add(key);
      batch.push(waiting);
    }
    queue = rest;
    return batch;
  }

  function drain(): void {
    if (gathering) {
      if (queue.length < gathering.until) return;
      timers.clearTimeout(gathering.timer);
      gathering = undefined;
    }
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = takeBatch();
      inFlight++;
      void send(batch);
    }
  }

  async function send(batch: Array<Waiting<I, O>>): Promise<void> {
    try {
      const outcomes = await options.run(batch.map((w) => w.item));
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (!outcome) waiting.reject(new Error(`group commit: no outcome for item ${i} of ${batch.length}`));
        else if (outcome.ok) waiting.resolve(outcome.value);
        else waiting.reject(outcome.error);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      inFlight--;
      const gather = options.gather;
      if (gather && batch.length >= gather.minBatch && !gathering && inFlight === 0) {
        const until = Math.min(maxBatch, queue.length + batch.length);
        gathering = {
          until,
          timer: timers.setTimeout(() => {
            gathering = undefined;
            drain();
          }, gather.ms),
        };
      }
      drain();
    }
  }

  return {
    submit(item) {
      if (queue.length >= maxQueued) {
        return Promise.reject(
          new UnavailableError(`the API has ${queue.length} writes waiting for the database (its limit): retry later`, {
            details: [{ path: 'body', rule: 'max-queued-writes' }],
            retryAfterSeconds: options.retryAfterSeconds ?? 1,
          }),
        );
      }
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        drain();
      });
    },
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return queue.length;
    },
  };
}
