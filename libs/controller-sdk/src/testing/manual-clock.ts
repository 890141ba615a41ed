import type { Clock } from '../clock.js';

/** A clock that moves only when told: timers fire inside `advance`, in time order. */
export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, firing every timer due on the way at its own time. */
  advance(ms: number): void;
  /** Timers not yet fired. */
  readonly pending: number;
}

export function createManualClock(options: { startAt?: number } = {}): ManualClock {
  let time = options.startAt ?? 1_700_000_000_000;
  let nextId = 0;
  const timers = new Map<number, { at: number; id: number; callback: () => void }>();

  return {
    now: () => time,
    setTimeout(callback, ms) {
      nextId += 1;
      timers.set(nextId, { at: time + Math.max(0, ms), id: nextId, callback });
      return nextId;
    },
    clearTimeout(timer) {
      if (typeof timer === 'number') timers.delete(timer);
    },
    advance(ms) {
      const until = time + ms;
      for (;;) {
        // Earliest first; equal times in the order they were set. A callback may set new timers.
        let due: { at: number; id: number; callback: () => void } | undefined;
        for (const timer of timers.values()) if (timer.at <= until && (due === undefined || timer.at < due.at || (timer.at === due.at && timer.id < due.id))) due = timer;
        if (due === undefined) break;
        timers.delete(due.id);
        time = Math.max(time, due.at);
        due.callback();
      }
      time = until;
    },
    get pending() {
      return timers.size;
    },
  };
}
