import type { Resource } from '@tugboat/resource-model';

/** Left-aligned columns separated by three spaces, as `kubectl get` prints them. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export const RESOURCE_COLUMNS = ['NAME', 'PROJECT', 'PHASE', 'READY', 'GEN', 'AGE'] as const;

/**
 * One row per object. PHASE is `Deleting` once deletion was requested, `Pending` until a
 * controller reports one; READY is the status of the `Ready` condition; GEN the spec generation,
 * with the one the controller has observed when it lags (`2/3`).
 */
export function resourceRow(resource: Resource, now: number): string[] {
  const { metadata, status } = resource;
  const phase = metadata.deletionRequestedAt ? 'Deleting' : (status?.phase ?? 'Pending');
  const ready = status?.conditions?.find((condition) => condition.type === 'Ready')?.status ?? '-';
  const observed = status?.observedGeneration;
  const generation = observed !== undefined && observed !== metadata.generation ? `${observed}/${metadata.generation}` : String(metadata.generation);
  return [metadata.name, metadata.project || '-', phase, ready, generation, formatAge(now - Date.parse(metadata.createdAt))];
}

export function formatResourceTable(resources: readonly Resource[], now: number): string {
  return formatTable(RESOURCE_COLUMNS, resources.map((resource) => resourceRow(resource, now)));
}

/** `42s`, `5m`, `3h`, `12d` (whole units, rounded down), as kubectl shows ages. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}
