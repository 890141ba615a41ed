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
 * controller reports one, with `,Suspended` while reconciles are suspended; READY is the status of the `Ready` condition; GEN the spec generation,
 * with the one the controller has observed when it lags (`2/3`).
 */
export function resourceRow(resource: Resource, now: number): string[] {
  const { metadata, status } = resource;
  const reported = metadata.deletionRequestedAt ? 'Deleting' : (status?.phase ?? 'Pending');
  // Like kubectl's `Ready,SchedulingDisabled`: a suspended object's last phase is not being kept.
  const phase = metadata.suspended ? `${reported},Suspended` : reported;
  const ready = status?.conditions?.find((condition) => condition.type === 'Ready')?.status ?? '-';
  const observed = status?.observedGeneration;
  const generation = observed !== undefined && observed !== metadata.generation ? `${observed}/${metadata.generation}` : String(metadata.generation);
  return [metadata.name, metadata.project || '-', phase, ready, generation, formatAge(now - Date.parse(metadata.createdAt))];
}

export const WIDE_COLUMNS = [...RESOURCE_COLUMNS, 'DEF GEN', 'REASON', 'SUSPENDED', 'FINALIZERS', 'LABELS'] as const;

/**
 * `-o wide`: also the generation of its definition an instance has applied (how a definition's
 * rollout is followed instance by instance), the Ready condition's reason (or message), whether
 * reconciles are suspended, the finalizers still held, and the labels.
 */
export function wideResourceRow(resource: Resource, now: number): string[] {
  const ready = resource.status?.conditions?.find((condition) => condition.type === 'Ready');
  const labels = Object.entries(resource.metadata.labels ?? {}).map(([key, value]) => `${key}=${value}`);
  return [
    ...resourceRow(resource, now),
    resource.status?.definitionGeneration === undefined ? '-' : String(resource.status.definitionGeneration),
    ready?.reason || ready?.message || '-',
    resource.metadata.suspended ? 'yes' : 'no',
    resource.metadata.finalizers.length > 0 ? resource.metadata.finalizers.join(',') : '-',
    labels.length > 0 ? labels.join(',') : '-',
  ];
}

export function formatResourceTable(resources: readonly Resource[], now: number, wide = false): string {
  return formatTable(wide ? WIDE_COLUMNS : RESOURCE_COLUMNS, resources.map((resource) => (wide ? wideResourceRow : resourceRow)(resource, now)));
}

/**
 * Rows printed one at a time (`get -w`): the widths are those of the first rows printed, grown when
 * a later cell is longer, so a watched table stays readable without knowing every row in advance.
 */
export function createRowPrinter(headers: readonly string[]): { header(): string; row(cells: readonly string[]): string; fit(rows: ReadonlyArray<readonly string[]>): void } {
  const widths = headers.map((header) => header.length);
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => {
        widths[column] = Math.max(widths[column] ?? 0, cell.length);
        return column === cells.length - 1 ? cell : cell.padEnd(widths[column]!);
      })
      .join('   ')
      .trimEnd() + '\n';
  return {
    fit(rows) {
      for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
    },
    header: () => line(headers),
    row: line,
  };
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
