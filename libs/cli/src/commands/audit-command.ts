import type { Command } from 'commander';
import type { AuditQuery, AuditRecord } from '@tugboat/api-client';
import type { CommandContext } from '../command-context.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatTable } from '../format-table.js';
import { parseCount } from '../parse-count.js';
import { UsageError } from '../usage-error.js';

interface AuditFlags {
  project?: string;
  identity?: string;
  kind?: string;
  action?: string;
  since?: string;
  until?: string;
  limit: string;
  output: string;
}

/** The most records one `tug audit` shows (pages of at most 1000 are fetched until then). */
export const MAX_AUDIT_RECORDS = 100_000;
/** The API's largest page. */
const PAGE = 1000;

const AGO_UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since` / `--until`: a time ago (`30m`, `1h`, `7d`) or a time (`2027-01-31`,
 * `2027-01-31T12:00:00Z`), as the RFC 3339 time the API takes.
 */
export function parseAuditTime(text: string, option: string, now: number): string {
  const value = text.trim();
  const ago = /^(\d{1,7})([smhd])$/.exec(value);
  if (ago) return new Date(now - Number(ago[1]) * AGO_UNITS_MS[ago[2]!]!).toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`))) return `${value}T00:00:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(value) && !Number.isNaN(Date.parse(value))) return value;
  throw new UsageError(`${option}: "${text}" is neither a time ago (30m, 1h, 7d) nor a time (2027-01-31, 2027-01-31T12:00:00Z)`, [{ path: option, rule: 'date-time' }]);
}

/** `Kind/project/name`, `Kind/name` outside projects, `token/name` and `kind/Kind` for tokens and kinds. */
export function auditObject(record: AuditRecord): string {
  if (record.kind === null) return record.name === null ? '-' : `token/${record.name}`;
  if (record.name === null) return `kind/${record.kind}`;
  return `${record.kind}/${record.project ? `${record.project}/` : ''}${record.name}`;
}

export const AUDIT_COLUMNS = ['TIME', 'ACTOR', 'TOKEN', 'ACTION', 'OBJECT', 'OUTCOME', 'REQUEST'] as const;

export function auditRow(record: AuditRecord): string[] {
  return [
    // To the second: the order of the rows says the rest (newest first).
    record.at.replace(/\.\d+Z$/, 'Z'),
    record.actor,
    record.token ?? '-',
    record.action,
    auditObject(record),
    record.outcome === 'success' ? 'success' : `${record.outcome} ${record.status}`,
    record.requestId ?? '-',
  ];
}

export function registerAuditCommand(program: Command, context: CommandContext): void {
  program
    .command('audit')
    .description('show the audit trail: who changed what (and read which secrets), with which token, from where, and how it ended')
    .option('-p, --project <project>', 'only records of this project')
    .option('--identity <name>', 'only what this identity (user or controller) did')
    .option('--kind <kind>', 'only records about objects of this kind (any of its names)')
    .option('--action <action>', 'only this action (create, update, patch, delete, writeStatus, readSecrets, createToken …)')
    .option('--since <when>', 'only records since: a time ago (30m, 1h, 7d) or a time (2027-01-31, 2027-01-31T12:00:00Z)')
    .option('--until <when>', 'only records before: as --since')
    .option('--limit <n>', `show at most this many records, newest first (at most ${MAX_AUDIT_RECORDS})`, '100')
    .option('-o, --output <format>', 'table, yaml or json (every field: source address, status, detail)', 'table')
    .addHelpText(
      'after',
      `
Every change (create, update, delete, status, finalizers, operator controls,
events, kinds, tokens) and every read of secret fields leaves one record,
written in the same database transaction as the change itself; refused (403)
and failed requests leave one too. Records are kept TUGBOAT_AUDIT_MAX_AGE_DAYS
(default 90 days). Reading the trail is for the platform admin.

Examples:
  tug audit --since 1h
  tug audit -p team-a --kind app --limit 500
  tug audit --identity ci-pipeline -o json`,
    )
    .action(async (flags: AuditFlags, command: Command) => {
      const format = parseOutputFormat(flags.output, ['table', 'yaml', 'json']);
      const limit = parseCount(flags.limit, '--limit');
      if (limit < 1 || limit > MAX_AUDIT_RECORDS) throw new UsageError(`--limit: must be from 1 to ${MAX_AUDIT_RECORDS}`, [{ path: '--limit', rule: 'range' }]);
      const now = (context.io.now ?? Date.now)();
      const query: AuditQuery = {
        ...(flags.project === undefined ? {} : { project: flags.project }),
        ...(flags.identity === undefined ? {} : { identity: flags.identity }),
        ...(flags.kind === undefined ? {} : { kind: flags.kind }),
        ...(flags.action === undefined ? {} : { action: flags.action }),
        ...(flags.since === undefined ? {} : { since: parseAuditTime(flags.since, '--since', now) }),
        ...(flags.until === undefined ? {} : { until: parseAuditTime(flags.until, '--until', now) }),
      };
      const { client } = await context.connect(command);
      const records: AuditRecord[] = [];
      let cont: string | undefined;
      do {
        const page = await client.listAudit({ ...query, limit: Math.min(PAGE, limit - records.length), ...(cont ? { continue: cont } : {}) }, { signal: context.io.signal });
        records.push(...page.items);
        cont = page.metadata.continue;
      } while (cont !== undefined && records.length < limit);
      if (format !== 'table') {
        context.out(formatDocument({ items: records }, format));
        return;
      }
      if (records.length === 0) {
        context.err('No audit records found.\n');
        return;
      }
      context.out(formatTable(AUDIT_COLUMNS, records.map(auditRow)));
    });
}
