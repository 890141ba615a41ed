import { parseDateTime } from './date-time.js';

describe('parseDateTime', () => {
  it('reads RFC 3339 times as the API always took them: seconds and fraction optional, Z or an offset', () => {
    expect(parseDateTime('2027-01-31T00:00:00Z')).toBe(Date.UTC(2027, 0, 31));
    expect(parseDateTime('2027-01-31T00:00Z')).toBe(Date.UTC(2027, 0, 31));
    expect(parseDateTime('2027-01-31T02:00:00.5+02:00')).toBe(Date.UTC(2027, 0, 31) + 500);
    expect(parseDateTime('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
    expect(parseDateTime('2000-02-29T00:00:00z')).toBe(Date.UTC(2000, 1, 29));
    expect(parseDateTime('0001-01-01T00:00:00Z')).toBe(Date.parse('0001-01-01T00:00:00Z'));
  });

  it('refuses dates that do not exist instead of rolling them over, and year 0000 (Postgres has none)', () => {
    for (const text of [
      '2027-02-30T00:00:00Z',
      '2027-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2027-04-31T00:00:00Z',
      '2027-13-01T00:00:00Z',
      '2027-00-10T00:00:00Z',
      '2027-01-00T00:00:00Z',
      '2027-01-01T24:00:00Z',
      '2027-01-01T00:60:00Z',
      '2027-01-01T00:00:60Z',
      '2027-01-01T00:00:00+24:00',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00+01:00',
      '2027-01-01',
      '2027-01-01 00:00:00Z',
      7,
      undefined,
    ]) {
      expect([text, parseDateTime(text)]).toEqual([text, undefined]);
    }
  });
});
