import { controllerEnvironment, runController } from '@tugboat/controller-sdk';
import { createClusterConnections } from '@tugboat/kube';
import { createClusterController } from './cluster-controller.js';
import { clusterControllerSettings } from './cluster-controller-settings.js';

const settings = clusterControllerSettings(process.env);
const connections = createClusterConnections({ requestTimeoutMs: settings.requestTimeoutMs });
await runController(createClusterController({ connections, ...settings }), controllerEnvironment(process.env));
