/**
 * A fast smoke of the write-path benchmark's wake-up probe (the benchmark itself runs only under
 * `pnpm bench`): its server answers, both figures come from the server's own CPU, and every paced
 * request is timed.
 */
import { measureWakeUpCost } from './wake-up-probe.js';

it('measures the CPU a request costs a server that sleeps between requests and one that does not', async () => {
  const cost = await measureWakeUpCost({ rate: 200, pacedRequests: 40, backToBackRequests: 400 });
  expect(cost.rate).toBe(200);
  expect(cost.pacedRoundTripMs.count).toBe(40);
  // Each request costs its server something, and no request costs a whole paced interval.
  for (const figure of [cost.backToBackCpuMs, cost.pacedCpuMs]) {
    expect(figure).toBeGreaterThan(0);
    expect(figure).toBeLessThan(5);
  }
});
