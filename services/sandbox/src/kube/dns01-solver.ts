/**
 * The DNS-01 half of the cert-manager simulation: put the `_acme-challenge` TXT record where the
 * "ACME server" will look for it, wait until it is live, and take it away afterwards. The real
 * solver talks to the sandbox's own Route 53 over its HTTP API with the issuer's credentials, as
 * cert-manager's route53 solver talks to AWS, so a wrong key or a missing zone fails the same way;
 * tests of the certificate state machine use a fake.
 */
import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListHostedZonesByNameCommand, Route53Client } from '@aws-sdk/client-route-53';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** `spec.acme.solvers[].dns01.route53` of an issuer, as far as the simulation uses it. */
export interface Route53SolverConfig {
  region?: string;
  hostedZoneID?: string;
}

export interface Dns01Challenge {
  /** The name being validated, without a leading `*.`. */
  domain: string;
  /** `_acme-challenge.<domain>.` */
  fqdn: string;
  /** The key authorisation digest the TXT record carries (unquoted). */
  value: string;
  route53: Route53SolverConfig;
  credentials: AwsCredentials;
}

export interface Dns01Context {
  /** Waits `simulatedMs` of sandbox time. */
  sleep(simulatedMs: number): Promise<void>;
}

export interface Dns01Solver {
  /** Resolves once the record is written and the change has propagated; rejects with a `Dns01Error`. */
  present(challenge: Dns01Challenge, context: Dns01Context): Promise<void>;
  cleanUp(challenge: Dns01Challenge, context: Dns01Context): Promise<void>;
}

/** A failure worded as cert-manager words it on the Challenge (and so on the Certificate). */
export class Dns01Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Dns01Error';
  }
}

/** Time between GetChange polls, and how many before giving up (sandbox time). */
const PROPAGATION_POLL_MS = 2_000;
const PROPAGATION_POLLS = 60;

const AUTHENTICATION_ERRORS = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'IncompleteSignature', 'MissingAuthenticationToken', 'ExpiredToken', 'AccessDenied']);

function awsMessage(error: unknown): string {
  const { name, message } = error as { name?: string; message?: string };
  return name && name !== 'Error' ? `${name}: ${message ?? ''}` : String(message ?? error);
}

function isAuthenticationError(error: unknown): boolean {
  return AUTHENTICATION_ERRORS.has(String((error as { name?: string }).name));
}

/** The parent zone a DNS lookup of the SOA would find, for the "not found" message (the last two labels). */
function apexOf(fqdn: string): string {
  const labels = fqdn.replace(/\.$/, '').split('.');
  return `${labels.slice(-2).join('.')}.`;
}

export interface Route53Dns01SolverOptions {
  /** The sandbox's AWS endpoint (its own URL), or undefined when it serves no AWS. */
  endpoint: () => string | undefined;
}

export function createRoute53Dns01Solver(options: Route53Dns01SolverOptions): Dns01Solver {
  function client(challenge: Dns01Challenge): Route53Client {
    const endpoint = options.endpoint();
    if (endpoint === undefined) {
      throw new Dns01Error('error instantiating route53 challenge solver: this sandbox serves no AWS endpoint, so there is no Route 53 to write the challenge record to');
    }
    return new Route53Client({ region: challenge.route53.region || 'us-east-1', endpoint, credentials: challenge.credentials, maxAttempts: 1 });
  }

  /** cert-manager's lookup: the hosted zone given, or the public zone whose name is the longest suffix of the record's. */
  async function hostedZoneId(route53: Route53Client, challenge: Dns01Challenge): Promise<string> {
    if (challenge.route53.hostedZoneID) return challenge.route53.hostedZoneID.replace(/^\/hostedzone\//, '');
    const labels = challenge.fqdn.replace(/\.$/, '').split('.');
    for (let start = 1; start < labels.length - 1; start += 1) {
      const candidate = `${labels.slice(start).join('.')}.`;
      let answer;
      try {
        answer = await route53.send(new ListHostedZonesByNameCommand({ DNSName: candidate }));
      } catch (error) {
        if (isAuthenticationError(error)) throw new Dns01Error(`error instantiating route53 challenge solver: failed to list hosted zones: ${awsMessage(error)}`);
        throw new Dns01Error(`Failed to determine Route 53 hosted zone ID: ${awsMessage(error)}`);
      }
      const zone = (answer.HostedZones ?? []).find((candidateZone) => candidateZone.Name === candidate && candidateZone.Config?.PrivateZone !== true);
      if (zone?.Id) return zone.Id.replace(/^\/hostedzone\//, '');
    }
    throw new Dns01Error(`Failed to determine Route 53 hosted zone ID: Zone ${apexOf(challenge.fqdn)} not found in Route 53 for domain ${challenge.fqdn}`);
  }

  async function change(challenge: Dns01Challenge, action: 'UPSERT' | 'DELETE', context: Dns01Context): Promise<void> {
    const route53 = client(challenge);
    try {
      const zoneId = await hostedZoneId(route53, challenge);
      let changeId: string | undefined;
      try {
        const answer = await route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ChangeBatch: { Changes: [{ Action: action, ResourceRecordSet: { Name: challenge.fqdn, Type: 'TXT', TTL: 10, ResourceRecords: [{ Value: `"${challenge.value}"` }] } }] },
          }),
        );
        changeId = answer.ChangeInfo?.Id;
      } catch (error) {
        // Cleaning up a record that is already gone is done, as in cert-manager.
        if (action === 'DELETE' && (error as { name?: string }).name === 'InvalidChangeBatch') return;
        if (isAuthenticationError(error)) throw new Dns01Error(`error instantiating route53 challenge solver: ${awsMessage(error)}`);
        throw new Dns01Error(`failed to change Route 53 record set: ${awsMessage(error)}`);
      }
      if (action === 'DELETE' || changeId === undefined) return;
      for (let poll = 0; poll < PROPAGATION_POLLS; poll += 1) {
        const state = await route53.send(new GetChangeCommand({ Id: changeId })).catch((error: unknown) => {
          throw new Dns01Error(`failed to query change status: ${awsMessage(error)}`);
        });
        if (state.ChangeInfo?.Status === 'INSYNC') return;
        await context.sleep(PROPAGATION_POLL_MS);
      }
      throw new Dns01Error(`Time limit exceeded. Last error: Route 53 change ${changeId} is not INSYNC`);
    } finally {
      route53.destroy();
    }
  }

  return {
    present: (challenge, context) => change(challenge, 'UPSERT', context),
    cleanUp: (challenge, context) => change(challenge, 'DELETE', context),
  };
}
