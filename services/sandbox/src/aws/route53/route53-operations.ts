/**
 * Route 53 on the wire (REST-XML under `/2013-04-01/`, signing name `route53`, global): reads each
 * request's XML body and query, calls the simulator, and answers with Route 53's element names.
 * Ids go out as `/hostedzone/Z…` and `/change/C…` and come in with or without those prefixes.
 */
import { AwsError } from '../aws-error.js';
import type { AwsOperation, AwsOperationContext } from '../aws-operation.js';
import { compareText, DnsNameError, normalizeDnsName, reversedNameKey } from './route53-names.js';
import { RECORD_TYPES } from './route53-record-values.js';
import {
  compareRecordSets,
  invalidInput,
  stripPrefix,
  type ChangeAction,
  type ChangeRecord,
  type HostedZoneRecord,
  type RecordSetInput,
  type RecordSetRecord,
  type Route53Simulator,
} from './route53-simulator.js';

export const ROUTE53_XML_NAMESPACE = 'https://route53.amazonaws.com/doc/2013-04-01/';
const API = '/2013-04-01';
const LIST_RECORD_SETS_MAX_ITEMS = 300;
const LIST_ZONES_MAX_ITEMS = 100;

type Xml = Record<string, unknown>;

/** The request's root element (`CreateHostedZoneRequest`), as Route 53 insists on it. */
function requestElement(ctx: AwsOperationContext, root: string): Xml {
  const element = ctx.input[root];
  if (typeof element !== 'object' || element === null) {
    const found = Object.keys(ctx.input).find((key) => !key.startsWith('?')) ?? 'nothing';
    throw new AwsError('MalformedInput', `${found} is not valid, expected ${root}`, { status: 400 });
  }
  return element as Xml;
}

/** An XML list: absent is empty, one element is an object, several an array. */
function list(value: unknown): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

function child(parent: Xml, name: string): Xml | undefined {
  const value = parent[name];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Xml) : undefined;
}

function text(parent: Xml, name: string): string | undefined {
  const value = parent[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidInput(`Invalid request: ${name} must be text.`);
  return value;
}

function required(parent: Xml, name: string): string {
  const value = text(parent, name);
  if (value === undefined || value === '') throw invalidInput(`Invalid request: Missing required field ${name}.`);
  return value;
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw invalidInput(`Invalid request: ${name} must be an integer, got '${value}'.`);
  return Number(value);
}

function boolean(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw invalidInput(`Invalid request: ${name} must be true or false, got '${value}'.`);
  return value === 'true';
}

function maxItems(ctx: AwsOperationContext, limit: number): number {
  const value = integer(ctx.query.get('maxitems') ?? undefined, 'maxitems') ?? limit;
  if (value < 1) throw invalidInput('Invalid request: maxitems must be at least 1.');
  return Math.min(value, limit);
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function queryName(value: string, name: string): string {
  try {
    return normalizeDnsName(value);
  } catch (error) {
    if (error instanceof DnsNameError) throw new AwsError('InvalidDomainName', `${name} '${value}' is not a valid domain name: ${error.message}`, { status: 400 });
    throw error;
  }
}

function recordSetInput(element: Xml): RecordSetInput {
  const type = required(element, 'Type');
  if (!(RECORD_TYPES as readonly string[]).includes(type)) {
    throw invalidInput(`Invalid request: Type '${type}' is not one of ${RECORD_TYPES.join(', ')}.`);
  }
  const records = child(element, 'ResourceRecords');
  const alias = child(element, 'AliasTarget');
  const input: RecordSetInput = { name: required(element, 'Name'), type };
  const setIdentifier = text(element, 'SetIdentifier');
  if (setIdentifier !== undefined) input.setIdentifier = setIdentifier;
  const ttl = integer(text(element, 'TTL'), 'TTL');
  if (ttl !== undefined) input.ttl = ttl;
  if (records !== undefined || element.ResourceRecords === '') {
    input.values = list(records?.ResourceRecord).map((item) => required((item ?? {}) as Xml, 'Value'));
  }
  if (alias !== undefined) {
    input.aliasTarget = {
      hostedZoneId: required(alias, 'HostedZoneId'),
      dnsName: required(alias, 'DNSName'),
      evaluateTargetHealth: boolean(required(alias, 'EvaluateTargetHealth'), 'EvaluateTargetHealth') as boolean,
    };
  }
  const weight = integer(text(element, 'Weight'), 'Weight');
  if (weight !== undefined) input.weight = weight;
  const region = text(element, 'Region');
  if (region !== undefined) input.region = region;
  const failover = text(element, 'Failover');
  if (failover !== undefined) input.failover = failover;
  const multiValueAnswer = boolean(text(element, 'MultiValueAnswer'), 'MultiValueAnswer');
  if (multiValueAnswer !== undefined) input.multiValueAnswer = multiValueAnswer;
  const healthCheckId = text(element, 'HealthCheckId');
  if (healthCheckId !== undefined) input.healthCheckId = healthCheckId;
  return input;
}

function changeAction(value: string): ChangeAction {
  if (value !== 'CREATE' && value !== 'DELETE' && value !== 'UPSERT') throw invalidInput(`Invalid request: Action '${value}' is not one of CREATE, DELETE, UPSERT.`);
  return value;
}

function hostedZoneXml(zone: HostedZoneRecord): Xml {
  return {
    Id: `/hostedzone/${zone.id}`,
    Name: zone.name,
    CallerReference: zone.callerReference,
    Config: { ...optional('Comment', zone.comment), PrivateZone: zone.privateZone },
    ResourceRecordSetCount: zone.records.length,
  };
}

function delegationSetXml(zone: HostedZoneRecord): Xml | undefined {
  return zone.privateZone ? undefined : { NameServers: { NameServer: [...zone.nameServers] } };
}

function vpcsXml(zone: HostedZoneRecord): Xml | undefined {
  return zone.privateZone ? { VPC: zone.vpcs.map((v) => ({ VPCRegion: v.region, VPCId: v.vpcId })) } : undefined;
}

function recordSetXml(r: RecordSetRecord): Xml {
  return {
    Name: r.name,
    Type: r.type,
    ...optional('SetIdentifier', r.setIdentifier),
    ...optional('Weight', r.weight),
    ...optional('Region', r.region),
    ...optional('Failover', r.failover),
    ...optional('MultiValueAnswer', r.multiValueAnswer),
    ...optional('TTL', r.ttl),
    ...optional('ResourceRecords', r.values === undefined ? undefined : { ResourceRecord: r.values.map((Value) => ({ Value })) }),
    ...optional(
      'AliasTarget',
      r.aliasTarget === undefined ? undefined : { HostedZoneId: r.aliasTarget.hostedZoneId, DNSName: r.aliasTarget.dnsName, EvaluateTargetHealth: r.aliasTarget.evaluateTargetHealth },
    ),
    ...optional('HealthCheckId', r.healthCheckId),
  };
}

export interface Route53OperationsOptions {
  route53: Route53Simulator;
}

export function route53Operations(options: Route53OperationsOptions): AwsOperation[] {
  const { route53 } = options;
  const op = (
    operation: string,
    http: { method: string; path: string; status?: number; headers?: Record<string, string> },
    handler: (ctx: AwsOperationContext) => unknown,
  ): AwsOperation => ({
    service: 'route53',
    protocol: 'rest-xml',
    operation,
    http: { ...http, path: `${API}${http.path}` },
    xmlNamespace: ROUTE53_XML_NAMESPACE,
    handler,
  });
  const changeInfo = (change: ChangeRecord) => ({
    Id: `/change/${change.id}`,
    Status: route53.statusOf(change),
    SubmittedAt: new Date(change.submittedAt).toISOString(),
    ...optional('Comment', change.comment),
  });
  const zoneParam = (ctx: AwsOperationContext, name: string) => stripPrefix(ctx.params[name] ?? '', 'hostedzone');

  return [
    op('CreateHostedZone', { method: 'POST', path: '/hostedzone', status: 201, headers: { Location: 'location' } }, (ctx) => {
      const request = requestElement(ctx, 'CreateHostedZoneRequest');
      const config = child(request, 'HostedZoneConfig') ?? {};
      const vpc = child(request, 'VPC');
      const { zone, change } = route53.createHostedZone({
        name: required(request, 'Name'),
        callerReference: required(request, 'CallerReference'),
        ...optional('comment', text(config, 'Comment')),
        ...optional('vpc', vpc === undefined ? undefined : { region: required(vpc, 'VPCRegion'), vpcId: required(vpc, 'VPCId') }),
      });
      return {
        HostedZone: hostedZoneXml(zone),
        ChangeInfo: changeInfo(change),
        ...optional('DelegationSet', delegationSetXml(zone)),
        ...optional('VPC', vpc === undefined ? undefined : { VPCRegion: zone.vpcs[0]?.region, VPCId: zone.vpcs[0]?.vpcId }),
        Location: `https://route53.amazonaws.com${API}/hostedzone/${zone.id}`,
      };
    }),

    op('GetHostedZone', { method: 'GET', path: '/hostedzone/{Id}' }, (ctx) => {
      const zone = route53.hostedZone(zoneParam(ctx, 'Id'));
      return { HostedZone: hostedZoneXml(zone), ...optional('DelegationSet', delegationSetXml(zone)), ...optional('VPCs', vpcsXml(zone)) };
    }),

    op('GetHostedZoneCount', { method: 'GET', path: '/hostedzonecount' }, () => ({ HostedZoneCount: route53.listHostedZones().length })),

    op('ListHostedZones', { method: 'GET', path: '/hostedzone' }, (ctx) => {
      const limit = maxItems(ctx, LIST_ZONES_MAX_ITEMS);
      if (ctx.query.get('delegationsetid')) {
        throw new AwsError('NoSuchDelegationSet', `A reusable delegation set with the specified ID does not exist.`, { status: 400 });
      }
      const type = ctx.query.get('hostedzonetype');
      if (type !== null && type !== 'PrivateHostedZone') throw invalidInput(`Invalid request: hostedzonetype '${type}' is not PrivateHostedZone.`);
      const zones = route53.listHostedZones().filter((z) => type === null || z.privateZone);
      const marker = ctx.query.get('marker');
      const start = marker === null || marker === '' ? 0 : zones.findIndex((z) => z.id === stripPrefix(marker, 'hostedzone'));
      if (start < 0) throw invalidInput(`Invalid request: the marker '${marker}' is not a hosted zone of this listing.`);
      const page = zones.slice(start, start + limit);
      const next = zones[start + limit];
      return {
        HostedZones: { HostedZone: page.map(hostedZoneXml) },
        Marker: marker ?? '',
        IsTruncated: next !== undefined,
        ...optional('NextMarker', next?.id),
        MaxItems: limit,
      };
    }),

    op('ListHostedZonesByName', { method: 'GET', path: '/hostedzonesbyname' }, (ctx) => {
      const limit = maxItems(ctx, LIST_ZONES_MAX_ITEMS);
      const dnsName = ctx.query.get('dnsname') ?? undefined;
      const zoneId = ctx.query.get('hostedzoneid') ?? undefined;
      if (zoneId !== undefined && dnsName === undefined) throw invalidInput('Invalid request: hostedzoneid requires dnsname.');
      const zones = route53.hostedZonesByName();
      let start = 0;
      if (dnsName !== undefined) {
        const key = reversedNameKey(queryName(dnsName, 'dnsname'));
        const id = zoneId === undefined ? '' : stripPrefix(zoneId, 'hostedzone');
        start = zones.findIndex((z) => (compareText(reversedNameKey(z.name), key) || compareText(z.id, id)) >= 0);
        if (start < 0) start = zones.length;
      }
      const page = zones.slice(start, start + limit);
      const next = zones[start + limit];
      return {
        HostedZones: { HostedZone: page.map(hostedZoneXml) },
        ...optional('DNSName', dnsName),
        ...optional('HostedZoneId', zoneId),
        IsTruncated: next !== undefined,
        ...optional('NextDNSName', next?.name),
        ...optional('NextHostedZoneId', next?.id),
        MaxItems: limit,
      };
    }),

    op('DeleteHostedZone', { method: 'DELETE', path: '/hostedzone/{Id}' }, (ctx) => ({ ChangeInfo: changeInfo(route53.deleteHostedZone(zoneParam(ctx, 'Id'))) })),

    op('ChangeResourceRecordSets', { method: 'POST', path: '/hostedzone/{Id}/rrset' }, (ctx) => {
      const request = requestElement(ctx, 'ChangeResourceRecordSetsRequest');
      const batch = child(request, 'ChangeBatch');
      if (batch === undefined) throw invalidInput('Invalid request: Missing required field ChangeBatch.');
      const changes = list(child(batch, 'Changes')?.Change).map((item) => {
        const element = (item ?? {}) as Xml;
        const recordSet = child(element, 'ResourceRecordSet');
        if (recordSet === undefined) throw invalidInput('Invalid request: Missing required field ResourceRecordSet.');
        return { action: changeAction(required(element, 'Action')), recordSet: recordSetInput(recordSet) };
      });
      const comment = text(batch, 'Comment');
      return { ChangeInfo: changeInfo(route53.changeResourceRecordSets(zoneParam(ctx, 'Id'), { changes, ...optional('comment', comment) })) };
    }),

    op('ListResourceRecordSets', { method: 'GET', path: '/hostedzone/{Id}/rrset' }, (ctx) => {
      const records = route53.recordSets(zoneParam(ctx, 'Id'));
      const limit = maxItems(ctx, LIST_RECORD_SETS_MAX_ITEMS);
      const name = ctx.query.get('name') ?? undefined;
      const type = ctx.query.get('type') ?? undefined;
      const identifier = ctx.query.get('identifier') ?? undefined;
      if (type !== undefined && name === undefined) throw invalidInput('Invalid request: type requires name.');
      if (identifier !== undefined && type === undefined) throw invalidInput('Invalid request: identifier requires name and type.');
      let start = 0;
      if (name !== undefined) {
        const from: RecordSetRecord = { name: queryName(name, 'name'), type: type ?? '', ...optional('setIdentifier', identifier) };
        start = records.findIndex((r) => compareRecordSets(r, from) >= 0);
        if (start < 0) start = records.length;
      }
      const page = records.slice(start, start + limit);
      const next = records[start + limit];
      return {
        ResourceRecordSets: { ResourceRecordSet: page.map(recordSetXml) },
        IsTruncated: next !== undefined,
        ...optional('NextRecordName', next?.name),
        ...optional('NextRecordType', next?.type),
        ...optional('NextRecordIdentifier', next?.setIdentifier),
        MaxItems: limit,
      };
    }),

    op('GetChange', { method: 'GET', path: '/change/{Id}' }, (ctx) => {
      const { change } = route53.change(stripPrefix(ctx.params.Id ?? '', 'change'));
      return { ChangeInfo: changeInfo(change) };
    }),
  ];
}
