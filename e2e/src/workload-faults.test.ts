/**
 * The workload-controller under SIGKILL (issue 9's proof under faults), against the real API,
 * Postgres, NATS and the sandbox's cluster, read back with kubectl:
 *
 * - killed at named points — after applying, before the status write; in the middle of a prune;
 *   in the middle of a delete — then restarted;
 * - killed at random moments (seeded, bounded) while 100 instances roll out a definition change.
 *
 * Every time: each instance ends Ready at its generation and at its definition's generation, no
 * Kubernetes object was deleted and made again (its uid is the one first seen), and nothing of
 * Tugboat's exists in the cluster outside the desired set.
 */
import { createHash } from 'node:crypto';
import type { Resource } from '@tugboat/resource-model';
import { waitUntil, type Child } from './harness/cli-processes.js';
import { startWorkloadStack, type ClusterObject, type WorkloadStack } from './harness/workload-stack.js';

const PROJECT = 'faults';
const KILL = (point: string, after = 0) => ({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: point, TUGBOAT_KILL_POINT_AFTER: String(after) });

interface WorkloadStatusView {
  phase?: string;
  observedGeneration?: number;
  definitionGeneration?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

let stack: WorkloadStack;
let controller: Child | undefined;
/** Every managed object's uid when first seen, by kind/namespace/name: a later different uid means delete + re-create. */
const firstSeen = new Map<string, string>();

const identity = (object: Pick<ClusterObject, 'kind' | 'namespace' | 'name'>) => `${object.kind}/${object.namespace}/${object.name}`;

async function recordUids(): Promise<ClusterObject[]> {
  const objects = await stack.managedObjects();
  for (const object of objects) {
    const known = firstSeen.get(identity(object));
    if (known === undefined) firstSeen.set(identity(object), object.uid);
    else expect(`${identity(object)} uid ${object.uid}`).toBe(`${identity(object)} uid ${known}`);
  }
  return objects;
}

/** What must be on the cluster for these instances of a container definition (with or without ports). */
function desired(names: readonly string[], withService: boolean): string[] {
  return names
    .flatMap((name) => {
      const namespace = `${PROJECT}-${name}`;
      return [
        `ConfigMap/${namespace}/tugboat-inventory.${name}`,
        `Deployment/${namespace}/${name}`,
        `ServiceAccount/${namespace}/${name}`,
        ...(withService ? [`Service/${namespace}/${name}`] : []),
      ];
    })
    .sort();
}

async function stopController(): Promise<void> {
  if (controller && controller.process.exitCode === null && controller.process.signalCode === null) {
    controller.process.kill('SIGTERM');
    await controller.exited;
  }
  controller = undefined;
}

/** Starts a controller armed to die at `point`, waits for it to die there. */
async function dieAt(point: string, after = 0, timeoutMs = 60_000): Promise<void> {
  await stopController();
  const dying = await stack.spawnWorkloadController(KILL(point, after));
  const exit = await Promise.race([dying.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref())]);
  if (exit === undefined) {
    dying.process.kill('SIGKILL');
    throw new Error(`the controller never reached kill point ${point}:\n${dying.output().slice(-3000)}`);
  }
  expect(exit.signal).toBe('SIGKILL');
}

async function settled(names: readonly string[], definitionName: string): Promise<void> {
  const definition = await stack.admin.getOrThrow({ kind: 'WorkloadDefinition', name: definitionName });
  let last = '';
  await waitUntil(
    async () => {
      const items: Resource[] = [];
      for await (const item of stack.admin.listAll('WorkloadInstance', { project: PROJECT })) items.push(item);
      const wanted = items.filter((item) => names.includes(item.metadata.name));
      const behind = wanted.filter((item) => {
        const status = item.status as WorkloadStatusView;
        return !(status.phase === 'Ready' && status.observedGeneration === item.metadata.generation && status.definitionGeneration === definition.metadata.generation);
      });
      last = behind
        .slice(0, 3)
        .map((item) => `${item.metadata.name}: ${JSON.stringify(item.status)}`)
        .join('\n');
      return wanted.length === names.length && behind.length === 0;
    },
    `${names.length} instances Ready at their generation and definition generation ${definition.metadata.generation}; not yet:\n${last}\ncontroller:\n${controller?.output().slice(-2000)}`,
    90_000,
  );
}

const instance = (name: string, definition: string) => ({ kind: 'WorkloadInstance', metadata: { name, project: PROJECT }, spec: { definitionRef: { name: definition } } });
const containerDefinition = (name: string, image: string, withPorts: boolean) => ({
  kind: 'WorkloadDefinition',
  metadata: { name },
  spec: { container: { image, replicas: 1, ...(withPorts ? { ports: [{ port: 80 }] } : {}) }, overridable: ['replicas'] },
});

beforeAll(async () => {
  stack = await startWorkloadStack({ name: 'wlfaults', projects: [PROJECT], workloadEnv: { WORKLOAD_PROGRESS_REQUEUE_MS: '200' } });
}, 120_000);

afterAll(async () => {
  await stopController();
  await stack?.close();
}, 60_000);

describe('workload-controller killed at named points', () => {
  const names = ['k-1', 'k-2', 'k-3'];
  const mine = (objects: ClusterObject[]) => objects.filter((object) => names.includes(object.instance)).map(identity).sort();

  it('after applying, before the status write: the restart adopts what was applied', async () => {
    await stack.admin.apply([containerDefinition('named', 'nginx:1.27', true), ...names.map((name) => instance(name, 'named'))]);
    await dieAt('workload-after-apply');
    const applied = await recordUids();
    expect(mine(applied).length).toBeGreaterThan(0);
    controller = await stack.startWorkloadController();
    await settled(names, 'named');
    expect(mine(await recordUids())).toEqual(desired(names, true));
  }, 150_000);

  it('in the middle of a prune: the restart finishes it', async () => {
    // The definition loses its ports: every instance's Service leaves the desired set. The running
    // controller stops first, or it prunes them (a definition change wakes its instances) before the armed one starts.
    await stopController();
    await stack.admin.apply([containerDefinition('named', 'nginx:1.27', false)]);
    await dieAt('workload-mid-prune');
    await recordUids();
    controller = await stack.startWorkloadController();
    await settled(names, 'named');
    expect(mine(await recordUids())).toEqual(desired(names, false));
  }, 150_000);

  it('in the middle of a delete: the restart finishes it, and the namespaces go', async () => {
    // Armed before the deletes, so it dies in the first finalize.
    await stopController();
    const dying = await stack.spawnWorkloadController(KILL('workload-mid-delete'));
    for (const name of names) await stack.admin.delete({ kind: 'WorkloadInstance', project: PROJECT, name });
    const exit = await dying.exited;
    expect(exit.signal).toBe('SIGKILL');
    controller = await stack.startWorkloadController();
    await waitUntil(
      async () => {
        for (const name of names) if ((await stack.admin.get({ kind: 'WorkloadInstance', project: PROJECT, name })) !== undefined) return false;
        return true;
      },
      'the deleted instances gone',
      60_000,
    );
    expect(mine(await stack.managedObjects())).toEqual([]);
    await waitUntil(async () => (await stack.ownedNamespaces()).every((ns) => !names.some((name) => ns === `${PROJECT}-${name}`)), 'their namespaces gone', 30_000);
  }, 150_000);
});

describe('workload-controller killed at random moments while 100 instances roll out', () => {
  it('ends with every instance Ready at its generation, nothing re-created, nothing extra', async () => {
    const names = Array.from({ length: 100 }, (_, index) => `r-${index}`);
    // A seeded generator: the same kill times on every run, so a failure can be replayed.
    let seed = createHash('sha256').update('workload-faults').digest().readUInt32BE(0);
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

    await stopController();
    await stack.admin.apply([containerDefinition('rollout', 'nginx:1.27', true)]);
    for (let from = 0; from < names.length; from += 50) await stack.admin.apply(names.slice(from, from + 50).map((name) => instance(name, 'rollout')));
    const kills = 5;
    for (let kill = 0; kill < kills; kill++) {
      controller = await stack.startWorkloadController();
      if (kill === 2) await stack.admin.apply([containerDefinition('rollout', 'nginx:1.28', true)]);
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 1200)));
      controller.process.kill('SIGKILL');
      await controller.exited;
      controller = undefined;
      await recordUids();
    }
    controller = await stack.startWorkloadController();
    await settled(names, 'rollout');
    const objects = (await recordUids()).filter((object) => names.includes(object.instance));
    expect(objects.map(identity).sort()).toEqual(desired(names, true));
    const deployment = JSON.parse(await stack.kubectl('get', 'deployment', 'r-7', '-n', `${PROJECT}-r-7`, '-o', 'json')) as {
      spec: { template: { spec: { containers: Array<{ image: string }> } } };
    };
    expect(deployment.spec.template.spec.containers[0]!.image).toBe('nginx:1.28');
  }, 240_000);
});
