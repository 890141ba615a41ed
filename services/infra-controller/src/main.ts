import { controllerEnvironment, runController } from '@tugboat/controller-sdk';
import { createEksClusterController } from './eks-controller.js';
import { eksKillPointFromEnv } from './eks-kill-points.js';
import { createAccountController } from './infra-controller.js';
import { infraControllerSettings } from './infra-controller-settings.js';

const settings = infraControllerSettings(process.env);
// Test-only fault hook: inert unless a test also sets TUGBOAT_TEST_HOOKS=1.
const { killPoint, ignored } = eksKillPointFromEnv(process.env);
if (ignored !== undefined) process.stderr.write(`${JSON.stringify({ level: 40, msg: 'kill point not armed', reason: ignored })}\n`);
await runController([createAccountController(settings), createEksClusterController({ ...settings, killPoint })], controllerEnvironment(process.env));
