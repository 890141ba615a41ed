import type { KindDefinition } from '@tugboat/resource-model';
import { UsageError } from './usage-error.js';

/**
 * Finds a kind by its name, plural, singular or a short name, case-insensitively; a short name
 * with an `s` (`apps`, `clusters`) is taken as its plural when no kind has that name.
 */
export function findKind(kinds: readonly KindDefinition[], name: string): KindDefinition | undefined {
  const wanted = name.toLowerCase();
  return (
    kinds.find(
      (kind) =>
        kind.kind.toLowerCase() === wanted ||
        kind.plural.toLowerCase() === wanted ||
        kind.singular.toLowerCase() === wanted ||
        kind.shortNames.some((short) => short.toLowerCase() === wanted),
    ) ?? kinds.find((kind) => kind.shortNames.some((short) => `${short.toLowerCase()}s` === wanted))
  );
}

/** As `findKind`, but an unknown name is a usage error that lists the kinds the API knows. */
export function resolveKind(kinds: readonly KindDefinition[], name: string): KindDefinition {
  const found = findKind(kinds, name);
  if (found !== undefined) return found;
  throw new UsageError(`unknown kind "${name}"; the API knows: ${describeKinds(kinds)}`, [{ path: 'kind', rule: 'known-kind' }]);
}

export function describeKinds(kinds: readonly KindDefinition[]): string {
  if (kinds.length === 0) return '(no kinds)';
  return [...kinds]
    .sort((a, b) => a.kind.localeCompare(b.kind))
    .map((kind) => `${kind.kind} (${[kind.plural, ...kind.shortNames].join(', ')})`)
    .join(', ');
}
