import { UsageError } from './usage-error.js';

/** A non-negative whole number given as an option (`--events 5`). */
export function parseCount(text: string, option: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new UsageError(`${option}: "${text}" is not a whole number (0 or more)`, [{ path: option, rule: 'integer' }]);
  }
  return value;
}
