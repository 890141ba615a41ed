import { AwsError } from '../aws-error.js';
import { checkBackupWindow, checkMaintenanceWindow, msUntilMaintenanceWindow } from './maintenance-window.js';

const MINUTE = 60_000;
// Wednesday 2026-12-02 10:00 UTC.
const WEDNESDAY_10 = Date.UTC(2026, 11, 2, 10, 0);

describe('RDS maintenance windows', () => {
  it('counts the time until the window next opens, across the end of the week', () => {
    expect(msUntilMaintenanceWindow('wed:11:00-wed:11:30', WEDNESDAY_10)).toBe(60 * MINUTE);
    expect(msUntilMaintenanceWindow('wed:09:45-wed:10:15', WEDNESDAY_10)).toBe(0);
    expect(msUntilMaintenanceWindow('wed:09:00-wed:09:30', WEDNESDAY_10)).toBe((7 * 24 * 60 - 60) * MINUTE);
    expect(msUntilMaintenanceWindow('sun:05:00-sun:05:30', WEDNESDAY_10)).toBe((3 * 24 * 60 + 19 * 60) * MINUTE);
    // Open across Saturday midnight.
    expect(msUntilMaintenanceWindow('sat:23:45-sun:00:15', Date.UTC(2026, 11, 6, 0, 5))).toBe(0);
  });

  it('refuses malformed or short windows as RDS does', () => {
    expect(checkMaintenanceWindow('Sun:05:00-Sun:06:00')).toBe('sun:05:00-sun:06:00');
    expect(() => checkMaintenanceWindow('sunday 5am')).toThrow(AwsError);
    expect(() => checkMaintenanceWindow('sun:05:00-sun:05:10')).toThrow('The maintenance window must be at least 30 minutes.');
    expect(checkBackupWindow('23:50-00:30')).toBe('23:50-00:30');
    expect(() => checkBackupWindow('03:00-03:10')).toThrow('The backup window must be at least 30 minutes.');
  });
});
