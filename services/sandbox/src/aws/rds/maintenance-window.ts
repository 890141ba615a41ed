/**
 * RDS windows: the weekly maintenance window `ddd:hh24:mi-ddd:hh24:mi` (UTC) and the daily backup
 * window `hh24:mi-hh24:mi`, checked as RDS checks them (at least 30 minutes, no overlap of the two is
 * not checked here), and how long until the next maintenance window opens.
 */
import { AwsError } from '../aws-error.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEK_MS = 7 * 24 * 60 * 60_000;
const WEEKLY = /^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)$/;
const DAILY = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** Minutes since Sunday 00:00 UTC of the window's start and end. */
function weeklyMinutes(window: string): { start: number; end: number } | undefined {
  const match = WEEKLY.exec(window.toLowerCase());
  if (match === null) return undefined;
  const [, d1, h1, m1, d2, h2, m2] = match as unknown as [string, string, string, string, string, string, string];
  return { start: DAYS.indexOf(d1) * 1440 + Number(h1) * 60 + Number(m1), end: DAYS.indexOf(d2) * 1440 + Number(h2) * 60 + Number(m2) };
}

export function checkMaintenanceWindow(window: string): string {
  const minutes = weeklyMinutes(window);
  if (minutes === undefined) {
    throw new AwsError('InvalidParameterValue', `Invalid maintenance window format: ${window}. Must be in the format ddd:hh24:mi-ddd:hh24:mi (UTC).`, { status: 400 });
  }
  const length = (minutes.end - minutes.start + 7 * 1440) % (7 * 1440);
  if (length < 30) throw new AwsError('InvalidParameterValue', 'The maintenance window must be at least 30 minutes.', { status: 400 });
  return window.toLowerCase();
}

export function checkBackupWindow(window: string): string {
  const match = DAILY.exec(window);
  if (match === null) {
    throw new AwsError('InvalidParameterValue', `Invalid backup window format: ${window}. Must be in the format hh24:mi-hh24:mi (UTC).`, { status: 400 });
  }
  const [, h1, m1, h2, m2] = match as unknown as [string, string, string, string, string];
  const length = (Number(h2) * 60 + Number(m2) - (Number(h1) * 60 + Number(m1)) + 1440) % 1440;
  if (length < 30) throw new AwsError('InvalidParameterValue', 'The backup window must be at least 30 minutes.', { status: 400 });
  return window;
}

/** Milliseconds from `fromMs` (epoch) until the weekly window next opens (0 while it is open). */
export function msUntilMaintenanceWindow(window: string, fromMs: number): number {
  const minutes = weeklyMinutes(window);
  if (minutes === undefined) throw new Error(`not a maintenance window: ${window}`);
  const from = new Date(fromMs);
  const sundayMidnight = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate() - from.getUTCDay());
  const intoWeek = fromMs - sundayMidnight;
  const start = minutes.start * 60_000;
  const end = minutes.end * 60_000;
  const open = start <= end ? intoWeek >= start && intoWeek < end : intoWeek >= start || intoWeek < end;
  if (open) return 0;
  return (start - intoWeek + WEEK_MS) % WEEK_MS;
}
