import { UsageError } from './usage-error.js';

/**
 * `KIND/NAME` as one argument (`tug describe application/shop`), as kubectl takes it, or KIND and
 * NAME as two. Both forms at once is a usage error.
 */
export function kindSlashName(kind: string, name: string | undefined): { kind: string; name: string | undefined } {
  const slash = kind.indexOf('/');
  if (slash < 0) return { kind, name };
  if (name !== undefined) throw new UsageError(`give KIND/NAME or KIND NAME, not both ("${kind}" and "${name}")`);
  const [left, right] = [kind.slice(0, slash), kind.slice(slash + 1)];
  if (left === '' || right === '' || right.includes('/')) throw new UsageError(`"${kind}" is not KIND/NAME`);
  return { kind: left, name: right };
}
