/**
 * The simulated workload controllers: ReplicaSet, Deployment (rollouts, revisions, progress
 * deadline), StatefulSet (ordered pods, revisions, claim templates), DaemonSet, Job and CronJob,
 * each setting status as its real controller does.
 */
import { clone, isPlainObject, type JsonObject } from './json-values.js';
import { parseCronSchedule } from './cron-schedule.js';
import { randomSuffix } from './kube-cluster.js';
import type { KubeObject } from './object-rules.js';
import {
  CLAIM,
  CONTROLLER_MANAGER,
  CRON_JOB,
  DAEMON_SET,
  DEPLOYMENT,
  JOB,
  POD,
  REPLICA_SET,
  STATEFUL_SET,
  at,
  mergeConditions,
  ownerReference,
  podPhase,
  podReady,
  templateHash,
  type Condition,
  type SimulationRuntime,
} from './simulation-runtime.js';

export function createWorkloadControllers(runtime: SimulationRuntime) {
  const { cluster, clock, now, later, writeStatus, recordEvent, controlled, nodes, createPod } = runtime;
  /** When each Deployment's current rollout started (real ms), for its progress deadline. */
  const rollouts = new Map<string, { hash: string; since: number }>();
  const forgetDeployment = (uid: string) => rollouts.delete(uid);

  // ---- ReplicaSet, Deployment ------------------------------------------------------------

  function reconcileReplicaSet(namespace: string | undefined, name: string): void {
    const replicaSet = cluster.get(REPLICA_SET, namespace, name);
    if (!replicaSet || replicaSet.metadata.deletionTimestamp) return;
    const desired = Number(at(replicaSet, 'spec.replicas') ?? 1);
    let pods = controlled(replicaSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    const hash = replicaSet.metadata.labels?.['pod-template-hash'];
    for (let count = pods.length; count < desired; count += 1) {
      createPod(replicaSet, `${name}-${randomSuffix(5)}`, at(replicaSet, 'spec.template'), hash ? { 'pod-template-hash': hash } : {});
    }
    if (pods.length > desired) {
      const surplus = [...pods].sort((a, b) => Number(podReady(a)) - Number(podReady(b))).slice(0, pods.length - desired);
      for (const pod of surplus) cluster.delete(POD, namespace, pod.metadata.name);
    }
    pods = controlled(replicaSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    const ready = pods.filter(podReady).length;
    writeStatus(REPLICA_SET, replicaSet, {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: replicaSet.metadata.generation,
    });
  }

  function reconcileDeployment(namespace: string | undefined, name: string): void {
    let deployment = cluster.get(DEPLOYMENT, namespace, name);
    if (!deployment || deployment.metadata.deletionTimestamp) return;
    const desired = Number(at(deployment, 'spec.replicas') ?? 1);
    const template = at(deployment, 'spec.template');
    const hash = templateHash(template);
    const owned = controlled(deployment, REPLICA_SET);
    let current = owned.find((replicaSet) => replicaSet.metadata.labels?.['pod-template-hash'] === hash);
    const revisions = owned.map((replicaSet) => Number(replicaSet.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0));
    const stamp = now();

    if (!current) {
      const templateLabels = (at(template, 'metadata.labels') as Record<string, string> | undefined) ?? {};
      const selector = clone(isPlainObject(at(deployment, 'spec.selector')) ? (at(deployment, 'spec.selector') as JsonObject) : {});
      selector.matchLabels = { ...(selector.matchLabels as Record<string, string> | undefined), 'pod-template-hash': hash };
      const rsTemplate = clone(template) as JsonObject;
      rsTemplate.metadata = { ...(isPlainObject(rsTemplate.metadata) ? rsTemplate.metadata : {}), labels: { ...templateLabels, 'pod-template-hash': hash } };
      current = cluster.create(
        REPLICA_SET,
        namespace,
        {
          metadata: {
            name: `${name}-${hash}`,
            labels: { ...templateLabels, 'pod-template-hash': hash },
            annotations: { 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/max-replicas': String(desired + 1), 'deployment.kubernetes.io/revision': String(Math.max(0, ...revisions) + 1) },
            ownerReferences: [ownerReference(deployment)],
          },
          spec: { replicas: desired, selector, template: rsTemplate },
        },
        { manager: CONTROLLER_MANAGER },
      );
      recordEvent(deployment, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${current.metadata.name} from 0 to ${desired}`, 'deployment-controller');
    } else if (Number(at(current, 'spec.replicas')) !== desired) {
      const previous = Number(at(current, 'spec.replicas'));
      current = cluster.patch(REPLICA_SET, namespace, current.metadata.name, 'merge', { spec: { replicas: desired } }, { manager: CONTROLLER_MANAGER }).object;
      recordEvent(deployment, 'Normal', 'ScalingReplicaSet', `Scaled ${desired > previous ? 'up' : 'down'} replica set ${current.metadata.name} from ${previous} to ${desired}`, 'deployment-controller');
    }

    // Revisions as the deployment controller keeps them: the live ReplicaSet has the highest one
    // (rolling back to an old template re-numbers its ReplicaSet), mirrored on the Deployment.
    const REVISION = 'deployment.kubernetes.io/revision';
    const highest = Math.max(0, ...revisions);
    if (owned.some((replicaSet) => replicaSet.metadata.uid === current?.metadata.uid) && Number(current.metadata.annotations?.[REVISION] ?? 0) < highest) {
      current = cluster.patch(REPLICA_SET, namespace, current.metadata.name, 'merge', { metadata: { annotations: { [REVISION]: String(highest + 1) } } }, { manager: CONTROLLER_MANAGER }).object;
    }
    const revision = current.metadata.annotations?.[REVISION];
    if (revision !== undefined && deployment.metadata.annotations?.[REVISION] !== revision) {
      deployment = cluster.patch(DEPLOYMENT, namespace, name, 'merge', { metadata: { annotations: { [REVISION]: revision } } }, { manager: CONTROLLER_MANAGER }).object;
    }

    const rollout = rollouts.get(deployment.metadata.uid);
    if (!rollout || rollout.hash !== hash) rollouts.set(deployment.metadata.uid, { hash, since: clock.now() });
    const since = rollouts.get(deployment.metadata.uid)?.since ?? clock.now();

    const currentReady = Number(at(current, 'status.availableReplicas') ?? 0);
    const newComplete = currentReady >= desired && Number(at(current, 'status.replicas') ?? 0) === desired;
    const old = owned.filter((replicaSet) => replicaSet.metadata.uid !== current?.metadata.uid);
    if (newComplete) {
      for (const replicaSet of old) {
        const count = Number(at(replicaSet, 'spec.replicas') ?? 0);
        if (count === 0) continue;
        cluster.patch(REPLICA_SET, namespace, replicaSet.metadata.name, 'merge', { spec: { replicas: 0 } }, { manager: CONTROLLER_MANAGER });
        recordEvent(deployment, 'Normal', 'ScalingReplicaSet', `Scaled down replica set ${replicaSet.metadata.name} from ${count} to 0`, 'deployment-controller');
      }
    }

    const all = [current, ...old];
    const sum = (path: string) => all.reduce((total, replicaSet) => total + Number(at(replicaSet, path) ?? 0), 0);
    const replicas = sum('status.replicas');
    const available = sum('status.availableReplicas');
    const updated = Number(at(current, 'status.replicas') ?? 0);
    const maxUnavailable = Math.floor(desired * 0.25);
    const complete = newComplete && replicas === desired && updated === desired;
    const deadlineSeconds = Number(at(deployment, 'spec.progressDeadlineSeconds') ?? 600);
    const rsName = current.metadata.name;
    let progressing: Condition;
    if (complete) {
      progressing = { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` };
    } else if (clock.elapsed(since, deadlineSeconds * 1000)) {
      progressing = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` };
    } else {
      progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
      const remaining = deadlineSeconds * 1000 - (clock.now() - since) * clock.scale;
      later(`deployment-deadline:${deployment.metadata.uid}`, Math.max(0, remaining) + 1, () => reconcileDeployment(namespace, name));
    }
    const availableCondition: Condition =
      available >= desired - maxUnavailable
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };
    const status: JsonObject = {
      observedGeneration: deployment.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: sum('status.readyReplicas'),
      availableReplicas: available,
      conditions: mergeConditions(at(deployment, 'status.conditions'), [availableCondition, progressing], stamp, true),
    };
    if (replicas - available > 0) status.unavailableReplicas = replicas - available;
    if (desired - available > 0) status.unavailableReplicas = Math.max(desired - available, replicas - available);
    for (const key of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas']) if (status[key] === 0) delete status[key];
    writeStatus(DEPLOYMENT, deployment, status);
  }

  // ---- StatefulSet, DaemonSet, Job ---------------------------------------------------------

  function reconcileStatefulSet(namespace: string | undefined, name: string): void {
    const statefulSet = cluster.get(STATEFUL_SET, namespace, name);
    if (!statefulSet || statefulSet.metadata.deletionTimestamp) return;
    const desired = Number(at(statefulSet, 'spec.replicas') ?? 1);
    const revision = `${name}-${templateHash(at(statefulSet, 'spec.template'))}`;
    const parallel = at(statefulSet, 'spec.podManagementPolicy') === 'Parallel';
    let pods = controlled(statefulSet, POD);
    const byOrdinal = new Map(pods.map((pod) => [Number(pod.metadata.name.slice(name.length + 1)), pod]));

    for (const [ordinal, pod] of byOrdinal) {
      if (ordinal >= desired && !pod.metadata.deletionTimestamp) cluster.delete(POD, namespace, pod.metadata.name);
    }
    for (let ordinal = 0; ordinal < desired; ordinal += 1) {
      const pod = byOrdinal.get(ordinal);
      if (pod) {
        if (!podReady(pod) && !parallel) break;
        continue;
      }
      createPod(statefulSet, `${name}-${ordinal}`, templateWithClaims(statefulSet, ordinal), {
        'controller-revision-hash': revision,
        'statefulset.kubernetes.io/pod-name': `${name}-${ordinal}`,
        'apps.kubernetes.io/pod-index': String(ordinal),
      });
      if (!parallel) break;
    }
    pods = controlled(statefulSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    const outdated = pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] !== revision).sort((a, b) => b.metadata.name.localeCompare(a.metadata.name));
    if (outdated.length > 0 && pods.every(podReady) && pods.length >= desired) {
      cluster.delete(POD, namespace, (outdated[0] as KubeObject).metadata.name);
    }
    const ready = pods.filter(podReady).length;
    const updated = pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === revision).length;
    const previousCurrent = at(statefulSet, 'status.currentRevision');
    const currentRevision = updated === desired && outdated.length === 0 ? revision : typeof previousCurrent === 'string' ? previousCurrent : revision;
    writeStatus(STATEFUL_SET, statefulSet, {
      observedGeneration: statefulSet.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      currentReplicas: currentRevision === revision ? updated : pods.length - updated,
      updatedReplicas: updated,
      availableReplicas: ready,
      currentRevision,
      updateRevision: revision,
      collisionCount: 0,
    });
  }

  /** A StatefulSet pod's template with one claim per `volumeClaimTemplates` entry, made on first use and kept. */
  function templateWithClaims(statefulSet: KubeObject, ordinal: number): unknown {
    const template = clone(at(statefulSet, 'spec.template')) as JsonObject;
    const claims = at(statefulSet, 'spec.volumeClaimTemplates');
    if (!Array.isArray(claims) || claims.length === 0) return template;
    const spec = (isPlainObject(template.spec) ? template.spec : (template.spec = {})) as JsonObject;
    const volumes = Array.isArray(spec.volumes) ? spec.volumes : (spec.volumes = []);
    for (const claim of claims.filter(isPlainObject)) {
      const volume = String(at(claim, 'metadata.name') ?? '');
      const claimName = `${volume}-${statefulSet.metadata.name}-${ordinal}`;
      if (!cluster.get(CLAIM, statefulSet.metadata.namespace, claimName)) {
        const selectorLabels = at(statefulSet, 'spec.selector.matchLabels');
        cluster.create(
          CLAIM,
          statefulSet.metadata.namespace,
          { metadata: { name: claimName, labels: { ...(isPlainObject(selectorLabels) ? (selectorLabels as Record<string, string>) : {}), ...((at(claim, 'metadata.labels') as Record<string, string> | undefined) ?? {}) } }, spec: clone(claim.spec ?? {}) },
          { manager: CONTROLLER_MANAGER },
        );
      }
      if (!volumes.some((entry) => isPlainObject(entry) && entry.name === volume)) volumes.push({ name: volume, persistentVolumeClaim: { claimName } });
    }
    return template;
  }


  function matchesNodeSelector(node: KubeObject, selector: unknown): boolean {
    if (!isPlainObject(selector)) return true;
    return Object.entries(selector).every(([key, value]) => node.metadata.labels?.[key] === value);
  }

  function reconcileDaemonSet(namespace: string | undefined, name: string): void {
    const daemonSet = cluster.get(DAEMON_SET, namespace, name);
    if (!daemonSet || daemonSet.metadata.deletionTimestamp) return;
    const revision = templateHash(at(daemonSet, 'spec.template'));
    const eligible = nodes().filter((node) => matchesNodeSelector(node, at(daemonSet, 'spec.template.spec.nodeSelector')));
    const eligibleNames = new Set(eligible.map((node) => node.metadata.name));
    let pods = controlled(daemonSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    for (const pod of pods) {
      const stale = pod.metadata.labels?.['controller-revision-hash'] !== revision;
      if (!eligibleNames.has(String(at(pod, 'spec.nodeName'))) || stale) cluster.delete(POD, namespace, pod.metadata.name);
    }
    pods = controlled(daemonSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    for (const node of eligible) {
      if (pods.some((pod) => at(pod, 'spec.nodeName') === node.metadata.name)) continue;
      createPod(daemonSet, `${name}-${randomSuffix(5)}`, at(daemonSet, 'spec.template'), { 'controller-revision-hash': revision, 'pod-template-generation': String(daemonSet.metadata.generation ?? 1) }, node.metadata.name);
    }
    pods = controlled(daemonSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    const ready = pods.filter(podReady).length;
    const status: JsonObject = {
      observedGeneration: daemonSet.metadata.generation,
      desiredNumberScheduled: eligible.length,
      currentNumberScheduled: pods.length,
      numberMisscheduled: 0,
      numberReady: ready,
      numberAvailable: ready,
      updatedNumberScheduled: pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === revision).length,
    };
    if (eligible.length - ready > 0) status.numberUnavailable = eligible.length - ready;
    writeStatus(DAEMON_SET, daemonSet, status);
  }

  function reconcileJob(namespace: string | undefined, name: string): void {
    const job = cluster.get(JOB, namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const status: JsonObject = isPlainObject(job.status) ? clone(job.status) : {};
    const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isPlainObject) : [];
    if (conditions.some((condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True')) return;
    const completions = Number(at(job, 'spec.completions') ?? 1);
    const parallelism = Number(at(job, 'spec.parallelism') ?? 1);
    const suspended = at(job, 'spec.suspend') === true;
    let pods = controlled(job, POD);
    const succeeded = () => pods.filter((pod) => podPhase(pod) === 'Succeeded').length;
    const active = () => pods.filter((pod) => podPhase(pod) !== 'Succeeded' && podPhase(pod) !== 'Failed' && !pod.metadata.deletionTimestamp).length;
    const failed = () => pods.filter((pod) => podPhase(pod) === 'Failed').length;
    const backoffLimit = Number(at(job, 'spec.backoffLimit') ?? 6);
    if (!suspended && failed() <= backoffLimit) {
      const labels = { 'batch.kubernetes.io/controller-uid': job.metadata.uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': job.metadata.uid, 'job-name': name };
      let missing = Math.min(parallelism - active(), completions - succeeded() - active());
      while (missing > 0) {
        createPod(job, `${name}-${randomSuffix(5)}`, at(job, 'spec.template'), labels);
        missing -= 1;
      }
      pods = controlled(job, POD);
    }
    const stamp = now();
    const next: JsonObject = {
      ...status,
      startTime: status.startTime ?? stamp,
      active: active(),
      succeeded: succeeded(),
      ready: pods.filter(podReady).length,
      terminating: 0,
      uncountedTerminatedPods: {},
    };
    if (failed() > 0) next.failed = failed();
    if (next.active === 0) delete next.active;
    if (next.succeeded === 0) delete next.succeeded;
    if (failed() > backoffLimit) {
      const message = 'Job has reached the specified backoff limit';
      next.conditions = [
        { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message, lastProbeTime: stamp, lastTransitionTime: stamp },
        { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message, lastProbeTime: stamp, lastTransitionTime: stamp },
      ];
      recordEvent(job, 'Warning', 'BackoffLimitExceeded', message, 'job-controller');
    }
    if (succeeded() >= completions) {
      next.completionTime = stamp;
      next.conditions = [
        { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: stamp, lastTransitionTime: stamp },
        { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: stamp, lastTransitionTime: stamp },
      ];
      recordEvent(job, 'Normal', 'Completed', 'Job completed', 'job-controller');
    }
    writeStatus(JOB, job, next);
  }

  function jobFinished(job: KubeObject): 'Complete' | 'Failed' | undefined {
    const conditions = at(job, 'status.conditions');
    const done = Array.isArray(conditions) ? conditions.filter(isPlainObject).find((condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True') : undefined;
    return done === undefined ? undefined : (done.type as 'Complete' | 'Failed');
  }

  /**
   * CronJobs run in sandbox time, on a timeline that starts at the CronJob's creation: at scale 50
   * a `*\/5 * * * *` schedule fires every 6 real seconds. Times are UTC (`timeZone` is ignored).
   */
  function reconcileCronJob(namespace: string | undefined, name: string): void {
    const cronJob = cluster.get(CRON_JOB, namespace, name);
    if (!cronJob || cronJob.metadata.deletionTimestamp) return;
    let schedule;
    try {
      schedule = parseCronSchedule(String(at(cronJob, 'spec.schedule') ?? ''));
    } catch {
      return;
    }
    const created = Date.parse(cronJob.metadata.creationTimestamp);
    const simulatedNow = created + (clock.now() - created) * clock.scale;
    const status: JsonObject = isPlainObject(cronJob.status) ? clone(cronJob.status) : {};
    let jobs = controlled(cronJob, JOB);
    const lastSchedule = typeof status.lastScheduleTime === 'string' ? Date.parse(status.lastScheduleTime) : created;
    let due: number | undefined;
    let next = schedule.nextAfter(lastSchedule);
    for (let missed = 0; next !== undefined && next <= simulatedNow && missed < 1000; missed += 1) {
      due = next;
      next = schedule.nextAfter(next);
    }
    const active = () => jobs.filter((job) => jobFinished(job) === undefined && !job.metadata.deletionTimestamp);
    const policy = at(cronJob, 'spec.concurrencyPolicy') ?? 'Allow';
    if (due !== undefined && at(cronJob, 'spec.suspend') !== true && !(policy === 'Forbid' && active().length > 0)) {
      if (policy === 'Replace') for (const job of active()) cluster.delete(JOB, namespace, job.metadata.name, { propagationPolicy: 'Background' });
      const template = isPlainObject(at(cronJob, 'spec.jobTemplate')) ? (at(cronJob, 'spec.jobTemplate') as JsonObject) : {};
      const jobName = `${name}-${Math.floor(due / 60_000)}`;
      if (!cluster.get(JOB, namespace, jobName)) {
        const metadata = isPlainObject(template.metadata) ? template.metadata : {};
        cluster.create(
          JOB,
          namespace,
          {
            metadata: {
              name: jobName,
              labels: metadata.labels,
              annotations: { ...(isPlainObject(metadata.annotations) ? metadata.annotations : {}), 'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date(due).toISOString() },
              ownerReferences: [ownerReference(cronJob)],
            },
            spec: clone(template.spec ?? {}),
          },
          { manager: CONTROLLER_MANAGER },
        );
        recordEvent(cronJob, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`, 'cronjob-controller');
      }
      status.lastScheduleTime = new Date(due).toISOString().replace('.000Z', 'Z');
      jobs = controlled(cronJob, JOB);
    }
    const byAge = (a: KubeObject, b: KubeObject) => a.metadata.name.localeCompare(b.metadata.name, undefined, { numeric: true });
    for (const [outcome, limitPath, fallback] of [['Complete', 'spec.successfulJobsHistoryLimit', 3], ['Failed', 'spec.failedJobsHistoryLimit', 1]] as const) {
      const finished = jobs.filter((job) => jobFinished(job) === outcome).sort(byAge);
      const limit = Number(at(cronJob, limitPath) ?? fallback);
      for (const job of finished.slice(0, Math.max(0, finished.length - limit))) cluster.delete(JOB, namespace, job.metadata.name, { propagationPolicy: 'Background' });
    }
    const running = active();
    if (running.length > 0) status.active = running.map((job) => ({ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, namespace, uid: job.metadata.uid }));
    else delete status.active;
    const successTimes = jobs.filter((job) => jobFinished(job) === 'Complete').map((job) => String(at(job, 'status.completionTime') ?? ''));
    if (successTimes.length > 0) status.lastSuccessfulTime = successTimes.sort().at(-1);
    writeStatus(CRON_JOB, cronJob, status);
    if (next !== undefined) later(`cron:${cronJob.metadata.uid}`, Math.max(0, next - simulatedNow) + 1, () => reconcileCronJob(namespace, name));
  }


  return { reconcileReplicaSet, reconcileDeployment, reconcileStatefulSet, reconcileDaemonSet, reconcileJob, reconcileCronJob, forgetDeployment };
}
