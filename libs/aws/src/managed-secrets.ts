/**
 * Reading a password AWS keeps (an RDS-managed master password in Secrets Manager), with an
 * account's credentials: the value is fetched per secret version and kept in memory only, so a
 * rotation (a new version) is read once and an unchanged one never again.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientConfig, type AccountCredentials, type AccountRef, type SecretReader } from './account.js';

export interface ManagedSecretsOptions {
  credentials: AccountCredentials;
  /** Per AWS call. Default 15 s. */
  requestTimeoutMs?: number;
  /** Versions kept (each a small string). Default 256. */
  maxEntries?: number;
}

/** The `password` of an RDS-managed secret (a JSON `{ username, password }`). */
export function createManagedSecrets(options: ManagedSecretsOptions) {
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const maxEntries = options.maxEntries ?? 256;
  const held = new Map<string, string>();
  return {
    async password(input: { account: AccountRef; readSecrets: SecretReader; region: string; secretArn: string; version?: string; signal?: AbortSignal }): Promise<string> {
      const key = `${input.secretArn}\u0000${input.version ?? ''}`;
      const known = held.get(key);
      if (known !== undefined && input.version !== undefined) return known;
      const credentials = await options.credentials.get(input.account, input.readSecrets, input.signal);
      const client = new SecretsManagerClient(clientConfig(input.account.spec, credentials, requestTimeoutMs, input.region));
      try {
        const answer = await client.send(
          new GetSecretValueCommand({ SecretId: input.secretArn, ...(input.version ? { VersionId: input.version } : {}) }),
          input.signal ? { abortSignal: input.signal } : {},
        );
        let password: unknown;
        try {
          password = (JSON.parse(answer.SecretString ?? '') as { password?: unknown }).password;
        } catch {
          password = undefined;
        }
        if (typeof password !== 'string' || password === '') throw new Error(`secret ${input.secretArn} holds no password (a JSON { "password": … } is expected)`);
        held.set(key, password);
        if (held.size > maxEntries) held.delete(held.keys().next().value!);
        return password;
      } finally {
        client.destroy();
      }
    },
  };
}

export type ManagedSecrets = ReturnType<typeof createManagedSecrets>;
