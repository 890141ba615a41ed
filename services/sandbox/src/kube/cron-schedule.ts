/** Standard five-field cron schedules (as CronJob `spec.schedule` takes them), evaluated in UTC. */

export interface CronSchedule {
  /** The first minute strictly after `afterMs` that the schedule fires at (epoch ms), or undefined within five years. */
  nextAfter(afterMs: number): number | undefined;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const NAMES: Record<string, number> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
  sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6,
};

interface Field {
  values: Set<number>;
  any: boolean;
}

function parseField(text: string, min: number, max: number, what: string): Field {
  const values = new Set<number>();
  const value = (token: string) => {
    const number = NAMES[token.toLowerCase()] ?? Number(token);
    if (!Number.isInteger(number) || number < min || number > max + (what === 'day of week' ? 1 : 0)) throw new RangeError(`${what}: ${JSON.stringify(token)} is not in ${min}-${max}`);
    return what === 'day of week' && number === 7 ? 0 : number;
  };
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new RangeError(`${what}: bad step in ${JSON.stringify(part)}`);
    let [from, to] = [min, max];
    if (range !== '*' && range !== '?') {
      const [start = '', end] = range.split('-');
      from = value(start);
      to = end === undefined ? (stepText === undefined ? from : max) : value(end);
    }
    for (let current = from; current <= to; current += step) values.add(current);
  }
  return { values, any: text === '*' || text === '?' };
}

export function parseCronSchedule(expression: string): CronSchedule {
  const fields = (MACROS[expression.trim()] ?? expression).trim().split(/\s+/);
  if (fields.length !== 5) throw new RangeError(`expected 5 fields, found ${fields.length}: ${JSON.stringify(expression)}`);
  const [minute, hour, dayOfMonth, month, dayOfWeek] = [
    parseField(fields[0] as string, 0, 59, 'minute'),
    parseField(fields[1] as string, 0, 23, 'hour'),
    parseField(fields[2] as string, 1, 31, 'day of month'),
    parseField(fields[3] as string, 1, 12, 'month'),
    parseField(fields[4] as string, 0, 6, 'day of week'),
  ];
  const dayMatches = (date: Date) => {
    const byMonthDay = dayOfMonth.values.has(date.getUTCDate());
    const byWeekDay = dayOfWeek.values.has(date.getUTCDay());
    // Cron's rule: when both day fields are restricted, either may match.
    if (!dayOfMonth.any && !dayOfWeek.any) return byMonthDay || byWeekDay;
    return byMonthDay && byWeekDay;
  };
  return {
    nextAfter(afterMs) {
      const date = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
      const limit = afterMs + 5 * 366 * 24 * 60 * 60 * 1000;
      while (date.getTime() <= limit) {
        if (!month.values.has(date.getUTCMonth() + 1)) {
          date.setUTCMonth(date.getUTCMonth() + 1, 1);
          date.setUTCHours(0, 0, 0, 0);
        } else if (!dayMatches(date)) {
          date.setUTCDate(date.getUTCDate() + 1);
          date.setUTCHours(0, 0, 0, 0);
        } else if (!hour.values.has(date.getUTCHours())) {
          date.setUTCHours(date.getUTCHours() + 1, 0, 0, 0);
        } else if (!minute.values.has(date.getUTCMinutes())) {
          date.setUTCMinutes(date.getUTCMinutes() + 1, 0, 0);
        } else {
          return date.getTime();
        }
      }
      return undefined;
    },
  };
}
