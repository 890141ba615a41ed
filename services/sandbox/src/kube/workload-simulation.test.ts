import pino from 'pino';
import { createSandboxCounters } from '../counters.js';
import { createSimClock } from '../sim-clock.js';
import { createKubeCluster } from './kube-cluster.js';
import { eventually } from './kube-test-server.js';
import { BUILT_IN_RESOURCES, type ResourceType } from './resource-table.js';
import { EVENT_TTL_MS } from './simulation-runtime.js';
import { createWorkloadSimulation, templateHash } from './workload-simulation.js';

const type = (kind: string) => BUILT_IN_RESOURCES.find((candidate) => candidate.kind === kind) as ResourceType;

function setup() {
  // An hour of sandbox time passes in 36 ms.
  const clock = createSimClock({ scale: 100_000 });
  const counters = createSandboxCounters();
  const cluster = createKubeCluster({ name: 'sim', token: 't', counters, logger: pino({ level: 'silent' }), now: clock.now });
  const simulation = createWorkloadSimulation({ cluster, clock, logger: pino({ level: 'silent' }) });
  cluster.create(type('Namespace'), undefined, { metadata: { name: 'default' } }, { manager: 'test' });
  for (const name of ['cordoned', 'open']) {
    cluster.create(type('Node'), undefined, { metadata: { name }, spec: name === 'cordoned' ? { unschedulable: true } : {} }, { manager: 'test' });
  }
  const deploy = (name: string) =>
    cluster.create(
      type('Deployment'),
      'default',
      { metadata: { name }, spec: { replicas: 3, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } },
      { manager: 'test' },
    );
  return { cluster, simulation, deploy, counters, clock };
}

describe('workload simulation', () => {
  it('schedules pods only on nodes that are not cordoned', async () => {
    const { cluster, simulation, deploy } = setup();
    try {
      deploy('web');
      const pods = await eventually(() => {
        const list = cluster.list(type('Pod'), 'default');
        return list.length === 3 && list.every((pod) => (pod.status as { phase?: string } | undefined)?.phase === 'Running') ? list : undefined;
      }, 5000, 'three running pods');
      expect(pods.map((pod) => (pod.spec as { nodeName?: string }).nodeName)).toEqual(['open', 'open', 'open']);
    } finally {
      simulation.stop();
      cluster.close();
    }
  });

  it('schedules waiting pods when a node arrives, and moves pods off a node that goes', async () => {
    const { cluster, simulation, deploy } = setup();
    try {
      cluster.delete(type('Node'), undefined, 'open');
      deploy('web');
      await eventually(() => {
        const pods = cluster.scan(type('Pod'), 'default');
        return pods.length === 3 && pods.every((pod) => JSON.stringify(pod.status ?? {}).includes('Unschedulable')) ? true : undefined;
      }, 5000, 'unschedulable pods');
      cluster.create(type('Node'), undefined, { metadata: { name: 'first' } }, { manager: 'test' });
      await eventually(() => {
        const pods = cluster.scan(type('Pod'), 'default');
        return pods.length === 3 && pods.every((pod) => (pod.spec as { nodeName?: string }).nodeName === 'first' && (pod.status as { phase?: string }).phase === 'Running') ? true : undefined;
      }, 5000, 'pods running on the new node');
      cluster.create(type('Node'), undefined, { metadata: { name: 'second' } }, { manager: 'test' });
      cluster.delete(type('Node'), undefined, 'first');
      await eventually(() => {
        const pods = cluster.scan(type('Pod'), 'default');
        return pods.length === 3 && pods.every((pod) => (pod.spec as { nodeName?: string }).nodeName === 'second' && (pod.status as { phase?: string }).phase === 'Running') ? true : undefined;
      }, 5000, 'pods moved to the remaining node');
    } finally {
      simulation.stop();
      cluster.close();
    }
  });

  it('expires events after an hour of sandbox time', async () => {
    const { cluster, simulation, deploy, clock } = setup();
    try {
      deploy('first');
      const early = await eventually(() => {
        // Of the Deployment, its ReplicaSet or its pods: the newest of them is only swept by a later event.
        const events = cluster.list(type('Event'), 'default').filter((event) => (event.involvedObject as { name: string }).name.startsWith('first'));
        return events.length > 0 ? events : undefined;
      }, 5000, 'events of the first deployment');
      // Every event in `early` was recorded by now: wait until they are an hour of sandbox time old.
      const seen = clock.now();
      await eventually(() => (clock.elapsed(seen, EVENT_TTL_MS) ? true : undefined), 5000, 'an hour of sandbox time');
      deploy('second');
      await eventually(() => {
        const names = new Set(cluster.list(type('Event'), 'default').map((event) => event.metadata.name));
        return early.every((event) => !names.has(event.metadata.name)) && names.size > 0 ? true : undefined;
      }, 5000, 'old events gone, new ones kept');
    } finally {
      simulation.stop();
      cluster.close();
    }
  });

  it('runs CronJobs on their schedule in sandbox time and keeps their history short', async () => {
    const { cluster, simulation, counters } = setup();
    try {
      cluster.create(
        type('CronJob'),
        'default',
        { metadata: { name: 'tick' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } } } } },
        { manager: 'test' },
      );
      const completeJobs = () => cluster.list(type('Job'), 'default').filter((job) => JSON.stringify(job.status ?? {}).includes('"type":"Complete"'));
      // The history is trimmed by the CronJob's own reconcile, just after a job completes: the
      // condition waits for that (five runs with at most three kept), it does not race it.
      const status = await eventually(() => {
        const created = counters.snapshot().created['kube:sim:batch/v1/Job'] ?? 0;
        const current = cluster.get(type('CronJob'), 'default', 'tick')?.status as { lastScheduleTime?: string; lastSuccessfulTime?: string } | undefined;
        // Fewer jobs listed than were made: old ones were removed, and no more than three complete ones are left.
        const listed = cluster.list(type('Job'), 'default').length;
        return created >= 5 && listed < created && current?.lastSuccessfulTime && completeJobs().length <= 3 ? current : undefined;
      }, 10_000, 'five scheduled jobs, the oldest removed, at most three complete ones kept');
      expect(status.lastScheduleTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$/);
      const jobs = cluster.list(type('Job'), 'default');
      expect(jobs.every((job) => /^tick-\d+$/.test(job.metadata.name) && job.metadata.ownerReferences?.[0]?.kind === 'CronJob')).toBe(true);
      expect(() => cluster.create(type('CronJob'), 'default', { metadata: { name: 'bad' }, spec: { schedule: '* * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } } } } }, { manager: 'test' })).toThrow(
        'spec.schedule: Invalid value: "* * *": expected 5 fields, found 3',
      );
    } finally {
      simulation.stop();
      cluster.close();
    }
  });

  it('crash-loops a container that exits, and fails a Job past its backoff limit', async () => {
    const { cluster, simulation } = setup();
    try {
      cluster.create(
        type('Deployment'),
        'default',
        { metadata: { name: 'crashy' }, spec: { replicas: 1, selector: { matchLabels: { app: 'crashy' } }, template: { metadata: { labels: { app: 'crashy' } }, spec: { containers: [{ name: 'app', image: 'example/crashloop:1' }] } } } },
        { manager: 'test' },
      );
      cluster.create(
        type('Job'),
        'default',
        { metadata: { name: 'doomed' }, spec: { backoffLimit: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'example/crashloop:1' }] } } } },
        { manager: 'test' },
      );
      const waiting = await eventually(() => {
        const pod = cluster.list(type('Pod'), 'default').find((candidate) => candidate.metadata.labels?.app === 'crashy');
        const container = (pod?.status as { containerStatuses?: Array<{ restartCount: number; state: { waiting?: { reason: string } }; lastState?: unknown }> } | undefined)?.containerStatuses?.[0];
        return container && container.restartCount >= 2 ? container : undefined;
      }, 5000, 'a crash-looping container');
      expect(waiting.state.waiting?.reason).toBe('CrashLoopBackOff');
      expect(waiting.lastState).toMatchObject({ terminated: { exitCode: 1, reason: 'Error' } });

      const job = await eventually(() => {
        const current = cluster.get(type('Job'), 'default', 'doomed')?.status as { failed?: number; conditions?: Array<{ type: string; reason: string }> } | undefined;
        return current?.conditions?.some((condition) => condition.type === 'Failed') ? current : undefined;
      }, 5000, 'the job to fail');
      expect(job.failed).toBe(3);
      expect(job.conditions?.find((condition) => condition.type === 'Failed')?.reason).toBe('BackoffLimitExceeded');
      const deployment = cluster.get(type('Deployment'), 'default', 'crashy')?.status as { conditions?: Array<{ type: string; status: string }> } | undefined;
      expect(deployment?.conditions?.find((condition) => condition.type === 'Available')?.status).toBe('False');
    } finally {
      simulation.stop();
      cluster.close();
    }
  });

  it('rolls out a few hundred Deployments without slowing down quadratically', async () => {
    const { cluster, simulation, deploy } = setup();
    try {
      for (let index = 0; index < 200; index += 1) deploy(`app-${index}`);
      // Measured at about 2 s on this machine; fifteen times that is the bar for "not quadratic".
      await eventually(() => {
        const available = cluster.scan(type('Deployment'), 'default').filter((deployment) => (deployment.status as { availableReplicas?: number } | undefined)?.availableReplicas === 3);
        return available.length === 200 ? true : undefined;
      }, 30_000, '200 available deployments');
      expect(cluster.scan(type('Pod'), 'default')).toHaveLength(600);
    } finally {
      simulation.stop();
      cluster.close();
    }
  });

  it('hashes templates regardless of key order, nulls and empty objects', () => {
    expect(templateHash({ spec: { containers: [{ name: 'a', image: 'b', resources: {} }] }, metadata: { creationTimestamp: null } })).toBe(
      templateHash({ metadata: {}, spec: { containers: [{ image: 'b', name: 'a' }] } }),
    );
    expect(templateHash({ spec: { containers: [{ name: 'a', image: 'b' }] } })).not.toBe(templateHash({ spec: { containers: [{ name: 'a', image: 'c' }] } }));
    expect(templateHash({})).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  });
});
