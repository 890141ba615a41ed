import type { FieldChange } from '@tugboat/api-client';
import { REDACTED } from '@tugboat/resource-model';
import type { TerminalStyle } from './terminal-style.js';

export interface FormatDiffOptions {
  style: TerminalStyle;
  /** Secret fields of the kind (dotted paths inside `spec`): shown as `<redacted>` whatever the server sent. */
  secretFields?: readonly string[];
  indent?: string;
}

/**
 * One line per changed field, as a reviewer reads a plan: `+ path: value` (added),
 * `- path: value` (removed), `~ path: old → new` (replaced).
 */
export function formatFieldChanges(changes: readonly FieldChange[], options: FormatDiffOptions): string {
  const indent = options.indent ?? '  ';
  const { style } = options;
  const shown = (change: FieldChange, value: unknown) => formatValue(isSecretPath(change.path, options.secretFields) ? REDACTED : value);
  return changes
    .map((change) => {
      switch (change.op) {
        case 'add':
          return `${indent}${style.green(`+ ${change.path}: ${shown(change, change.to)}`)}`;
        case 'remove':
          return `${indent}${style.red(`- ${change.path}: ${shown(change, change.from)}`)}`;
        default:
          return `${indent}${style.yellow(`~ ${change.path}: ${shown(change, change.from)} → ${shown(change, change.to)}`)}`;
      }
    })
    .map((line) => `${line}\n`)
    .join('');
}

/** True for `spec.<secret>` and anything inside it. */
export function isSecretPath(path: string, secretFields: readonly string[] | undefined): boolean {
  return (secretFields ?? []).some((field) => path === `spec.${field}` || path.startsWith(`spec.${field}.`) || path.startsWith(`spec.${field}[`));
}

const MAX_VALUE_LENGTH = 120;

/** Compact JSON (strings quoted, so `"1.30"` and `1.3` differ), shortened past a line's worth. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '(none)';
  if (value === REDACTED) return REDACTED;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text;
}
