/**
 * The deterministic names and tags of what the managed-services-controller makes for a
 * DatabaseInstance. The RDS instance, its DB subnet group and its final snapshot are found again by
 * name; the security group (whose name EC2 does not make unique across VPCs) by its owner tag.
 */
import { createHash } from 'node:crypto';

export const OWNER_TAG = 'tugboat.dev/owner-uid';
export const MANAGED_BY_TAG = 'tugboat.dev/managed-by';
/** `<project>/<name>` of the DatabaseInstance, for people looking at the AWS console. */
export const OBJECT_TAG = 'tugboat.dev/object';
/** Set on what a `retain` deletion lets go of (the owner tag is removed): `<project>/<name>`. */
export const RETAINED_TAG = 'tugboat.dev/retained-from';

/** The RDS master user (the password is RDS-managed, in Secrets Manager). */
export const MASTER_USERNAME = 'tugboat';

const RDS_IDENTIFIER_MAX = 63;

function hash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * `tugboat-<project>-<name>`: a valid RDS identifier (a letter first, no double or trailing hyphen,
 * at most 63 characters). A name that is too long or has double hyphens is shortened and keeps a
 * hash of the whole, so two objects never share one.
 */
export function instanceIdentifier(project: string, name: string): string {
  const plain = `tugboat-${project}-${name}`.toLowerCase();
  if (plain.length <= RDS_IDENTIFIER_MAX && !plain.includes('--')) return plain;
  const suffix = `-${hash(`${project}/${name}`)}`;
  const head = plain.replace(/-+/g, '-').slice(0, RDS_IDENTIFIER_MAX - suffix.length).replace(/-+$/, '');
  return `${head}${suffix}`;
}

/** The DB subnet group and the security group carry the instance's identifier as their name. */
export const subnetGroupName = instanceIdentifier;
export const securityGroupName = instanceIdentifier;

/** `<identifier>-final-<first 8 of the uid>`: the same after a crash, another for a new object of the same name. */
export function finalSnapshotIdentifier(identifier: string, uid: string): string {
  return `${identifier}-final-${uid.replace(/[^0-9a-z]/gi, '').slice(0, 8).toLowerCase()}`;
}

export function ownershipTags(uid: string, project: string, name: string): Record<string, string> {
  return { [OWNER_TAG]: uid, [MANAGED_BY_TAG]: 'tugboat', [OBJECT_TAG]: `${project}/${name}` };
}

export function tagList(tags: Record<string, string>): Array<{ Key: string; Value: string }> {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagValue(tags: Array<{ Key?: string | undefined; Value?: string | undefined }> | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}

/** The engine's port (RDS's defaults). */
export function enginePort(engine: 'postgres' | 'mysql'): number {
  return engine === 'postgres' ? 5432 : 3306;
}
