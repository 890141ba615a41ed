/**
 * The DNS records of an exposure in its domain's Route 53 zone: a CNAME from the host to the
 * gateway's load balancer, and beside it a TXT record that says Tugboat owns it (at
 * `_tugboat.<host>`: a TXT cannot share a name with a CNAME). Tugboat changes or deletes only
 * records whose owner TXT names this installation and this exposure, so it never overwrites
 * or removes a record someone else made; it never creates over one either (Route 53 refuses a
 * CREATE of an existing record, so a race is refused by Route 53 itself).
 *
 * Changes to one zone are batched (one ChangeResourceRecordSets for the exposures that change
 * within a short window, as Route 53's rate limit per zone asks) and waited for until INSYNC.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { awsCode } from '@tugboat/aws';

/** Who owns a record: this Tugboat installation's exposure `project/name`. */
export interface RecordOwner {
  installation: string;
  project: string;
  name: string;
}

/** The longest one batched change may take (the client's own request timeout usually ends it first). */
const BATCH_TIMEOUT_MS = 60_000;

/** The TTL of the records Tugboat writes: short, so a moved load balancer is followed quickly. */
export const RECORD_TTL = 60;

const dotted = (name: string) => (name.endsWith('.') ? name : `${name}.`);
export const ownerRecordName = (fqdn: string) => dotted(`_tugboat.${fqdn}`);
export const ownerRecordValue = (owner: RecordOwner) => `"heritage=tugboat,tugboat/installation=${owner.installation},tugboat/exposure=${owner.project}/${owner.name}"`;

/** What is at the host in the zone now: every record set at its name, and the owner TXT. */
export interface HostRecords {
  atHost: ResourceRecordSet[];
  owner: ResourceRecordSet | undefined;
}

/** The record sets named exactly `name` (Route 53 lists from `name` on, in its order). */
async function recordsNamed(route53: Route53Client, zoneId: string, name: string, signal: AbortSignal): Promise<ResourceRecordSet[]> {
  const answer = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, MaxItems: 20 }), { abortSignal: signal });
  return (answer.ResourceRecordSets ?? []).filter((set) => set.Name === name);
}

export async function readHostRecords(route53: Route53Client, zoneId: string, fqdn: string, signal: AbortSignal): Promise<HostRecords> {
  const [atHost, owners] = await Promise.all([recordsNamed(route53, zoneId, dotted(fqdn), signal), recordsNamed(route53, zoneId, ownerRecordName(fqdn), signal)]);
  return { atHost, owner: owners.find((set) => set.Type === 'TXT') };
}

const cnameTarget = (set: ResourceRecordSet | undefined) => set?.ResourceRecords?.[0]?.Value;
const owns = (records: HostRecords, owner: RecordOwner) => records.owner?.ResourceRecords?.some((record) => record.Value === ownerRecordValue(owner)) === true;

const describeSet = (set: ResourceRecordSet) =>
  `${set.Type} ${set.Name?.replace(/\.$/, '')}${set.ResourceRecords?.length ? ` (${set.ResourceRecords.map((r) => r.Value).join(', ')})` : set.AliasTarget ? ` (alias to ${set.AliasTarget.DNSName})` : ''}`;

export type RecordPlan =
  | { kind: 'inSync' }
  | { kind: 'change'; changes: Change[]; what: string }
  /** Records someone else made stand where this exposure's would: left untouched. */
  | { kind: 'notOwned'; message: string };

/** The changes that make the host a CNAME to `target`, owned by `owner` — or why Tugboat may not. */
export function planHost(fqdn: string, target: string, records: HostRecords, owner: RecordOwner): RecordPlan {
  const name = dotted(fqdn);
  const cname = records.atHost.find((set) => set.Type === 'CNAME');
  const others = records.atHost.filter((set) => set.Type !== 'CNAME');
  const ours = owns(records, owner);
  if (!ours && (records.atHost.length > 0 || records.owner !== undefined)) {
    const found = [...records.atHost, ...(records.owner ? [records.owner] : [])];
    return {
      kind: 'notOwned',
      message: `Route 53 already has ${found.map(describeSet).join(' and ')}, which Tugboat did not write for this exposure (no TXT ${ownerRecordName(fqdn).replace(/\.$/, '')} naming it): left untouched; delete it or choose another host`,
    };
  }
  if (others.length > 0) {
    return { kind: 'notOwned', message: `Route 53 has ${others.map(describeSet).join(' and ')} at the host, beside Tugboat's record: a CNAME cannot share its name; delete them` };
  }
  const record: ResourceRecordSet = { Name: name, Type: 'CNAME', TTL: RECORD_TTL, ResourceRecords: [{ Value: target }] };
  const ownerRecord: ResourceRecordSet = { Name: ownerRecordName(fqdn), Type: 'TXT', TTL: RECORD_TTL, ResourceRecords: [{ Value: ownerRecordValue(owner) }] };
  if (!ours) {
    return { kind: 'change', changes: [{ Action: 'CREATE', ResourceRecordSet: ownerRecord }, { Action: 'CREATE', ResourceRecordSet: record }], what: `created CNAME ${fqdn} → ${target}` };
  }
  if (cname === undefined) return { kind: 'change', changes: [{ Action: 'CREATE', ResourceRecordSet: record }], what: `created CNAME ${fqdn} → ${target}` };
  if (cnameTarget(cname) === target && cname.TTL === RECORD_TTL) return { kind: 'inSync' };
  return { kind: 'change', changes: [{ Action: 'UPSERT', ResourceRecordSet: record }], what: `moved CNAME ${fqdn} from ${cnameTarget(cname) ?? 'nothing'} to ${target}` };
}

/** The changes that remove the exposure's records: only when its owner TXT proves they are its own (exact values, as DELETE requires). */
export function planRemoval(records: HostRecords, owner: RecordOwner): Change[] {
  if (!owns(records, owner)) return [];
  const cname = records.atHost.find((set) => set.Type === 'CNAME');
  return [...(cname ? [{ Action: 'DELETE' as const, ResourceRecordSet: cname }] : []), { Action: 'DELETE' as const, ResourceRecordSet: records.owner! }];
}

interface Pending {
  changes: Change[];
  resolve(changeId: string): void;
  reject(error: unknown): void;
}

/**
 * Batches changes per zone: the first submission opens a window of `windowMs`; everything
 * submitted to that zone within it goes in one ChangeResourceRecordSets. A batch Route 53 refuses
 * (all or nothing) is sent again change set by change set, so one exposure's bad change does not
 * fail the others'.
 */
export function createZoneBatcher(options: { windowMs?: number } = {}) {
  const windowMs = options.windowMs ?? 100;
  const open = new Map<string, { route53: Route53Client; zoneId: string; pending: Pending[] }>();

  async function send(route53: Route53Client, zoneId: string, changes: Change[]): Promise<string> {
    // One batch serves several reconciles, so none of their signals may cancel it; it has its own bound.
    const answer = await route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Comment: 'Tugboat exposures', Changes: changes } }), { abortSignal: AbortSignal.timeout(BATCH_TIMEOUT_MS) });
    const id = answer.ChangeInfo?.Id;
    if (id === undefined) throw new Error('Route 53 answered ChangeResourceRecordSets without a change id');
    return id;
  }

  async function flush(key: string): Promise<void> {
    const batch = open.get(key);
    open.delete(key);
    if (batch === undefined) return;
    try {
      const id = await send(batch.route53, batch.zoneId, batch.pending.flatMap((entry) => entry.changes));
      for (const entry of batch.pending) entry.resolve(id);
    } catch (error) {
      if (batch.pending.length === 1 || awsCode(error) !== 'InvalidChangeBatch') {
        for (const entry of batch.pending) entry.reject(error);
        return;
      }
      for (const entry of batch.pending) send(batch.route53, batch.zoneId, entry.changes).then(entry.resolve, entry.reject);
    }
  }

  return {
    /** Sends `changes` to the zone (with whatever else is submitted to it within the window); the change id to wait on. `key` separates accounts. */
    submit(key: string, route53: Route53Client, zoneId: string, changes: Change[]): Promise<string> {
      return new Promise<string>((resolve, reject) => {
        const batchKey = `${key}/${zoneId}`;
        const batch = open.get(batchKey);
        if (batch !== undefined) {
          batch.pending.push({ changes, resolve, reject });
          return;
        }
        open.set(batchKey, { route53, zoneId, pending: [{ changes, resolve, reject }] });
        setTimeout(() => void flush(batchKey), windowMs).unref();
      });
    },
  };
}

export type ZoneBatcher = ReturnType<typeof createZoneBatcher>;

/** Polls a change until Route 53 says INSYNC, for at most `withinMs`; `false` when it is still PENDING then. */
export async function waitInSync(route53: Route53Client, changeId: string, options: { pollMs: number; withinMs: number; signal: AbortSignal; sleep: (ms: number, signal: AbortSignal) => Promise<void> }): Promise<boolean> {
  const deadline = Date.now() + options.withinMs;
  for (;;) {
    const answer = await route53.send(new GetChangeCommand({ Id: changeId }), { abortSignal: options.signal });
    if (answer.ChangeInfo?.Status === 'INSYNC') return true;
    if (Date.now() + options.pollMs > deadline) return false;
    await options.sleep(options.pollMs, options.signal);
  }
}
