import { UsageError } from './usage-error.js';

/** One requirement of a label selector: `key=value`, `key!=value`, `key` (exists) or `!key`. */
export type LabelRequirement =
  | { key: string; op: 'equals' | 'not-equals'; value: string }
  | { key: string; op: 'exists' | 'not-exists' };

/**
 * Parses the `-l` syntax the API accepts (`tier=prod,canary!=true,team,!legacy`). The API checks it
 * on the list; `get -w` uses it again to filter watched changes, which the watch does not filter.
 */
export function parseLabelSelector(text: string): LabelRequirement[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part): LabelRequirement => {
      const match = /^(!)?([A-Za-z0-9._/-]+)(?:(==|=|!=)(.*))?$/.exec(part);
      if (match === null || (match[1] === '!' && match[3] !== undefined)) {
        throw new UsageError(`-l/--selector: "${part}" is not key=value, key!=value, key or !key`, [{ path: '-l', rule: 'label-selector' }]);
      }
      const key = match[2]!;
      if (match[3] === undefined) return { key, op: match[1] === '!' ? 'not-exists' : 'exists' };
      return { key, op: match[3] === '!=' ? 'not-equals' : 'equals', value: match[4]!.trim() };
    });
}

export function matchesLabels(requirements: readonly LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  return requirements.every((requirement) => {
    const value = Object.hasOwn(have, requirement.key) ? have[requirement.key] : undefined;
    switch (requirement.op) {
      case 'equals':
        return value === requirement.value;
      case 'not-equals':
        return value !== requirement.value;
      case 'exists':
        return value !== undefined;
      case 'not-exists':
        return value === undefined;
    }
  });
}
