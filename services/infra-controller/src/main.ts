import { controllerEnvironment, runController } from '@tugboat/controller-sdk';
import { createAccountController } from './infra-controller.js';
import { infraControllerSettings } from './infra-controller-settings.js';

const settings = infraControllerSettings(process.env);
await runController(createAccountController(settings), controllerEnvironment(process.env));
