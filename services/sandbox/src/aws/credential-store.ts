/**
 * Which access keys the simulated AWS accepts. Unrestricted (the default) accepts any well-formed
 * key without checking its signature; restricted to a configured set, an unknown key is refused and
 * a known key's signature is verified. Temporary credentials issued by STS AssumeRole are always
 * known, so their signatures are always verified.
 */
import { randomBytes } from 'node:crypto';
import { InputError } from '@tugboat/resource-model';

export interface StaticCredential {
  accessKeyId: string;
  secretAccessKey: string;
  /** IAM user the key belongs to, for GetCallerIdentity. Default `sandbox`. */
  userName?: string;
}

export type Principal =
  | { type: 'user'; userName: string }
  | { type: 'assumed-role'; roleArn: string; roleName: string; roleId: string; sessionName: string };

export interface KnownCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch ms; temporary credentials only. */
  expiresAt?: number;
  principal: Principal;
}

/** Only temporary credentials are state; the configured set comes from configuration at every start. */
export interface CredentialStoreSnapshot {
  temporary: KnownCredential[];
}

export interface CredentialStore {
  /** `undefined` accepts any key again. */
  restrict(credentials: StaticCredential[] | undefined): void;
  readonly restricted: boolean;
  /** The configured keys (without secrets) and how many temporary keys exist. */
  describe(): { restricted: boolean; accessKeyIds: string[]; temporary: number };
  lookup(accessKeyId: string): KnownCredential | undefined;
  issueTemporary(principal: Extract<Principal, { type: 'assumed-role' }>, durationSeconds: number, now: number): KnownCredential;
  snapshot(): CredentialStoreSnapshot;
  restore(snapshot: CredentialStoreSnapshot): void;
  /** Forgets temporary credentials; the configured set stays. */
  reset(): void;
}

export const DEFAULT_USER_NAME = 'sandbox';

export function createCredentialStore(options: { credentials?: StaticCredential[] } = {}): CredentialStore {
  let configured: Map<string, StaticCredential> | undefined;
  const temporary = new Map<string, KnownCredential>();

  const store: CredentialStore = {
    restrict(credentials) {
      configured = credentials === undefined ? undefined : new Map(credentials.map((c) => [c.accessKeyId, validStatic(c)]));
    },
    get restricted() {
      return configured !== undefined;
    },
    describe: () => ({ restricted: configured !== undefined, accessKeyIds: [...(configured?.keys() ?? [])], temporary: temporary.size }),
    lookup(accessKeyId) {
      const temp = temporary.get(accessKeyId);
      if (temp) return temp;
      const known = configured?.get(accessKeyId);
      if (!known) return undefined;
      return { accessKeyId, secretAccessKey: known.secretAccessKey, principal: { type: 'user', userName: known.userName ?? DEFAULT_USER_NAME } };
    },
    issueTemporary(principal, durationSeconds, now) {
      const credential: KnownCredential = {
        accessKeyId: `ASIA${randomId(16)}`,
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: randomBytes(96).toString('base64'),
        expiresAt: now + durationSeconds * 1000,
        principal,
      };
      for (const [key, value] of temporary) if ((value.expiresAt ?? Infinity) <= now) temporary.delete(key);
      temporary.set(credential.accessKeyId, credential);
      return credential;
    },
    snapshot: () => ({ temporary: [...temporary.values()] }),
    restore(snapshot) {
      temporary.clear();
      for (const credential of snapshot.temporary ?? []) temporary.set(credential.accessKeyId, credential);
    },
    reset() {
      temporary.clear();
    },
  };
  if (options.credentials !== undefined) store.restrict(options.credentials);
  return store;
}

/** Parses `AKID:SECRET[,AKID:SECRET…]` (the `--credentials` flag). */
export function parseCredentialList(text: string): StaticCredential[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      if (colon <= 0 || colon === entry.length - 1) {
        throw new InputError(`credentials: '${entry}' must have the form ACCESS_KEY_ID:SECRET_ACCESS_KEY`, {
          details: [{ path: 'credentials', rule: 'format' }],
        });
      }
      return validStatic({ accessKeyId: entry.slice(0, colon), secretAccessKey: entry.slice(colon + 1) });
    });
}

function validStatic(credential: StaticCredential): StaticCredential {
  if (typeof credential.accessKeyId !== 'string' || !/^[A-Z0-9]{16,128}$/.test(credential.accessKeyId)) {
    throw new InputError('accessKeyId: must be 16 to 128 upper-case letters or digits', { details: [{ path: 'accessKeyId', rule: 'pattern' }] });
  }
  if (typeof credential.secretAccessKey !== 'string' || credential.secretAccessKey.length === 0) {
    throw new InputError('secretAccessKey: must be a non-empty string', { details: [{ path: 'secretAccessKey', rule: 'required' }] });
  }
  if (credential.userName !== undefined && (typeof credential.userName !== 'string' || !/^[\w+=,.@-]{1,64}$/.test(credential.userName))) {
    throw new InputError('userName: must be 1 to 64 characters of [A-Za-z0-9+=,.@_-]', { details: [{ path: 'userName', rule: 'pattern' }] });
  }
  return { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey, ...(credential.userName ? { userName: credential.userName } : {}) };
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function randomId(length: number): string {
  const bytes = randomBytes(length);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}
