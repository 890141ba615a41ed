import { parseCronSchedule } from './cron-schedule.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('cron schedules', () => {
  it('finds the next minute a schedule fires at', () => {
    expect(iso(parseCronSchedule('*/5 * * * *').nextAfter(at('2026-01-01T10:02:30Z')))).toBe('2026-01-01T10:05:00.000Z');
    expect(iso(parseCronSchedule('*/5 * * * *').nextAfter(at('2026-01-01T10:05:00Z')))).toBe('2026-01-01T10:10:00.000Z');
    expect(iso(parseCronSchedule('30 2 * * *').nextAfter(at('2026-01-01T10:00:00Z')))).toBe('2026-01-02T02:30:00.000Z');
    expect(iso(parseCronSchedule('0 9 * * mon-fri').nextAfter(at('2026-01-03T10:00:00Z')))).toBe('2026-01-05T09:00:00.000Z');
    expect(iso(parseCronSchedule('@monthly').nextAfter(at('2026-01-15T00:00:00Z')))).toBe('2026-02-01T00:00:00.000Z');
    expect(iso(parseCronSchedule('0 0 29 2 *').nextAfter(at('2026-03-01T00:00:00Z')))).toBe('2028-02-29T00:00:00.000Z');
  });

  it('matches either day field when both are restricted, as cron does', () => {
    // The 13th, or any Friday: 2026-02-06 is a Friday.
    expect(iso(parseCronSchedule('0 0 13 * 5').nextAfter(at('2026-02-01T00:00:00Z')))).toBe('2026-02-06T00:00:00.000Z');
  });

  it('rejects malformed schedules', () => {
    expect(() => parseCronSchedule('* * *')).toThrow('expected 5 fields');
    expect(() => parseCronSchedule('61 * * * *')).toThrow('minute');
    expect(() => parseCronSchedule('*/0 * * * *')).toThrow('bad step');
  });
});
