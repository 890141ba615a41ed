/**
 * A DomainDefinition's hosted zone: adopted (the zone of `hostedZone.id`, whose name must be the
 * domain) or created (CreateHostedZone with the object's uid as caller reference, so a create
 * whose answer was lost is found again, never made twice). Status: the zone id and its name
 * servers, to delegate the domain to. A created zone is kept when the domain is deleted unless
 * `hostedZone.deletionPolicy` is `delete`; then it goes once Tugboat's records are gone from it.
 */
import {
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { awsCode, awsFailure, KilledAtPoint, ProvisioningRefused, type AccountCredentials } from '@tugboat/aws';
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { keyOf, noKillPoint, type KillPoint, type ResourceStatus } from '@tugboat/resource-model';
import { accountOf, openRoute53 } from './route53-access.js';
import type { Domain, DomainOutputs } from './support-types.js';

type Ctx = ReconcileContext<ResourceStatus>;

export interface DomainReconcilerOptions {
  credentials: AccountCredentials;
  requestTimeoutMs: number;
  /** First retry after a transient AWS error (doubling per failure). */
  retryMs: number;
  /** How often a domain waiting for its account is looked at. */
  waitMs: number;
  killPoint?: KillPoint;
}

const callerReference = (domain: Domain) => `tugboat-${domain.metadata.uid}`;
const zoneId = (id: string | undefined) => id?.replace(/^\/hostedzone\//, '');

export function createDomainReconciler(options: DomainReconcilerOptions) {
  const killPoint = options.killPoint ?? noKillPoint;
  const pass = (point: string) => {
    if (killPoint.pass(point, 1) === 0) throw new KilledAtPoint(`killed at ${point}`);
  };

  /** The zone Tugboat created for this domain earlier (its caller reference), if any. */
  async function createdZone(route53: Route53Client, domain: Domain, signal: AbortSignal): Promise<string | undefined> {
    const answer = await route53.send(new ListHostedZonesByNameCommand({ DNSName: domain.spec.domain, MaxItems: 100 }), { abortSignal: signal });
    return zoneId((answer.HostedZones ?? []).find((zone) => zone.CallerReference === callerReference(domain))?.Id);
  }

  async function zoneOutputs(route53: Route53Client, id: string, created: boolean, domain: Domain, signal: AbortSignal): Promise<DomainOutputs> {
    const zone = await route53.send(new GetHostedZoneCommand({ Id: id }), { abortSignal: signal });
    const name = zone.HostedZone?.Name?.replace(/\.$/, '');
    if (name !== domain.spec.domain) {
      throw new ProvisioningRefused('ZoneMismatch', `hosted zone ${id} is for ${name ?? 'an unknown name'}, not ${domain.spec.domain}: give the id of the domain's own zone (or none, to have Tugboat create it)`);
    }
    return { hostedZoneId: id, nameServers: zone.DelegationSet?.NameServers ?? [], created };
  }

  async function reconcile(ctx: Ctx, domain: Domain): Promise<ReconcileResult> {
    const account = await accountOf(ctx.api, domain.spec.accountRef.name, ctx.signal);
    if (typeof account === 'string') {
      ctx.setStatus({ phase: 'Progressing', reason: 'AccountNotReady', message: account });
      return { requeueAfterMs: options.waitMs };
    }
    const adopt = domain.spec.hostedZone?.id;
    let step = adopt ? 'AdoptZone' : 'CreateZone';
    let route53: Route53Client | undefined;
    try {
      route53 = await openRoute53(ctx.api, account, options.credentials, options.requestTimeoutMs, ctx.signal);
      let outputs: DomainOutputs;
      if (adopt) {
        outputs = await zoneOutputs(route53, adopt, false, domain, ctx.signal);
      } else {
        let id = zoneId(typeof domain.status.outputs?.['hostedZoneId'] === 'string' ? (domain.status.outputs['hostedZoneId'] as string) : undefined) ?? (await createdZone(route53, domain, ctx.signal));
        if (id === undefined) {
          ctx.assertLeaseHeld();
          try {
            const made = await route53.send(new CreateHostedZoneCommand({ Name: domain.spec.domain, CallerReference: callerReference(domain), HostedZoneConfig: { Comment: `Tugboat DomainDefinition ${domain.metadata.name}` } }), { abortSignal: ctx.signal });
            id = zoneId(made.HostedZone?.Id);
            pass('zone.after-create');
            await ctx.events.record('Normal', 'ZoneCreated', `created Route 53 hosted zone ${id} for ${domain.spec.domain}`).catch(() => undefined);
          } catch (error) {
            // Made by an earlier try whose answer was lost: the caller reference finds it.
            if (awsCode(error) !== 'HostedZoneAlreadyExists') throw error;
            id = await createdZone(route53, domain, ctx.signal);
          }
          if (id === undefined) throw new Error(`Route 53 created no zone for ${domain.spec.domain}`);
        }
        step = 'ReadZone';
        outputs = await zoneOutputs(route53, id, true, domain, ctx.signal);
      }
      ctx.setStatus({
        phase: 'Ready',
        reason: 'ZoneReady',
        message: `${outputs.created ? 'hosted zone' : 'adopted hosted zone'} ${outputs.hostedZoneId} serves ${domain.spec.domain}; delegate it to ${outputs.nameServers.join(', ') || 'its name servers'}`,
        outputs,
        fields: { retries: 0 },
      });
      return undefined;
    } catch (error) {
      if (error instanceof KilledAtPoint || ctx.signal.aborted) throw error;
      const failure = awsFailure(error, { step, previousRetries: typeof domain.status['retries'] === 'number' ? domain.status['retries'] : 0, retryMs: options.retryMs });
      if (failure.credentialsRefused) options.credentials.forget(account.metadata.uid);
      ctx.setStatus({ phase: failure.phase, reason: failure.reason, message: failure.message, fields: { retries: failure.retries } });
      return failure.retryAfterMs === undefined ? { done: true } : { requeueAfterMs: failure.retryAfterMs };
    } finally {
      route53?.destroy();
    }
  }

  async function finalize(ctx: Ctx, domain: Domain): Promise<ReconcileResult> {
    const outputs = domain.status.outputs as Partial<DomainOutputs> | undefined;
    if (outputs?.created !== true || domain.spec.hostedZone?.deletionPolicy !== 'delete' || outputs.hostedZoneId === undefined) return undefined;
    const account = await accountOf(ctx.api, domain.spec.accountRef.name, ctx.signal);
    if (typeof account === 'string') throw new Error(`cannot delete hosted zone ${outputs.hostedZoneId}: ${account}`);
    const route53 = await openRoute53(ctx.api, account, options.credentials, options.requestTimeoutMs, ctx.signal);
    try {
      ctx.assertLeaseHeld();
      await route53.send(new DeleteHostedZoneCommand({ Id: outputs.hostedZoneId }), { abortSignal: ctx.signal });
      return undefined;
    } catch (error) {
      const code = awsCode(error);
      if (code === 'NoSuchHostedZone') return undefined;
      if (code !== 'HostedZoneNotEmpty') throw error;
      const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: outputs.hostedZoneId, MaxItems: 10 }), { abortSignal: ctx.signal });
      const left = (records.ResourceRecordSets ?? []).filter((set) => !(set.Name === `${domain.spec.domain}.` && (set.Type === 'NS' || set.Type === 'SOA')));
      const message = `hosted zone ${outputs.hostedZoneId} still holds ${left.map((set) => `${set.Type} ${set.Name}`).join(', ')}: Tugboat does not delete records it did not write; remove them (or set hostedZone.deletionPolicy: retain)`;
      await ctx.api.writeStatus(keyOf(domain), { ...domain.status, phase: 'Deleting', conditions: [{ type: 'Ready', status: 'False', reason: 'ZoneNotEmpty', message }] }, { signal: ctx.signal }).catch(() => undefined);
      return { requeueAfterMs: options.waitMs };
    } finally {
      route53.destroy();
    }
  }

  return { reconcile, finalize };
}
