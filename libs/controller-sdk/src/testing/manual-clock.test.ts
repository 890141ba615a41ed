import { createManualClock } from './manual-clock.js';

describe('createManualClock', () => {
  it('fires due timers in time order at their own time, including timers set by a callback', () => {
    const clock = createManualClock({ startAt: 0 });
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
    clock.setTimeout(() => {
      fired.push(['a', clock.now()]);
      clock.setTimeout(() => fired.push(['a2', clock.now()]), 50);
    }, 100);
    const cancelled = clock.setTimeout(() => fired.push(['never', clock.now()]), 150);
    clock.clearTimeout(cancelled);

    clock.advance(120);
    expect(fired).toEqual([['a', 100]]);
    expect(clock.now()).toBe(120);
    clock.advance(1_000);
    expect(fired).toEqual([['a', 100], ['a2', 150], ['b', 200]]);
    expect(clock.now()).toBe(1_120);
    expect(clock.pending).toBe(0);
  });
});
