import { createEksAccess } from '@tugboat/aws';
import { controllerEnvironment, runController } from '@tugboat/controller-sdk';
import { createHelmRenderer, helmSettingsFromEnv } from '@tugboat/helm';
import { createClusterConnections } from '@tugboat/kube';
import { createApplicationController } from './application-controller.js';
import { createWorkloadController } from './workload-controller.js';
import { workloadControllerSettings } from './workload-controller-settings.js';
import { workloadKillPointFromEnv } from './workload-kill-points.js';

const settings = workloadControllerSettings(process.env);
const connections = createClusterConnections({ requestTimeoutMs: settings.requestTimeoutMs });
// Test-only fault hook: inert unless a test also sets TUGBOAT_TEST_HOOKS=1.
const { killPoint, ignored } = workloadKillPointFromEnv(process.env);
if (ignored !== undefined) process.stderr.write(`${JSON.stringify({ level: 40, msg: 'kill point not armed', reason: ignored })}\n`);
const eksAccess = createEksAccess({ requestTimeoutMs: settings.requestTimeoutMs });
// Helm-chart definitions: rendered with the helm binary (TUGBOAT_HELM_* settings: mirrors, plain-http registries, cache).
const charts = createHelmRenderer(helmSettingsFromEnv(process.env));
// One identity, two owned kinds: its workloads, and the Applications that own some of them.
// WORKLOAD_CONCURRENCY is the process's reconciles at once, for both kinds (its workers are shared).
await runController(
  [createWorkloadController({ connections, eksAccess, charts, killPoint, ...settings }), createApplicationController(settings)],
  { ...controllerEnvironment(process.env), concurrency: settings.concurrency },
);
