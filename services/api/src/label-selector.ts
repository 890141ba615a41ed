/** `a=b,c!=d,e,!f`: equality, inequality, existence and absence of labels. */
import { InputError } from '@tugboat/resource-model';

export type LabelRequirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'exists' | 'absent'; key: string };

const KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export function parseLabelSelector(text: string): LabelRequirement[] {
  const requirements: LabelRequirement[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const match = /^(!?)([^=!]+?)\s*(?:(==|=|!=)\s*(.*))?$/.exec(term);
    const key = match?.[2]?.trim() ?? '';
    const value = match?.[4]?.trim() ?? '';
    if (!match || !KEY.test(key) || (match[3] !== undefined && (match[1] === '!' || !VALUE.test(value)))) {
      throw new InputError(`labelSelector: cannot parse "${term}" (use a=b, a!=b, a or !a, separated by commas)`, {
        details: [{ path: 'labelSelector', rule: 'syntax' }],
      });
    }
    if (match[3] === undefined) requirements.push({ op: match[1] === '!' ? 'absent' : 'exists', key });
    else requirements.push({ op: match[3] === '!=' ? 'neq' : 'eq', key, value });
  }
  return requirements;
}
