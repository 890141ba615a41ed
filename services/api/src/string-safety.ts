/**
 * Postgres refuses two things a JavaScript string can hold: a NUL character (text and jsonb cannot
 * store U+0000) and a lone UTF-16 surrogate (not valid Unicode, so not valid UTF-8 either). Either
 * one reaching a query used to fail inside the database as a 500. `assertSafeStrings` refuses them
 * at the edge, for every string a request carries (object keys included), naming the field. A
 * number too large for a double (`1e400`) is refused the same way: it would be stored as null.
 */
import { InputError } from '@tugboat/resource-model';

// Without the `u` flag a regular expression sees UTF-16 code units, so this finds a high surrogate
// not followed by a low one, or a low one not preceded by a high one (String#isWellFormed is ES2024).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface UnsafeString {
  /** `spec.env[2].name`, `metadata.labels` (a key), `name` (a path segment) … */
  path: string;
  rule: 'nul-character' | 'lone-surrogate' | 'finite-number';
}

/** Why a string cannot be stored, or `undefined` when it can. */
export function unsafeStringRule(text: string): UnsafeString['rule'] | undefined {
  if (text.includes('\u0000')) return 'nul-character';
  if (LONE_SURROGATE.test(text)) return 'lone-surrogate';
  return undefined;
}

/**
 * Whether `value` holds anything `findUnsafeString` would name. Nothing is allocated beyond the
 * work list: every request's body, query and path pass through here, and almost all are clean, so
 * the paths are only built (by `findUnsafeString`) for a value that has a problem.
 */
function holdsUnsafe(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node === 'string') {
      if (unsafeStringRule(node)) return true;
    } else if (typeof node === 'number') {
      if (!Number.isFinite(node)) return true;
    } else if (Array.isArray(node)) {
      for (const item of node) pending.push(item);
    } else if (typeof node === 'object' && node !== null) {
      for (const key in node) {
        if (!Object.hasOwn(node, key)) continue;
        if (unsafeStringRule(key)) return true;
        pending.push((node as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/**
 * The first string in `value` (strings, object keys, array items, at any depth) that Postgres would
 * refuse. Iterative, so a deep value cannot overflow the stack.
 */
export function findUnsafeString(value: unknown, rootPath: string, rootName = 'body'): UnsafeString | undefined {
  if (!holdsUnsafe(value)) return undefined;
  const pending: Array<[unknown, string]> = [[value, rootPath]];
  while (pending.length > 0) {
    const [node, path] = pending.pop()!;
    if (typeof node === 'string') {
      const rule = unsafeStringRule(node);
      if (rule) return { path, rule };
    } else if (typeof node === 'number') {
      // `1e400` in JSON (or `.inf` in YAML) parses to Infinity, which JSON can only store as null.
      if (!Number.isFinite(node)) return { path, rule: 'finite-number' };
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => pending.push([item, `${path}[${i}]`]));
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, item] of Object.entries(node)) {
        const keyRule = unsafeStringRule(key);
        // The key itself cannot be shown safely in a path: name its parent.
        if (keyRule) return { path: path || rootName, rule: keyRule };
        pending.push([item, path ? `${path}.${key}` : key]);
      }
    }
  }
  return undefined;
}

const MESSAGES: Record<UnsafeString['rule'], string> = {
  'nul-character': 'must not contain a NUL character (U+0000)',
  'lone-surrogate': 'must be valid Unicode (it holds a lone UTF-16 surrogate)',
  'finite-number': 'must be a finite number (it is too large for a double and would be stored as null)',
};

/**
 * Throws a 422 naming the field when `value` holds a string the database cannot store; `rootName`
 * names a bad key at the top (`body`, `query`).
 */
export function assertSafeStrings(value: unknown, rootPath = '', rootName = 'body'): void {
  const unsafe = findUnsafeString(value, rootPath, rootName);
  if (unsafe) throw new InputError(`${unsafe.path}: ${MESSAGES[unsafe.rule]}`, { status: 422, details: [{ path: unsafe.path, rule: unsafe.rule }] });
}
