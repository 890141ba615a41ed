/** Label and field selectors as the API server parses them (`?labelSelector=`, `?fieldSelector=`). */
import { badRequest } from './kube-status.js';

type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

export type LabelSelector = (labels: Record<string, string> | undefined) => boolean;
export type FieldSelector = (object: Record<string, unknown>) => boolean;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, text: string): string {
  if (!LABEL_KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${text}"`);
  return key;
}

function checkValue(value: string, text: string): string {
  if (!LABEL_VALUE.test(value) || value.length > 63) throw badRequest(`unable to parse requirement: invalid label value "${value}" in "${text}"`);
  return value;
}

export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === '') return () => true;
  const requirements: LabelRequirement[] = splitTopLevel(text).map((part) => {
    const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (set) {
      const values = (set[3] ?? '').split(',').map((value) => checkValue(value.trim(), part));
      return { key: checkKey(set[1] ?? '', part), op: set[2] as 'in' | 'notin', values };
    }
    const inequality = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(part);
    if (inequality) return { key: checkKey(inequality[1] ?? '', part), op: 'notin', values: [checkValue(inequality[2] ?? '', part)] };
    const equality = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(part);
    if (equality) return { key: checkKey(equality[1] ?? '', part), op: 'in', values: [checkValue(equality[2] ?? '', part)] };
    if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim(), part), op: '!exists' };
    return { key: checkKey(part, part), op: 'exists' };
  });
  return (labels) =>
    requirements.every((requirement) => {
      const value = labels?.[requirement.key];
      switch (requirement.op) {
        case 'exists':
          return value !== undefined;
        case '!exists':
          return value === undefined;
        case 'in':
          return value !== undefined && requirement.values.includes(value);
        case 'notin':
          return value === undefined || !requirement.values.includes(value);
      }
    });
}

/** Fields each kind can be selected by, beyond `metadata.name` and `metadata.namespace`. */
const SELECTABLE_FIELDS: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  Secret: ['type'],
  Namespace: ['status.phase'],
  Node: ['spec.unschedulable'],
  Job: ['status.successful'],
  ReplicaSet: ['status.replicas'],
};

function fieldValue(object: Record<string, unknown>, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[part] : undefined;
  }
  if (path === 'source') return String((object.source as { component?: string } | undefined)?.component ?? '');
  return current === undefined || current === null ? '' : String(current);
}

/** `kind` decides which fields may be selected; unsupported ones answer 400 as the real server does. */
export function parseFieldSelector(text: string | undefined, kind: string): FieldSelector {
  if (text === undefined || text.trim() === '') return () => true;
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(SELECTABLE_FIELDS[kind] ?? [])]);
  const requirements = splitTopLevel(text).map((part) => {
    const match = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = (match[1] ?? '').trim();
    if (!allowed.has(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, negate: match[2] === '!=', value: (match[3] ?? '').trim() };
  });
  return (object) => requirements.every((requirement) => (fieldValue(object, requirement.field) === requirement.value) !== requirement.negate);
}
