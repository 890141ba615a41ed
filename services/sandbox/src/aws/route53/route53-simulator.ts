/**
 * The Route 53 stand-in's state and rules: hosted zones (global, one set whatever the region) with
 * their record sets, and changes that are `PENDING` until a simulated propagation delay has passed,
 * then `INSYNC`. A change batch is checked change by change against the zone as the earlier changes
 * of the batch leave it, and applied all or nothing; every problem found goes into one
 * `InvalidChangeBatch`, as Route 53 reports them. `route53-operations.ts` does the wire.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SandboxCounters } from '../../counters.js';
import type { SimClock } from '../../sim-clock.js';
import { AwsError } from '../aws-error.js';
import { compareText, decodedLabels, DnsNameError, isWithinZone, normalizeDnsName, reversedNameKey } from './route53-names.js';
import { recordValueProblems } from './route53-record-values.js';

export interface AliasTargetRecord {
  hostedZoneId: string;
  /** Normalized. */
  dnsName: string;
  evaluateTargetHealth: boolean;
}

/** Routing-policy members kept and echoed; only `setIdentifier` takes part in a record set's identity. */
export interface RoutingPolicy {
  weight?: number;
  region?: string;
  failover?: string;
  multiValueAnswer?: boolean;
  healthCheckId?: string;
}

export interface RecordSetRecord extends RoutingPolicy {
  /** Normalized: lower case, trailing dot, `\052` for `*`. */
  name: string;
  type: string;
  setIdentifier?: string;
  ttl?: number;
  values?: string[];
  aliasTarget?: AliasTargetRecord;
}

export interface RecordSetInput extends RoutingPolicy {
  name: string;
  type: string;
  setIdentifier?: string;
  ttl?: number;
  values?: string[];
  aliasTarget?: { hostedZoneId: string; dnsName: string; evaluateTargetHealth: boolean };
}

export type ChangeAction = 'CREATE' | 'DELETE' | 'UPSERT';

export interface HostedZoneRecord {
  /** Without the `/hostedzone/` prefix. */
  id: string;
  name: string;
  callerReference: string;
  comment?: string;
  privateZone: boolean;
  vpcs: Array<{ region: string; vpcId: string }>;
  nameServers: string[];
  records: RecordSetRecord[];
  createdAt: number;
}

export interface ChangeRecord {
  /** Without the `/change/` prefix. */
  id: string;
  submittedAt: number;
  comment?: string;
}

export type ChangeStatus = 'PENDING' | 'INSYNC';

export interface Route53Snapshot {
  zones: HostedZoneRecord[];
  changes: ChangeRecord[];
}

export interface Route53Durations {
  /** How long a change stays `PENDING` (simulated time). */
  changePropagation: number;
}

export const DEFAULT_ROUTE53_DURATIONS: Route53Durations = { changePropagation: 5_000 };

export const ROUTE53_COUNTER_TYPES = {
  /** Created and deleted with the zone. */
  hostedZone: 'route53:hosted-zone',
  /** Created once per accepted ChangeResourceRecordSets. */
  changeBatch: 'route53:change-batch',
  /** Created once per applied change (CREATE, UPSERT or DELETE) of an accepted batch. */
  recordChange: 'route53:record-change',
  /** Record sets that came into being (CREATE, UPSERT of a new one) or went (DELETE); not the zone's own SOA and NS. */
  recordSet: 'route53:resource-record-set',
} as const;

/** Route 53 keeps a change's status for a while; the sandbox keeps this many. */
const CHANGES_KEPT = 10_000;
const MAX_RECORDS_PER_BATCH = 1_000;
const MAX_VALUE_CHARACTERS_PER_BATCH = 32_000;
const SOA_TTL = 900;
const NS_TTL = 172_800;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export interface Route53SimulatorOptions {
  clock: SimClock;
  counters: SandboxCounters;
  durations?: Partial<Route53Durations>;
  /** Whether EC2 holds this VPC (for private zones); without it any VPC is taken. */
  vpcExists?: (region: string, vpcId: string) => boolean;
  onChange?: () => void;
}

export interface Route53Simulator {
  createHostedZone(input: { name: string; callerReference: string; comment?: string; vpc?: { region: string; vpcId: string } }): { zone: HostedZoneRecord; change: ChangeRecord };
  /** By id, with or without `/hostedzone/`; `NoSuchHostedZone` otherwise. */
  hostedZone(id: string): HostedZoneRecord;
  /** In creation order. */
  listHostedZones(): HostedZoneRecord[];
  /** By reversed-label name, then id, as ListHostedZonesByName orders them. */
  hostedZonesByName(): HostedZoneRecord[];
  deleteHostedZone(id: string): ChangeRecord;
  changeResourceRecordSets(zoneId: string, batch: { changes: Array<{ action: ChangeAction; recordSet: RecordSetInput }>; comment?: string }): ChangeRecord;
  /** In ListResourceRecordSets order: reversed-label name, then type, then set identifier. */
  recordSets(zoneId: string): RecordSetRecord[];
  /** By id, with or without `/change/`; `NoSuchChange` otherwise. */
  change(id: string): { change: ChangeRecord; status: ChangeStatus };
  statusOf(change: ChangeRecord): ChangeStatus;
  inventory(): Array<{ id: string; name: string; privateZone: boolean; recordSets: number }>;
  snapshot(): Route53Snapshot;
  restore(snapshot: Route53Snapshot | undefined): void;
  reset(): void;
}

export function invalidInput(message: string): AwsError {
  return new AwsError('InvalidInput', message, { status: 400 });
}

function noSuchHostedZone(id: string): AwsError {
  return new AwsError('NoSuchHostedZone', `No hosted zone found with ID: ${id}`, { status: 404 });
}

/** Route 53's one error for a refused batch: every problem, in brackets, comma-separated. */
function invalidChangeBatch(messages: string[]): AwsError {
  return new AwsError('InvalidChangeBatch', `[${messages.join(', ')}]`, { status: 400 });
}

function randomId(prefix: string, length: number): string {
  return `${prefix}${[...randomBytes(length)].map((b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('')}`;
}

export function stripPrefix(id: string, prefix: 'hostedzone' | 'change'): string {
  return id.startsWith(`/${prefix}/`) ? id.slice(prefix.length + 2) : id;
}

/**
 * Four name servers in Route 53's pattern: one each under `.com`, `.net`, `.org` and `.co.uk`,
 * `ns-N.awsdns-NN` with the number picking the server and its group.
 */
function nameServersFor(zoneId: string): string[] {
  const digest = createHash('sha256').update(zoneId).digest();
  return ['com', 'net', 'org', 'co.uk'].map((tld, i) => {
    const n = i * 512 + (digest.readUInt16BE(i * 2) % 512);
    return `ns-${n}.awsdns-${String(Math.floor((n % 512) / 8)).padStart(2, '0')}.${tld}`;
  });
}

function describeRecordSet(r: { name: string; type: string; setIdentifier?: string | undefined }): string {
  return `[name='${r.name}', type='${r.type}'${r.setIdentifier !== undefined ? `, set-identifier='${r.setIdentifier}'` : ''}]`;
}

function sameIdentity(a: RecordSetRecord, b: RecordSetRecord): boolean {
  return a.name === b.name && a.type === b.type && a.setIdentifier === b.setIdentifier;
}

/** Whether a DELETE names the record set exactly as it is: values (in any order), TTL, alias target and routing. */
function sameContent(a: RecordSetRecord, b: RecordSetRecord): boolean {
  const values = (r: RecordSetRecord) => JSON.stringify([...(r.values ?? [])].sort());
  const alias = (r: RecordSetRecord) => JSON.stringify(r.aliasTarget === undefined ? null : [r.aliasTarget.hostedZoneId, r.aliasTarget.dnsName, r.aliasTarget.evaluateTargetHealth]);
  const routing = (r: RecordSetRecord) => JSON.stringify([r.weight, r.region, r.failover, r.multiValueAnswer, r.healthCheckId]);
  return a.ttl === b.ttl && values(a) === values(b) && alias(a) === alias(b) && routing(a) === routing(b);
}

export function compareRecordSets(a: RecordSetRecord, b: RecordSetRecord): number {
  return (
    compareText(reversedNameKey(a.name), reversedNameKey(b.name)) || compareText(a.type, b.type) || compareText(a.setIdentifier ?? '', b.setIdentifier ?? '')
  );
}

export function createRoute53Simulator(options: Route53SimulatorOptions): Route53Simulator {
  const { clock, counters } = options;
  const durations: Route53Durations = { ...DEFAULT_ROUTE53_DURATIONS, ...options.durations };
  let zones: HostedZoneRecord[] = [];
  let changes: ChangeRecord[] = [];
  const changed = () => options.onChange?.();

  function newChange(comment?: string): ChangeRecord {
    const change: ChangeRecord = { id: randomId('C0', 19), submittedAt: clock.now(), ...(comment !== undefined ? { comment } : {}) };
    changes.push(change);
    if (changes.length > CHANGES_KEPT) changes = changes.slice(changes.length - CHANGES_KEPT);
    return change;
  }

  function hostedZone(id: string): HostedZoneRecord {
    const bare = stripPrefix(id, 'hostedzone');
    const zone = zones.find((z) => z.id === bare);
    if (zone === undefined) throw noSuchHostedZone(bare);
    return zone;
  }

  function zoneName(input: string): string {
    let labels: string[];
    try {
      labels = decodedLabels(input);
    } catch (error) {
      if (error instanceof DnsNameError) throw new AwsError('InvalidDomainName', `${input} is not a valid domain name: ${error.message}`, { status: 400 });
      throw error;
    }
    if (labels.some((label) => !/^[a-z0-9_-]+$/.test(label))) {
      throw new AwsError('InvalidDomainName', `${input} is not a valid domain name: a label has characters other than a-z, 0-9, - and _`, { status: 400 });
    }
    const name = normalizeDnsName(input);
    if (labels.length === 1) throw new AwsError('InvalidDomainName', `${name} is reserved by AWS!`, { status: 400 });
    return name;
  }

  /** Reads one change's record set; structural mistakes are `InvalidInput` at once, value problems go to `problems`. */
  function recordSetOf(action: ChangeAction, input: RecordSetInput, problems: string[]): RecordSetRecord | undefined {
    const where = `Change with [Action=${action}, Name=${input.name}, Type=${input.type}, SetIdentifier=${input.setIdentifier ?? 'null'}]`;
    const plain = input.ttl !== undefined || input.values !== undefined;
    if (input.aliasTarget !== undefined && plain) {
      throw invalidInput(`Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in ${where}`);
    }
    if (input.aliasTarget === undefined && (input.ttl === undefined || input.values === undefined || input.values.length === 0)) {
      throw invalidInput(`Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in ${where}`);
    }
    if (input.ttl !== undefined && (!Number.isInteger(input.ttl) || input.ttl < 0 || input.ttl > 2_147_483_647)) {
      throw invalidInput(`Invalid request: TTL must be between 0 and 2147483647 in ${where}`);
    }
    const routed = [input.weight, input.region, input.failover, input.multiValueAnswer].some((v) => v !== undefined);
    if (routed !== (input.setIdentifier !== undefined)) {
      throw invalidInput(`Invalid request: a SetIdentifier goes with exactly one routing policy (Weight, Region, Failover or MultiValueAnswer) in ${where}`);
    }
    let name: string;
    try {
      name = normalizeDnsName(input.name);
    } catch (error) {
      if (!(error instanceof DnsNameError)) throw error;
      problems.push(`Invalid Resource Record: 'FATAL problem: InvalidDomainName (${error.message}) encountered with '${input.name}''`);
      return undefined;
    }
    const record: RecordSetRecord = { name, type: input.type };
    if (input.setIdentifier !== undefined) record.setIdentifier = input.setIdentifier;
    if (input.ttl !== undefined) record.ttl = input.ttl;
    if (input.values !== undefined) record.values = input.values.map((v) => v.trim());
    if (input.aliasTarget !== undefined) {
      let dnsName: string;
      try {
        dnsName = normalizeDnsName(input.aliasTarget.dnsName);
      } catch (error) {
        if (!(error instanceof DnsNameError)) throw error;
        problems.push(`Invalid Resource Record: 'FATAL problem: InvalidDomainName (${error.message}) encountered with '${input.aliasTarget.dnsName}''`);
        return undefined;
      }
      record.aliasTarget = { hostedZoneId: stripPrefix(input.aliasTarget.hostedZoneId, 'hostedzone'), dnsName, evaluateTargetHealth: input.aliasTarget.evaluateTargetHealth };
    }
    for (const key of ['weight', 'region', 'failover', 'multiValueAnswer', 'healthCheckId'] as const) {
      if (input[key] !== undefined) (record as unknown as Record<string, unknown>)[key] = input[key];
    }
    let valueProblems = 0;
    for (const value of record.values ?? []) {
      const found = recordValueProblems(record.type, value);
      valueProblems += found.length;
      problems.push(...found);
    }
    if (record.type === 'CNAME' && (record.values?.length ?? 0) > 1) {
      problems.push(`RRSet of type CNAME with DNS name ${name} contains more than one value`);
      valueProblems += 1;
    }
    return valueProblems === 0 ? record : undefined;
  }

  /** The problems of `record` being in `records` (which already holds it) at `zone`. */
  function placementProblems(zone: HostedZoneRecord, record: RecordSetRecord, records: RecordSetRecord[]): string[] {
    const atName = records.filter((r) => r.name === record.name && r !== record);
    if (record.type === 'CNAME') {
      const other = atName.find((r) => r.type !== 'CNAME');
      if (other !== undefined) {
        return [`RRSet of type CNAME with DNS name ${record.name} is not permitted because a conflicting RRSet of type ${other.type} with the same DNS name already exists in zone ${zone.name}`];
      }
    } else if (atName.some((r) => r.type === 'CNAME')) {
      return [`RRSet of type ${record.type} with DNS name ${record.name} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zone.name}`];
    }
    const sameType = atName.filter((r) => r.type === record.type);
    if (record.setIdentifier !== undefined && sameType.some((r) => r.setIdentifier === undefined)) {
      return [`RRSet with DNS name ${record.name}, type ${record.type}, SetIdentifier ${record.setIdentifier} cannot be created as a non-weighted set exists with the same name and type.`];
    }
    if (record.setIdentifier === undefined && sameType.some((r) => r.setIdentifier !== undefined)) {
      return [`RRSet with DNS name ${record.name}, type ${record.type} cannot be created as a weighted set exists with the same name and type.`];
    }
    return [];
  }

  /** An alias into a zone of the sandbox must name a record set of the same type there, as Route 53 checks. */
  function aliasProblems(zone: HostedZoneRecord, record: RecordSetRecord, records: RecordSetRecord[]): string[] {
    const alias = record.aliasTarget;
    if (alias === undefined) return [];
    const target = zones.find((z) => z.id === alias.hostedZoneId);
    if (target === undefined) return [];
    const prefix = `Tried to create an alias that targets ${alias.dnsName}, type ${record.type} in zone ${alias.hostedZoneId}`;
    if (!isWithinZone(alias.dnsName, target.name)) return [`${prefix}, but the alias target name does not lie within the target zone`];
    const pool = target === zone ? records : target.records;
    return pool.some((r) => r.name === alias.dnsName && r.type === record.type) ? [] : [`${prefix}, but that target was not found`];
  }

  function zoneProblems(zone: HostedZoneRecord, record: RecordSetRecord): string[] {
    if (!isWithinZone(record.name, zone.name)) return [`RRSet with DNS name ${record.name} is not permitted in zone ${zone.name}`];
    if (record.type === 'CNAME' && record.name === zone.name) return [`RRSet of type CNAME with DNS name ${record.name} is not permitted at apex in zone ${zone.name}`];
    if (record.type === 'SOA' && record.name !== zone.name) return [`RRSet of type SOA with DNS name ${record.name} is not permitted: SOA is only permitted at apex in zone ${zone.name}`];
    return [];
  }

  function countRecords(batch: Array<{ action: ChangeAction; recordSet: RecordSetInput }>): void {
    let records = 0;
    let characters = 0;
    for (const { action, recordSet } of batch) {
      const weight = action === 'UPSERT' ? 2 : 1;
      records += weight * (recordSet.values?.length ?? 1);
      characters += weight * (recordSet.values ?? []).reduce((sum, v) => sum + v.length, 0);
    }
    if (records > MAX_RECORDS_PER_BATCH) throw invalidChangeBatch([`Number of records limit of ${MAX_RECORDS_PER_BATCH} exceeded.`]);
    if (characters > MAX_VALUE_CHARACTERS_PER_BATCH) throw invalidChangeBatch([`Number of characters in Value elements limit of ${MAX_VALUE_CHARACTERS_PER_BATCH} exceeded.`]);
  }

  function statusOf(change: ChangeRecord): ChangeStatus {
    return clock.elapsed(change.submittedAt, durations.changePropagation) ? 'INSYNC' : 'PENDING';
  }

  const sorted = (records: RecordSetRecord[]) => [...records].sort(compareRecordSets);

  return {
    hostedZone,
    statusOf,

    createHostedZone(input) {
      if (input.callerReference === '' || input.callerReference.length > 128) {
        throw invalidInput('Invalid request: CallerReference must be 1 to 128 characters long.');
      }
      const name = zoneName(input.name);
      if (zones.some((z) => z.callerReference === input.callerReference)) {
        throw new AwsError('HostedZoneAlreadyExists', `A hosted zone has already been created with the specified caller reference.`, { status: 409 });
      }
      if (input.comment !== undefined && input.comment.length > 256) throw invalidInput('Invalid request: Comment must be at most 256 characters long.');
      const vpc = input.vpc;
      if (vpc !== undefined && options.vpcExists !== undefined && !options.vpcExists(vpc.region, vpc.vpcId)) {
        throw new AwsError('InvalidVPCId', `The VPC ${vpc.vpcId} in region ${vpc.region} has not been found.`, { status: 400 });
      }
      let id = randomId('Z0', 19);
      while (zones.some((z) => z.id === id)) id = randomId('Z0', 19);
      const nameServers = nameServersFor(id);
      const zone: HostedZoneRecord = {
        id,
        name,
        callerReference: input.callerReference,
        ...(input.comment !== undefined ? { comment: input.comment } : {}),
        privateZone: vpc !== undefined,
        vpcs: vpc !== undefined ? [{ ...vpc }] : [],
        nameServers,
        records: [
          { name, type: 'NS', ttl: NS_TTL, values: nameServers.map((ns) => `${ns}.`) },
          { name, type: 'SOA', ttl: SOA_TTL, values: [`${nameServers[0]}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`] },
        ],
        createdAt: clock.now(),
      };
      zones.push(zone);
      const change = newChange();
      counters.created(ROUTE53_COUNTER_TYPES.hostedZone);
      changed();
      return { zone, change };
    },

    listHostedZones: () => [...zones],

    hostedZonesByName: () => [...zones].sort((a, b) => compareText(reversedNameKey(a.name), reversedNameKey(b.name)) || compareText(a.id, b.id)),

    deleteHostedZone(id) {
      const zone = hostedZone(id);
      if (zone.records.some((r) => !(r.name === zone.name && (r.type === 'SOA' || r.type === 'NS')))) {
        throw new AwsError('HostedZoneNotEmpty', 'The specified hosted zone contains non-required resource record sets and so cannot be deleted.', { status: 400 });
      }
      zones = zones.filter((z) => z !== zone);
      const change = newChange();
      counters.deleted(ROUTE53_COUNTER_TYPES.hostedZone);
      changed();
      return change;
    },

    changeResourceRecordSets(zoneId, batch) {
      const zone = hostedZone(zoneId);
      if (batch.changes.length === 0) throw invalidInput('Invalid request: ChangeBatch must contain at least one Change.');
      countRecords(batch.changes);
      const problems: string[] = [];
      let records = [...zone.records];
      const seen = new Set<string>();
      const applied = { created: 0, deleted: 0 };
      for (const { action, recordSet } of batch.changes) {
        const record = recordSetOf(action, recordSet, problems);
        if (record === undefined) continue;
        const identity = `${action} ${record.name} ${record.type} ${record.setIdentifier ?? ''}`;
        if (seen.has(identity)) {
          problems.push(`The request contains an invalid set of changes for a resource record set '${record.type} ${record.name}'`);
          continue;
        }
        seen.add(identity);
        const outside = zoneProblems(zone, record);
        if (outside.length > 0) {
          problems.push(...outside);
          continue;
        }
        const existing = records.find((r) => sameIdentity(r, record));
        if (action === 'DELETE') {
          if (existing === undefined) problems.push(`Tried to delete resource record set ${describeRecordSet(record)} but it was not found`);
          else if (!sameContent(existing, record)) problems.push(`Tried to delete resource record set ${describeRecordSet(record)} but the values provided do not match the current values`);
          else {
            records = records.filter((r) => r !== existing);
            applied.deleted += 1;
          }
          continue;
        }
        if (action === 'CREATE' && existing !== undefined) {
          problems.push(`Tried to create resource record set ${describeRecordSet(record)} but it already exists`);
          continue;
        }
        const next = existing === undefined ? [...records, record] : records.map((r) => (r === existing ? record : r));
        const found = [...placementProblems(zone, record, next), ...aliasProblems(zone, record, next)];
        if (found.length > 0) {
          problems.push(...found);
          continue;
        }
        records = next;
        if (existing === undefined) applied.created += 1;
      }
      if (!records.some((r) => r.name === zone.name && r.type === 'SOA')) problems.push('A HostedZone must contain exactly one SOA record.');
      if (!records.some((r) => r.name === zone.name && r.type === 'NS')) problems.push('A HostedZone must contain at least one NS record for the zone itself.');
      if (problems.length > 0) throw invalidChangeBatch(problems);

      zone.records = records;
      const change = newChange(batch.comment);
      counters.created(ROUTE53_COUNTER_TYPES.changeBatch);
      for (let i = 0; i < batch.changes.length; i += 1) counters.created(ROUTE53_COUNTER_TYPES.recordChange);
      for (let i = 0; i < applied.created; i += 1) counters.created(ROUTE53_COUNTER_TYPES.recordSet);
      for (let i = 0; i < applied.deleted; i += 1) counters.deleted(ROUTE53_COUNTER_TYPES.recordSet);
      changed();
      return change;
    },

    recordSets: (zoneId) => sorted(hostedZone(zoneId).records),

    change(id) {
      const bare = stripPrefix(id, 'change');
      const change = changes.find((c) => c.id === bare);
      if (change === undefined) throw new AwsError('NoSuchChange', `A change with the specified change ID does not exist.`, { status: 404 });
      return { change, status: statusOf(change) };
    },

    inventory: () => zones.map((z) => ({ id: z.id, name: z.name, privateZone: z.privateZone, recordSets: z.records.length })),

    snapshot: () => structuredClone({ zones, changes }),
    restore(snapshot) {
      zones = structuredClone(snapshot?.zones ?? []);
      changes = structuredClone(snapshot?.changes ?? []);
    },
    reset() {
      zones = [];
      changes = [];
    },
  };
}
