import { controllerEnvironment, runController } from '@tugboat/controller-sdk';
import { databaseKillPointFromEnv } from './database-kill-points.js';
import { createDatabaseController } from './managed-services-controller.js';
import { managedServicesSettings } from './managed-services-settings.js';

const settings = managedServicesSettings(process.env);
// Test-only fault hook: inert unless a test also sets TUGBOAT_TEST_HOOKS=1.
const { killPoint, ignored } = databaseKillPointFromEnv(process.env);
if (ignored !== undefined) process.stderr.write(`${JSON.stringify({ level: 40, msg: 'kill point not armed', reason: ignored })}\n`);
await runController([createDatabaseController({ ...settings, killPoint })], controllerEnvironment(process.env));
