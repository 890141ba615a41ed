/**
 * Time as the SDK's timers see it: the wall clock and one-shot timers. Injected so tests can move
 * time forward instead of waiting for it (`createManualClock` in `@tugboat/controller-sdk/testing`).
 */
export interface Clock {
  now(): number;
  /** Calls `callback` once after `ms`; the timer never keeps the process alive. */
  setTimeout(callback: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
}

/** What `Clock.setTimeout` returns; only good for `clearTimeout` of the same clock. */
export type ClockTimer = unknown;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(timer) {
    if (timer !== undefined) clearTimeout(timer as NodeJS.Timeout);
  },
};
