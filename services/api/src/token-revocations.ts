/**
 * Revocation across API replicas: the replica that revokes a token announces its name on a core
 * NATS subject, and every replica (itself included) forgets the token at once, so the next request
 * with it reads the row and answers 401. Core NATS keeps nothing: a replica that was away from the
 * bus forgets every token when it reconnects, and its cache lifetime (1 s) bounds the rest.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { tokenRevokedSubject } from '@tugboat/resource-model';
import type { Logger } from 'pino';
import type { IdentityStore } from './identity.js';

export function announceTokenRevocation(nats: NatsConnection | undefined, prefix: string, name: string, logger: Logger): void {
  try {
    if (!nats) throw new Error('NATS is not connected yet');
    nats.publish(tokenRevokedSubject(prefix), JSON.stringify({ name }));
  } catch (error) {
    // The revocation is committed; the other replicas see it when their cache of it lapses.
    logger.warn({ err: (error as Error).message, token: name }, 'could not announce a token revocation; other replicas take up to their token cache lifetime');
  }
}

export function followTokenRevocations(options: { nats: NatsConnection; prefix: string; identities: IdentityStore; logger: Logger }): Subscription {
  const { identities, logger } = options;
  return options.nats.subscribe(tokenRevokedSubject(options.prefix), {
    callback: (error, message) => {
      if (error) {
        logger.warn({ err: error.message }, 'token revocation subscription failed');
        return;
      }
      let name: unknown;
      try {
        name = (message.json() as { name?: unknown }).name;
      } catch {
        name = undefined;
      }
      if (typeof name !== 'string') {
        // Cannot tell which token: forgetting all costs one query per token, never a wrong answer.
        identities.forgetAll();
        return;
      }
      identities.forget(name);
    },
  });
}
