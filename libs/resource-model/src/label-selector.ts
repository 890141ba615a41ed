/**
 * The one label-selector parser (`tier=prod,canary!=true,team,!legacy`), shared by the API (list
 * filters), the API client and the SDK's fake, and `tug -l` (which also filters watched changes).
 *
 * It reads the text once, left to right: each comma-separated term is split at its first `=` or
 * `!` with `indexOf` and the pieces are checked against length-bounded rules, so the work is linear
 * in the input length, and the input itself is bounded (`maxLength`). No regular expression runs
 * over more than one bounded key or value.
 */
import { InputError } from './errors.js';

export type LabelRequirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'exists' | 'absent'; key: string };

export interface ParseLabelSelectorOptions {
  /** Longest accepted selector, in UTF-16 code units. Default `MAX_LABEL_SELECTOR_LENGTH`. */
  maxLength?: number;
  /** The name errors give the input (`labelSelector`, `-l`). Default `labelSelector`. */
  field?: string;
}

/** 16 KiB: hundreds of requirements, well beyond any real selector, far below a request's size. */
export const MAX_LABEL_SELECTOR_LENGTH = 16 * 1024;

/** DNS-subdomain prefix (at most 253) and name (at most 63), as Kubernetes label keys. */
const KEY_PREFIX = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const KEY_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const SYNTAX = 'use key=value, key!=value, key or !key, separated by commas';

export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !KEY_PREFIX.test(prefix))) return false;
  return name.length >= 1 && name.length <= 63 && KEY_NAME.test(name);
}

export function isLabelValue(value: string): boolean {
  return value.length <= 63 && VALUE.test(value);
}

export function parseLabelSelector(text: string, options: ParseLabelSelectorOptions = {}): LabelRequirement[] {
  const field = options.field ?? 'labelSelector';
  const maxLength = options.maxLength ?? MAX_LABEL_SELECTOR_LENGTH;
  if (text.length > maxLength) {
    throw new InputError(`${field}: is ${text.length} characters long, the limit is ${maxLength}`, { details: [{ path: field, rule: 'max-length' }] });
  }
  const requirements: LabelRequirement[] = [];
  let start = 0;
  while (start <= text.length) {
    const comma = text.indexOf(',', start);
    const end = comma === -1 ? text.length : comma;
    const term = text.slice(start, end).trim();
    if (term !== '') requirements.push(parseTerm(term, field));
    start = end + 1;
  }
  return requirements;
}

function parseTerm(term: string, field: string): LabelRequirement {
  const fail = (rule: string, why: string): never => {
    const shown = term.length > 80 ? `${term.slice(0, 77)}...` : term;
    throw new InputError(`${field}: "${shown}": ${why} (${SYNTAX})`, { details: [{ path: field, rule }] });
  };
  const checkKey = (key: string): string => {
    if (key === '') fail('syntax', 'the label key is missing');
    if (!isLabelKey(key)) fail('label-key', `"${key.length > 80 ? `${key.slice(0, 77)}...` : key}" is not a label key`);
    return key;
  };

  if (term.startsWith('!')) {
    const key = term.slice(1).trim();
    if (key.includes('=')) fail('syntax', '"!" takes a key alone (!key), not a comparison');
    return { op: 'absent', key: checkKey(key) };
  }
  const equals = term.indexOf('=');
  const bang = term.indexOf('!');
  const at = bang !== -1 && (equals === -1 || bang < equals) ? bang : equals;
  if (at === -1) return { op: 'exists', key: checkKey(term) };

  let op: 'eq' | 'neq';
  let valueStart: number;
  if (term[at] === '!') {
    if (term[at + 1] !== '=') fail('syntax', '"!" inside a term must be "!="');
    op = 'neq';
    valueStart = at + 2;
  } else {
    op = 'eq';
    valueStart = term[at + 1] === '=' ? at + 2 : at + 1;
  }
  const key = checkKey(term.slice(0, at).trim());
  const value = term.slice(valueStart).trim();
  if (!isLabelValue(value)) fail('label-value', 'the value is not a label value (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)');
  return { op, key, value };
}

/** Whether `labels` satisfy every requirement; only the labels' own keys count. */
export function matchesLabelSelector(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const have = labels ?? {};
  return requirements.every((requirement) => {
    const value = Object.hasOwn(have, requirement.key) ? have[requirement.key] : undefined;
    switch (requirement.op) {
      case 'eq':
        return value === requirement.value;
      case 'neq':
        return value !== requirement.value;
      case 'exists':
        return value !== undefined;
      case 'absent':
        return value === undefined;
    }
  });
}

/** `{ tier: 'prod' }` → `tier=prod`; the inverse of parsing equality requirements. */
export function formatLabelSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}
