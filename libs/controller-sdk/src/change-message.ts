import type { ChangeCause, ResourceKey } from '@tugboat/resource-model';

/** What the SDK needs from a message: the key and why it was sent. */
export interface KeyMessage extends ResourceKey {
  cause: ChangeCause;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
}

export type DecodedMessage = { ok: true; message: KeyMessage } | { ok: false; reason: string; key?: ResourceKey };

const CAUSES: ReadonlySet<string> = new Set<ChangeCause>(['spec', 'status', 'delete', 'metadata', 'resync', 'reconcile']);

/**
 * Decodes a change event or a resync key. Anything that is not JSON naming a key whose kind and
 * name agree with the subject is undecodable (the caller dead-letters it); the key read from the
 * subject, when there is one, lets the caller tell the object's owner.
 */
export function decodeKeyMessage(data: Uint8Array, subject: string, prefix: string): DecodedMessage {
  const fromSubject = keyFromSubject(subject, prefix);
  const fail = (reason: string): DecodedMessage => (fromSubject === undefined ? { ok: false, reason } : { ok: false, reason, key: fromSubject });
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    return fail('body is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fail('body is not an object');
  const value = body as Record<string, unknown>;
  for (const field of ['kind', 'name'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') return fail(`${field} must be a non-empty string`);
  }
  if (typeof value.project !== 'string') return fail('project must be a string');
  if (typeof value.cause !== 'string' || !CAUSES.has(value.cause)) return fail('cause is missing or unknown');
  const message: KeyMessage = { kind: value.kind as string, project: value.project, name: value.name as string, cause: value.cause as ChangeCause };
  if (fromSubject !== undefined && (fromSubject.kind !== message.kind || fromSubject.project !== message.project || fromSubject.name !== message.name)) {
    return fail('the key in the body differs from the subject');
  }
  if (typeof value.uid === 'string') message.uid = value.uid;
  if (typeof value.generation === 'number') message.generation = value.generation;
  if (typeof value.resourceVersion === 'string') message.resourceVersion = value.resourceVersion;
  return { ok: true, message };
}

/** `{prefix}.res|status.{Kind}.{project|_}.{name}` or `{prefix}.resync.{controller}.{Kind}.{project|_}.{name}`. */
export function keyFromSubject(subject: string, prefix: string): ResourceKey | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  const tokens = subject.slice(prefix.length + 1).split('.');
  const rest = tokens[0] === 'res' || tokens[0] === 'status' ? tokens.slice(1) : tokens[0] === 'resync' ? tokens.slice(2) : undefined;
  if (rest === undefined || rest.length !== 3 || rest.some((token) => token === '')) return undefined;
  const [kind, project, name] = rest as [string, string, string];
  return { kind, project: project === '_' ? '' : project, name };
}
