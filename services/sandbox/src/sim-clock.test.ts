import { createSimClock } from './sim-clock.js';

describe('sim clock', () => {
  it('runs a callback after the simulated time, divided by the scale', async () => {
    const clock = createSimClock({ scale: 1000 });
    const started = Date.now();
    await new Promise<void>((resolve) => clock.after(20_000, resolve));
    // A timer is never early; how late it is depends on the machine's load, so only the lower bound.
    expect(Date.now() - started).toBeGreaterThanOrEqual(19);
  });

  // Node fires a timer whose delay exceeds 2^31 - 1 ms after 1 ms instead. Timers with shorter
  // delays fire first, so a 50 ms timer firing tells that the long one did not, whatever the load.
  it('does not fire early when the real delay exceeds what one setTimeout can wait', async () => {
    const clock = createSimClock({ scale: 0.0001 });
    let fired = false;
    const cancel = clock.after(10 * 60_000, () => {
      fired = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).toBe(false);
    cancel();
  });

  it('does not run a cancelled callback', async () => {
    const clock = createSimClock({ scale: 1000 });
    let fired = false;
    clock.after(1000, () => {
      fired = true;
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired).toBe(false);
  });
});
