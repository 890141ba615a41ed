import { jittered, retryDelayMs } from './retry-delay.js';

describe('retryDelayMs', () => {
  it('doubles per failed attempt from the base and stops at the cap', () => {
    const top = (attempt: number) => retryDelayMs(attempt, { baseMs: 200, maxMs: 60_000, random: () => 1 });
    expect([1, 2, 3, 4].map(top)).toEqual([200, 400, 800, 1600]);
    expect(top(9)).toBe(51_200);
    expect(top(10)).toBe(60_000);
    expect(top(500)).toBe(60_000);
  });

  it('keeps half of the step fixed and jitters the other half', () => {
    expect(retryDelayMs(3, { random: () => 0 })).toBe(400);
    expect(retryDelayMs(3, { random: () => 0.5 })).toBe(600);
    const samples = Array.from({ length: 200 }, () => retryDelayMs(5));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(1_600);
    expect(Math.max(...samples)).toBeLessThanOrEqual(3_200);
    expect(new Set(samples).size).toBeGreaterThan(50);
  });

  it('spreads a short delay by half either way', () => {
    expect(jittered(1_000, () => 0)).toBe(500);
    expect(jittered(1_000, () => 1)).toBe(1_500);
  });
});
