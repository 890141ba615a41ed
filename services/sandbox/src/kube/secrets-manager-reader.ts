/**
 * The AWS half of the External Secrets simulation: a SecretStore's credentials checked, and
 * secrets read, against the sandbox's own Secrets Manager over its HTTP API, as the real
 * operator's AWS provider talks to AWS. A wrong key or a missing secret fails the same way, and
 * the failure is worded as aws-sdk-go-v2 words it (ESO puts that text in its conditions).
 */
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsCredentials } from './dns01-solver.js';

export interface SecretsManagerReader {
  /** Resolves when a call with these credentials succeeds; rejects with a `SecretsManagerReadError`. */
  validate(region: string, credentials: AwsCredentials): Promise<void>;
  /** The `SecretString` of a secret (by name or ARN; `version` is `uuid/<version id>` or a stage). */
  getSecretString(region: string, credentials: AwsCredentials, key: string, version?: string): Promise<string>;
}

/** A failed call, in the Go SDK's words: `operation error Secrets Manager: <Op>, https response error …, <Code>: <message>`. */
export class SecretsManagerReadError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SecretsManagerReadError';
  }
}

export interface SecretsManagerReaderOptions {
  /** The sandbox's AWS endpoint (its own URL), or undefined when it serves no AWS. */
  endpoint: () => string | undefined;
}

function wrap(operation: string, error: unknown): SecretsManagerReadError {
  const { name, message, $metadata } = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  const code = name && name !== 'Error' ? name : 'UnknownError';
  const status = $metadata?.httpStatusCode;
  const response = status === undefined ? '' : `https response error StatusCode: ${status}, RequestID: ${$metadata?.requestId ?? ''}, `;
  return new SecretsManagerReadError(`operation error Secrets Manager: ${operation}, ${response}${code}: ${message ?? String(error)}`, code);
}

export function createSecretsManagerReader(options: SecretsManagerReaderOptions): SecretsManagerReader {
  async function call<T>(operation: string, region: string, credentials: AwsCredentials, send: (client: SecretsManagerClient) => Promise<T>): Promise<T> {
    const endpoint = options.endpoint();
    if (endpoint === undefined) throw new SecretsManagerReadError(`operation error Secrets Manager: ${operation}, the sandbox serves no AWS endpoint`, 'NoEndpoint');
    const client = new SecretsManagerClient({ endpoint, region, credentials, maxAttempts: 1 });
    try {
      return await send(client);
    } catch (error) {
      throw wrap(operation, error);
    } finally {
      client.destroy();
    }
  }

  return {
    async validate(region, credentials) {
      await call('ListSecrets', region, credentials, (client) => client.send(new ListSecretsCommand({ MaxResults: 1 })));
    },
    async getSecretString(region, credentials, key, version) {
      // As ESO reads `remoteRef.version`: `uuid/<id>` is a version id, anything else a stage (AWSCURRENT …).
      const versionField = version === undefined ? {} : version.startsWith('uuid/') ? { VersionId: version.slice('uuid/'.length) } : { VersionStage: version };
      const output = await call('GetSecretValue', region, credentials, (client) => client.send(new GetSecretValueCommand({ SecretId: key, ...versionField })));
      if (output.SecretString !== undefined) return output.SecretString;
      return Buffer.from(output.SecretBinary ?? new Uint8Array()).toString('utf8');
    },
  };
}
