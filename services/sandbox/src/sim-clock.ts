/**
 * Sandbox time. Simulated durations (an EKS cluster takes minutes to become ACTIVE, a Deployment
 * seconds to become available) are divided by a scale factor that tests and demos set through
 * the control API, so a cluster can be ACTIVE in a second.
 */
export interface SimClock {
  /** Real wall-clock milliseconds since the epoch. */
  now(): number;
  /** How many real milliseconds `simulatedMs` of sandbox time take under the current scale. */
  real(simulatedMs: number): number;
  /** Runs `fn` after `simulatedMs` of sandbox time; returns a function that cancels it. */
  after(simulatedMs: number, fn: () => void): () => void;
  /** Whether `simulatedMs` of sandbox time have passed since the real instant `sinceRealMs`. */
  elapsed(sinceRealMs: number, simulatedMs: number): boolean;
  setScale(scale: number): void;
  readonly scale: number;
}

export interface SimClockOptions {
  /** Sandbox time runs this many times faster than real time. Default 1. */
  scale?: number;
}

// setTimeout fires almost at once for a delay above 2^31 - 1 ms (~24.8 days, which 10 simulated
// minutes take at scale 0.0003): a longer wait is made of steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createSimClock(options: SimClockOptions = {}): SimClock {
  let scale = validScale(options.scale ?? 1);
  const timers = new Set<NodeJS.Timeout>();
  return {
    now: () => Date.now(),
    real: (simulatedMs) => Math.max(0, Math.round(simulatedMs / scale)),
    after(simulatedMs, fn) {
      let timer: NodeJS.Timeout | undefined;
      const wait = (delay: number) => {
        const step = Math.min(delay, MAX_TIMER_MS);
        const current = setTimeout(() => {
          timers.delete(current);
          if (delay > step) wait(delay - step);
          else fn();
        }, step);
        current.unref();
        timers.add(current);
        timer = current;
      };
      wait(Math.max(0, Math.round(simulatedMs / scale)));
      return () => {
        if (timer === undefined) return;
        clearTimeout(timer);
        timers.delete(timer);
      };
    },
    elapsed: (sinceRealMs, simulatedMs) => Date.now() - sinceRealMs >= simulatedMs / scale,
    setScale(next) {
      scale = validScale(next);
    },
    get scale() {
      return scale;
    },
  };
}

function validScale(scale: number): number {
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError(`time scale must be a positive number, got ${scale}`);
  return scale;
}
