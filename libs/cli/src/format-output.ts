import { stringify } from 'yaml';
import type { Resource } from '@tugboat/resource-model';
import { UsageError } from './usage-error.js';

export type OutputFormat = 'table' | 'yaml' | 'json';

export function parseOutputFormat(value: string): OutputFormat {
  if (value === 'table' || value === 'yaml' || value === 'json') return value;
  throw new UsageError(`-o/--output: "${value}" is not one of table, yaml, json`, [{ path: '-o', rule: 'enum' }]);
}

/**
 * One object prints as itself; a list as `{ items: [...] }`. Both can be given back to
 * `tug apply -f`, which keeps only what a client may send.
 */
export function formatDocument(value: Resource | { items: Resource[] }, format: 'yaml' | 'json'): string {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  return stringify(value, { lineWidth: 0 });
}
