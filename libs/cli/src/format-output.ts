import { stringify } from 'yaml';
import type { Resource } from '@tugboat/resource-model';
import { UsageError } from './usage-error.js';

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json';

const ALL_FORMATS: readonly OutputFormat[] = ['table', 'wide', 'yaml', 'json'];

export function parseOutputFormat<F extends OutputFormat = OutputFormat>(value: string, allowed: readonly F[] = ALL_FORMATS as readonly F[]): F {
  if ((allowed as readonly string[]).includes(value)) return value as F;
  throw new UsageError(`-o/--output: "${value}" is not one of ${allowed.join(', ')}`, [{ path: '-o', rule: 'enum' }]);
}

/**
 * One object prints as itself; a list as `{ items: [...] }`. Both can be given back to
 * `tug apply -f`, which keeps only what a client may send.
 */
export function formatDocument(value: Resource | { items: unknown[] } | object, format: 'yaml' | 'json'): string {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  return stringify(value, { lineWidth: 0 });
}
