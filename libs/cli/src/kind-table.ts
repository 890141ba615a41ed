import type { Resource } from '@tugboat/resource-model';
import { formatAge, formatTable, RESOURCE_COLUMNS, resourceRow, WIDE_COLUMNS, wideResourceRow } from './format-table.js';

/** The columns `tug get` prints for one kind, and how an object fills them. */
export interface KindTable {
  readonly headers: readonly string[];
  row(resource: Resource, now: number): string[];
  /** PHASE's column: `get -w` writes `Deleted` there once an object is gone. */
  readonly phaseColumn: number;
  /** AGE's column: it moves on by itself, so a change there alone is not worth a watched line. */
  readonly ageColumn: number;
}

export interface KindTableOptions {
  wide: boolean;
  /**
   * WorkloadInstance: the url of each one's Exposure, by `project/name` (`exposureUrls`), known
   * as soon as the Exposure is reconciled (`tug get exposures` says whether it is Ready). Given,
   * the table gains a last column URL, empty for an app not exposed.
   */
  urls?: ReadonlyMap<string, string>;
}

/**
 * Every kind prints NAME, PROJECT, PHASE, READY, GEN, AGE (`format-table.ts`), except where a
 * kind's point is elsewhere: an Exposure is its url and why it is not ready yet, and an app shows
 * the url of its Exposure beside it.
 */
export function kindTable(kind: string, options: KindTableOptions): KindTable {
  if (kind === 'Exposure') return exposureTable(options.wide);
  const generic = { headers: options.wide ? WIDE_COLUMNS : RESOURCE_COLUMNS, row: options.wide ? wideResourceRow : resourceRow, phaseColumn: 2, ageColumn: 5 };
  const urls = options.urls;
  if (kind !== 'WorkloadInstance' || urls === undefined) return generic;
  return {
    ...generic,
    headers: [...generic.headers, 'URL'],
    row: (resource, now) => [...generic.row(resource, now), urls.get(`${resource.metadata.project}/${resource.metadata.name}`) ?? ''],
  };
}

export function formatKindTable(table: KindTable, resources: readonly Resource[], now: number): string {
  return formatTable(table.headers, resources.map((resource) => table.row(resource, now)));
}

/** The url each Exposure reports (`status.outputs.url`), by `project/name`: an exposure has its app's project and name. */
export function exposureUrls(exposures: Iterable<Resource>): Map<string, string> {
  const urls = new Map<string, string>();
  for (const exposure of exposures) {
    const url = exposure.status?.outputs?.['url'];
    if (typeof url === 'string' && url !== '') urls.set(`${exposure.metadata.project}/${exposure.metadata.name}`, url);
  }
  return urls;
}

const EXPOSURE_COLUMNS = ['NAME', 'PROJECT', 'URL', 'PHASE', 'READY', 'REASON', 'AGE'] as const;
const EXPOSURE_WIDE_COLUMNS = [...EXPOSURE_COLUMNS, 'GEN', 'LOAD BALANCER', 'SUSPENDED', 'FINALIZERS'] as const;

/**
 * URL (`-` until the controller reports one), and the Ready condition's reason in the plain table:
 * an exposure waits on several things (components, gateway, certificate, DNS), and the reason says
 * which. Wide adds the load balancer the name points at.
 */
function exposureTable(wide: boolean): KindTable {
  return {
    headers: wide ? EXPOSURE_WIDE_COLUMNS : EXPOSURE_COLUMNS,
    phaseColumn: 3,
    ageColumn: 6,
    row(resource, now) {
      const [name, project, phase, ready, generation] = resourceRow(resource, now);
      const readyCondition = resource.status?.conditions?.find((condition) => condition.type === 'Ready');
      const outputs = resource.status?.outputs ?? {};
      const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : '-');
      const cells = [name!, project!, text(outputs['url']), phase!, ready!, readyCondition?.reason || '-', formatAge(now - Date.parse(resource.metadata.createdAt))];
      if (!wide) return cells;
      const finalizers = resource.metadata.finalizers;
      return [...cells, generation!, text(outputs['loadBalancer']), resource.metadata.suspended ? 'yes' : 'no', finalizers.length > 0 ? finalizers.join(',') : '-'];
    },
  };
}
