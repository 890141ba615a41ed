/** The `…/scale` subresource: an autoscaling/v1 `Scale` view of `spec.replicas` (what `kubectl scale` uses). */
import { isPlainObject, type JsonObject } from './json-values.js';
import { invalid } from './kube-status.js';
import type { KubeObject } from './object-rules.js';

function selectorString(selector: unknown): string {
  if (!isPlainObject(selector)) return '';
  const labels = isPlainObject(selector.matchLabels) ? Object.entries(selector.matchLabels).map(([key, value]) => `${key}=${String(value)}`) : [];
  const expressions = Array.isArray(selector.matchExpressions)
    ? selector.matchExpressions.filter(isPlainObject).map((expression) => {
        const values = Array.isArray(expression.values) ? expression.values.join(',') : '';
        switch (expression.operator) {
          case 'In':
            return `${String(expression.key)} in (${values})`;
          case 'NotIn':
            return `${String(expression.key)} notin (${values})`;
          case 'DoesNotExist':
            return `!${String(expression.key)}`;
          default:
            return String(expression.key);
        }
      })
    : [];
  return [...labels, ...expressions].join(',');
}

export function scaleOf(object: KubeObject): JsonObject {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  const status = isPlainObject(object.status) ? object.status : {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, selector: selectorString(spec.selector) },
  };
}

/** The replica count a written `Scale` asks for, or a 422 naming `spec.replicas`. */
export function replicasOfScale(name: string, scale: unknown): number {
  const replicas = isPlainObject(scale) && isPlainObject(scale.spec) ? scale.spec.replicas : undefined;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid({ group: 'autoscaling', kind: 'Scale' }, name, [
      { field: 'spec.replicas', type: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0` },
    ]);
  }
  return replicas;
}
