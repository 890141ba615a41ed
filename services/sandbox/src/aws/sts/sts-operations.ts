/**
 * STS on the wire (Query protocol): GetCallerIdentity and AssumeRole. AssumeRole issues temporary
 * credentials that the credential store then accepts (with their session token) until they expire.
 * A role that the sandbox's IAM holds is checked as STS does: its trust policy's `sts:ExternalId`
 * condition and its MaxSessionDuration. A role ARN that IAM does not hold is assumed unchecked
 * (tests and demos name roles of other accounts without creating them).
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../aws-error.js';
import type { AwsOperation, AwsOperationContext } from '../aws-operation.js';
import type { CredentialStore } from '../credential-store.js';
import type { IamRoleForSts } from '../iam/iam-simulator.js';

export const STS_XML_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]*$/;

export interface StsOperationsOptions {
  credentials: CredentialStore;
  now?: () => number;
  /** The sandbox's IAM role an ARN names, if it holds one. */
  roles?: (roleArn: string) => IamRoleForSts | undefined;
}

export function stsOperations(options: StsOperationsOptions): AwsOperation[] {
  const now = options.now ?? Date.now;
  const op = (operation: string, handler: (ctx: AwsOperationContext) => unknown): AwsOperation => ({
    service: 'sts',
    protocol: 'query',
    operation,
    xmlNamespace: STS_XML_NAMESPACE,
    handler,
  });
  return [
    op('GetCallerIdentity', (ctx) => {
      const principal = ctx.caller.principal;
      if (principal.type === 'assumed-role') {
        return {
          Arn: assumedRoleArn(principal.roleArn, principal.roleName, principal.sessionName),
          UserId: `${principal.roleId}:${principal.sessionName}`,
          Account: accountOf(principal.roleArn),
        };
      }
      return {
        Arn: `arn:aws:iam::${ctx.accountId}:user/${principal.userName}`,
        UserId: `AIDA${stableId(ctx.caller.accessKeyId)}`,
        Account: ctx.accountId,
      };
    }),
    op('AssumeRole', (ctx) => {
      const roleArn = ctx.input.RoleArn;
      const sessionName = ctx.input.RoleSessionName;
      if (typeof roleArn !== 'string' || roleArn === '') throw validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
      if (typeof sessionName !== 'string' || sessionName === '') {
        throw validation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
      }
      const match = ROLE_ARN.exec(roleArn);
      if (!match) throw validation(`${roleArn} is invalid: RoleArn must be an IAM role ARN (arn:aws:iam::123456789012:role/name)`);
      if (!SESSION_NAME.test(sessionName)) {
        throw validation(
          `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must have length 2 to 64 and satisfy regular expression pattern: [\\w+=,.@-]*`,
        );
      }
      const rawDuration = ctx.input.DurationSeconds;
      const duration = rawDuration === undefined ? 3600 : Number(rawDuration);
      if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
        throw validation(`1 validation error detected: Value '${String(rawDuration)}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
      }
      const externalId = ctx.input.ExternalId;
      if (typeof externalId === 'string' && (externalId.length < 2 || externalId.length > 1224 || !EXTERNAL_ID.test(externalId))) {
        throw validation(
          `1 validation error detected: Value '${externalId}' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224 and satisfy regular expression pattern: [\\w+=,.@:\\/-]*`,
        );
      }
      const role = options.roles?.(roleArn);
      if (role !== undefined) {
        const accepted = role.externalIds === undefined || (typeof externalId === 'string' && role.externalIds.includes(externalId));
        if (role.arn !== roleArn || !accepted) {
          throw new AwsError('AccessDenied', `User: ${callerArn(ctx)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, { status: 403 });
        }
        if (duration > role.maxSessionDuration) {
          throw validation(`The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`);
        }
      }
      const roleName = role?.roleName ?? (match[2] as string);
      const roleId = role?.roleId ?? `AROA${stableId(roleArn)}`;
      const issued = options.credentials.issueTemporary({ type: 'assumed-role', roleArn, roleName, roleId, sessionName }, duration, now());
      return {
        Credentials: {
          AccessKeyId: issued.accessKeyId,
          SecretAccessKey: issued.secretAccessKey,
          SessionToken: issued.sessionToken,
          Expiration: new Date(issued.expiresAt ?? now()).toISOString(),
        },
        AssumedRoleUser: { AssumedRoleId: `${roleId}:${sessionName}`, Arn: assumedRoleArn(roleArn, roleName, sessionName) },
        PackedPolicySize: 0,
      };
    }),
  ];
}

function callerArn(ctx: AwsOperationContext): string {
  const principal = ctx.caller.principal;
  if (principal.type === 'assumed-role') return assumedRoleArn(principal.roleArn, principal.roleName, principal.sessionName);
  return `arn:aws:iam::${ctx.accountId}:user/${principal.userName}`;
}

function validation(message: string): AwsError {
  return new AwsError('ValidationError', message, { status: 400 });
}

function accountOf(roleArn: string): string {
  return ROLE_ARN.exec(roleArn)?.[1] ?? '';
}

function assumedRoleArn(roleArn: string, roleName: string, sessionName: string): string {
  const partition = roleArn.split(':')[1] ?? 'aws';
  return `arn:${partition}:sts::${accountOf(roleArn)}:assumed-role/${roleName}/${sessionName}`;
}

/** A 17-character upper-case id derived from `seed`, stable across restarts (IAM unique ids look like this). */
function stableId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 17).toUpperCase();
}
