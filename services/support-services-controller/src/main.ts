import { controllerEnvironment, runController } from '@tugboat/controller-sdk';
import { createHelmRenderer, helmSettingsFromEnv } from '@tugboat/helm';
import { createClusterConnections } from '@tugboat/kube';
import { killPointFromEnv } from '@tugboat/resource-model';
import { createSupportServicesControllers } from './support-services-controller.js';
import { supportServicesSettings } from './support-services-settings.js';
import { SUPPORT_KILL_POINTS } from './support-kill-points.js';

const settings = supportServicesSettings(process.env);
// Test-only fault hook: inert unless a test also sets TUGBOAT_TEST_HOOKS=1.
const { killPoint, ignored } = killPointFromEnv(process.env, SUPPORT_KILL_POINTS);
if (ignored !== undefined) process.stderr.write(`${JSON.stringify({ level: 40, msg: 'kill point not armed', reason: ignored })}\n`);
// The components' charts: rendered with the helm binary (TUGBOAT_HELM_* settings: mirrors, plain-http registries, cache).
const charts = createHelmRenderer(helmSettingsFromEnv(process.env));
const connections = createClusterConnections({ requestTimeoutMs: settings.requestTimeoutMs });
await runController([...createSupportServicesControllers({ ...settings, connections, charts, killPoint })], controllerEnvironment(process.env));
