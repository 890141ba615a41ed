import { createEksAccess } from '@tugboat/aws';
import { controllerEnvironment, runController } from '@tugboat/controller-sdk';
import { createClusterConnections } from '@tugboat/kube';
import { createClusterController } from './cluster-controller.js';
import { clusterControllerSettings } from './cluster-controller-settings.js';

const settings = clusterControllerSettings(process.env);
const connections = createClusterConnections({ requestTimeoutMs: settings.requestTimeoutMs });
const eksAccess = createEksAccess({ requestTimeoutMs: settings.requestTimeoutMs });
await runController(createClusterController({ connections, eksAccess, ...settings }), controllerEnvironment(process.env));
