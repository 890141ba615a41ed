/** `GET …/pods/{name}/log`: a few lines a simulated container would have written, or the error a kubelet gives. */
import { isPlainObject } from './json-values.js';
import { badRequest } from './kube-status.js';
import type { KubeObject } from './object-rules.js';

export function podLog(pod: KubeObject, containerName: string | undefined): string {
  const containers = isPlainObject(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers.filter(isPlainObject) : [];
  const names = containers.map((container) => String(container.name));
  if (containerName === undefined && containers.length > 1) {
    throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`);
  }
  const container = containerName === undefined ? containers[0] : containers.find((candidate) => candidate.name === containerName);
  if (!container) throw badRequest(`container ${containerName ?? ''} is not valid for pod ${pod.metadata.name}`);
  const statuses = isPlainObject(pod.status) && Array.isArray(pod.status.containerStatuses) ? pod.status.containerStatuses.filter(isPlainObject) : [];
  const state = statuses.find((status) => status.name === container.name)?.state;
  const running = isPlainObject(state) && (isPlainObject(state.running) || isPlainObject(state.terminated));
  if (!running) {
    const waiting = isPlainObject(state) && isPlainObject(state.waiting) ? String(state.waiting.reason ?? 'ContainerCreating') : 'ContainerCreating';
    const detail = waiting === 'ImagePullBackOff' || waiting === 'ErrImagePull' ? 'trying and failing to pull image' : waiting;
    throw badRequest(`container "${String(container.name)}" in pod "${pod.metadata.name}" is waiting to start: ${detail}`);
  }
  const started = isPlainObject(state) && isPlainObject(state.running) ? String(state.running.startedAt) : pod.metadata.creationTimestamp;
  const node = isPlainObject(pod.spec) ? String(pod.spec.nodeName ?? '') : '';
  const lines = [`${started} [tugboat-sandbox] simulated container ${String(container.name)} (image ${String(container.image)}) started on ${node}`];
  if (isPlainObject(state) && isPlainObject(state.terminated)) lines.push(`${String(state.terminated.finishedAt)} [tugboat-sandbox] exited with code ${String(state.terminated.exitCode)}`);
  return `${lines.join('\n')}\n`;
}
