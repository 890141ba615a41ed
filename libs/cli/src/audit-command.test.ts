/** `tug audit`: the query it sends, paging up to --limit, the table and the documents, on a fixed clock. */
import type { AuditRecord } from '@tugboat/api-client';
import { auditObject, parseAuditTime } from './commands/audit-command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './describe-error.js';
import { runCli } from './run-cli.js';

const NOW = Date.parse('2027-03-01T12:00:00.000Z');

function record(id: number, more: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: String(id),
    at: new Date(NOW - id * 60_000).toISOString(),
    actor: 'dev',
    actorType: 'user',
    token: 'dev',
    action: 'update',
    kind: 'WorkloadInstance',
    project: 'team-a',
    name: `web-${id}`,
    outcome: 'success',
    status: 200,
    requestId: `req-${id}`,
    source: '127.0.0.1',
    detail: null,
    ...more,
  };
}

/** Answers `GET /v1/audit` from `records` (newest first) in pages, as the API does; remembers each query. */
function fakeAudit(records: AuditRecord[]) {
  const queries: Array<Record<string, string>> = [];
  const fetch = async (input: string | URL | Request): Promise<Response> => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    if (url.pathname !== '/v1/audit') return new Response(JSON.stringify({ error: { code: 'NotFound', message: 'no route', details: [] } }), { status: 404 });
    const query = Object.fromEntries(url.searchParams);
    queries.push(query);
    if (query['project'] === 'forbidden') {
      return new Response(JSON.stringify({ error: { code: 'Forbidden', message: 'user "dev" may not readAudit in project forbidden: needs the admin role in project forbidden', details: [] } }), { status: 403 });
    }
    const start = query['continue'] ? Number(query['continue']) : 0;
    const limit = Number(query['limit'] ?? 100);
    const items = records.slice(start, start + limit);
    const next = start + limit < records.length ? { continue: String(start + limit) } : {};
    return new Response(JSON.stringify({ items, metadata: next }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { fetch: fetch as typeof globalThis.fetch, queries };
}

async function tug(argv: string[], fetch: typeof globalThis.fetch) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    env: { TUGBOAT_TOKEN: 'tok', TUGBOAT_URL: 'http://api.test' },
    cwd: '/',
    fetch,
    now: () => NOW,
  });
  return { code, stdout, stderr };
}

describe('tug audit', () => {
  it('prints TIME ACTOR TOKEN ACTION OBJECT OUTCOME REQUEST, newest first', async () => {
    const api = fakeAudit([
      record(1),
      record(2, { actor: 'vault-bot', actorType: 'controller', token: 'vault-bot', action: 'readSecrets', kind: 'AwsAccount', project: null, name: 'prod' }),
      record(3, { actor: 'admin', token: null, action: 'createToken', kind: null, project: null, name: 'ci', status: 201 }),
      record(4, { action: 'delete', outcome: 'denied', status: 403, requestId: null }),
      record(5, { actor: 'admin', token: null, action: 'registerKind', kind: 'Gadget', project: null, name: null, status: 201 }),
    ]);
    const answer = await tug(['audit'], api.fetch);
    expect(answer.code).toBe(EXIT_OK);
    expect(answer.stdout).toBe(
      [
        'TIME                   ACTOR       TOKEN       ACTION         OBJECT                          OUTCOME      REQUEST',
        '2027-03-01T11:59:00Z   dev         dev         update         WorkloadInstance/team-a/web-1   success      req-1',
        '2027-03-01T11:58:00Z   vault-bot   vault-bot   readSecrets    AwsAccount/prod                 success      req-2',
        '2027-03-01T11:57:00Z   admin       -           createToken    token/ci                        success      req-3',
        '2027-03-01T11:56:00Z   dev         dev         delete         WorkloadInstance/team-a/web-4   denied 403   -',
        '2027-03-01T11:55:00Z   admin       -           registerKind   kind/Gadget                     success      req-5',
        '',
      ].join('\n'),
    );
    expect(api.queries).toEqual([{ limit: '100' }]);
  });

  it('sends the filters, turns --since into a time, and pages up to --limit', async () => {
    const api = fakeAudit(Array.from({ length: 2500 }, (_, i) => record(i + 1)));
    const answer = await tug(['audit', '-p', 'team-a', '--identity', 'dev', '--kind', 'app', '--action', 'update', '--since', '1h', '--until', '2027-03-01', '--limit', '2100', '-o', 'json'], api.fetch);
    expect(answer.code).toBe(EXIT_OK);
    const items = JSON.parse(answer.stdout).items as AuditRecord[];
    expect(items).toHaveLength(2100);
    expect(items[2099]!.id).toBe('2100');
    const filters = { project: 'team-a', identity: 'dev', kind: 'app', action: 'update', since: '2027-03-01T11:00:00.000Z', until: '2027-03-01T00:00:00Z' };
    expect(api.queries).toEqual([
      { ...filters, limit: '1000' },
      { ...filters, limit: '1000', continue: '1000' },
      { ...filters, limit: '100', continue: '2000' },
    ]);
    expect((await tug(['audit', '-o', 'yaml', '--limit', '1'], api.fetch)).stdout).toMatch(/^items:\n {2}- id: "1"\n/);
  });

  it('says when nothing matched, and refuses what it cannot read before asking', async () => {
    const api = fakeAudit([]);
    expect(await tug(['audit', '--since', '7d'], api.fetch)).toEqual({ code: EXIT_OK, stdout: '', stderr: 'No audit records found.\n' });
    const since = await tug(['audit', '--since', 'last week'], api.fetch);
    expect(since.code).toBe(EXIT_USAGE);
    expect(since.stderr).toContain('--since: "last week" is neither a time ago (30m, 1h, 7d) nor a time');
    for (const limit of ['0', 'ten', '100001']) expect((await tug(['audit', '--limit', limit], api.fetch)).code).toBe(EXIT_USAGE);
    expect((await tug(['audit', '-o', 'wide'], api.fetch)).code).toBe(EXIT_USAGE);
    expect(api.queries).toHaveLength(1);
    const refused = await tug(['audit', '-p', 'forbidden'], api.fetch);
    expect(refused.code).toBe(EXIT_FAILED);
    expect(refused.stderr).toContain('needs the admin role in project forbidden');
  });

  it('reads times and names objects', () => {
    expect(parseAuditTime('30m', '--since', NOW)).toBe('2027-03-01T11:30:00.000Z');
    expect(parseAuditTime('2027-02-01T10:00:00+01:00', '--since', NOW)).toBe('2027-02-01T10:00:00+01:00');
    expect(() => parseAuditTime('2027-02-30T99:00:00Z', '--since', NOW)).toThrow('--since');
    expect(auditObject(record(1, { kind: null, name: null }))).toBe('-');
  });
});
