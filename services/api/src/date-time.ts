/**
 * An RFC 3339 time from a request (`2027-01-31T00:00:00Z`, seconds and offset optional as the API
 * has always taken them), as milliseconds; undefined when it is not one. `Date.parse` alone rolls
 * impossible dates over (`2027-02-30` became 2 March) and reads year 0000, which Postgres has not.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))$/i;

const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');

export function parseDateTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = RFC3339.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(match[i])) as [number, number, number, number, number];
  const second = match[7] === undefined ? 0 : Number(match[7]);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (daysInMonth === undefined || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (match[10] !== undefined && (Number(match[10]) > 23 || Number(match[11]) > 59)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) || at < FIRST_INSTANT ? undefined : at;
}
