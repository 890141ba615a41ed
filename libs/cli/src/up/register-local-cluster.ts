import { readFile } from 'node:fs/promises';
import type { ApiClient } from '@tugboat/api-client';
import { isErrorCode, type ApplyItemResult } from '@tugboat/resource-model';

export const LOCAL_CLUSTER = 'local';

export interface RegisterLocalClusterOptions {
  admin: ApiClient;
  /** The kubeconfig the sandbox writes into its state directory. */
  kubeconfigFile: string;
  signal?: AbortSignal;
}

export interface LocalClusterRegistration {
  /** What the API did with the definition and the instance (`created`, `updated`, `unchanged`). */
  results: ApplyItemResult[];
  /** False when another cluster is already the default for every project: `local` is then not. */
  isDefault: boolean;
  /** Why `local` is not the default, when it is not. */
  notDefaultBecause?: string;
}

/**
 * Registers the sandbox's `local` cluster: a ClusterDefinition `local` (provider kubeconfig) and a
 * ClusterInstance `local` with the sandbox's kubeconfig, the default for every project. Applied,
 * so a second `tug up` changes nothing (or only a kubeconfig the sandbox rewrote). When the
 * platform already has another default for every project, `local` is registered without being one.
 */
export async function registerLocalCluster(options: RegisterLocalClusterOptions): Promise<LocalClusterRegistration | undefined> {
  let kubeconfig: string;
  try {
    kubeconfig = await readFile(options.kubeconfigFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const definition = {
    kind: 'ClusterDefinition',
    metadata: { name: LOCAL_CLUSTER },
    spec: { provider: 'kubeconfig', description: 'The local sandbox cluster that `tug up` starts' },
  };
  const instance = (isDefault: boolean) => ({
    kind: 'ClusterInstance',
    metadata: { name: LOCAL_CLUSTER },
    spec: { definitionRef: { name: LOCAL_CLUSTER }, kubeconfig, ...(isDefault ? { defaultFor: ['*'] } : {}) },
  });
  const request = options.signal ? { signal: options.signal } : {};
  try {
    const applied = await options.admin.apply([definition, instance(true)], request);
    return { results: applied.results, isDefault: true };
  } catch (error) {
    // At most one cluster is the default for a project: keep the platform's own choice.
    if (!isErrorCode(error, 'Conflict')) throw error;
    const applied = await options.admin.apply([definition, instance(false)], request);
    return { results: applied.results, isDefault: false, notDefaultBecause: (error as Error).message };
  }
}
