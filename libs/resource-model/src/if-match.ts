import { InputError } from './errors.js';

/**
 * The resourceVersion an `If-Match` header asks for: `"123"`, `W/"123"` or `123`; `*` or no
 * header means no precondition. The API and the testing fake read it the same way.
 */
export function parseIfMatch(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined || header.trim() === '*') return undefined;
  const value = header.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (!/^\d{1,19}$/.test(value)) {
    throw new InputError('If-Match: must be a quoted resourceVersion', { status: 400, details: [{ path: 'If-Match', rule: 'pattern' }] });
  }
  return value;
}
