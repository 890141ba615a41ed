/**
 * Hostile input against the real API process (Postgres, NATS), with an ordinary token: one case per
 * line of issue 8's "No request crashes, stalls or bloats a process", then a bounded property-based
 * run (fast-check) over apply, list, watch and label selectors. Throughout, the process stays up,
 * no answer is a 5xx other than 503, and its resident memory (VmRSS of the API child) ends within
 * 50 MiB of where it started: measured after 400 ordinary creates, so the start is an API at its
 * working size (from a fresh process's size, V8's own heap growth alone once reached 79 MiB), and
 * given up to 60 s of quiet for V8 to collect what the run left. The API runs with short connection timeouts and small queues so the
 * bounds show in seconds, not minutes.
 */
import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import fc from 'fast-check';
import { startApiProcess, waitUntil, type ApiProcess } from './harness/cli-processes.js';

const TIMEOUT_MS = 3_000;
const MAX_PIPELINED = 8;
const MAX_QUEUED_WRITES = 4;
const MIB = 1024 * 1024;
const MEMORY_BOUND_MIB = 50;

let api: ApiProcess;
let token: string;
let startRssMib = 0;
let peakRssMib = 0;
const statuses = new Map<number, number>();

function rssMib(): number {
  const status = readFileSync(`/proc/${api.child.process.pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kib / 1024;
}

function expectAlive(): void {
  expect(api.child.process.exitCode).toBeNull();
  expect(api.child.process.signalCode).toBeNull();
}

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers loosely
  body: any;
}

/** One request with the ordinary token (or `auth: null`); the body is sent as given when it is a string. */
async function call(method: string, path: string, body?: unknown, options: { contentType?: string; auth?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? token : options.auth;
  if (auth) headers['authorization'] = `Bearer ${auth}`;
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (HTML, plain text): kept as text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

function firstDetail(answer: Answer): { path: string; rule: string } | undefined {
  return answer.body?.error?.details?.[0];
}

/** The answer of a request that is a 4xx or a 503 (never another 5xx). */
function expectRefusal(answer: Answer): void {
  expect(answer.status === 503 || (answer.status >= 400 && answer.status < 500)).toBe(true);
}

interface RawExchange {
  text: string;
  /** Milliseconds from connecting until the server ended the connection (or `timeoutMs` when it did not). */
  closedAfterMs: number;
  closedByServer: boolean;
}

/**
 * Writes bytes on a raw connection (optionally more later, through `drip`) and reads until the
 * server ends the connection or `timeoutMs` passes. Write errors after the server ended it are expected.
 */
function rawExchange(first: string | Buffer, options: { timeoutMs: number; drip?: { chunk: string; everyMs: number } }): Promise<RawExchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connectTcp(Number(new URL(api.url).port), '127.0.0.1');
    let text = '';
    let dripTimer: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean) => {
      clearTimeout(deadline);
      clearInterval(dripTimer);
      socket.destroy();
      resolve({ text, closedAfterMs: Date.now() - started, closedByServer });
    };
    const deadline = setTimeout(() => finish(false), options.timeoutMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(first, () => undefined);
      if (options.drip) {
        const { chunk, everyMs } = options.drip;
        dripTimer = setInterval(() => socket.writable && socket.write(chunk, () => undefined), everyMs);
      }
    });
  });
}

function statusLines(text: string): number[] {
  // A pipelined answer follows the previous body directly, with no line break between them.
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

const gadget = (name: string, spec: Record<string, unknown> = { note: 'hello' }, labels: Record<string, string> = {}) => ({
  kind: 'Gadget',
  metadata: { name, project: 'hostile', labels },
  spec,
});

beforeAll(async () => {
  api = await startApiProcess({
    name: 'hostile',
    projects: ['hostile', 'other'],
    env: {
      TUGBOAT_HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS),
      TUGBOAT_HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
      TUGBOAT_HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
      TUGBOAT_HTTP_MAX_PIPELINED: String(MAX_PIPELINED),
      TUGBOAT_MAX_QUEUED_WRITES: String(MAX_QUEUED_WRITES),
    },
  });
  const admin = { auth: api.adminToken };
  const kind = await call(
    'POST',
    '/v1/kinds',
    {
      kind: 'Gadget',
      plural: 'gadgets',
      scope: 'Project',
      controller: 'gadget-controller',
      schema: {
        type: 'object',
        properties: { note: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } }, nested: { type: 'object' } },
        additionalProperties: true,
      },
    },
    admin,
  );
  expect(kind.status).toBe(201);
  // An ordinary token: an editor of the two projects, as a team's pipeline would be.
  const created = await call('POST', '/v1/tokens', { name: 'hostile-user', type: 'user' }, admin);
  const members = [{ user: 'hostile-user', role: 'editor' }];
  for (const project of ['hostile', 'other']) expect((await call('PUT', `/v1/projects/${project}`, { kind: 'Project', metadata: { name: project }, spec: { members } }, admin)).status).toBe(200);
  expect(created.status).toBe(201);
  token = created.body.token;
  expect((await call('POST', '/v1/gadgets', gadget('g1', { note: 'one', tags: ['a', 'b'], nested: { deep: 'x' } }))).status).toBe(201);
  // Ordinary traffic first, so the start is an API at its working size: a fresh process's heap and
  // young generation grow under any load and V8 keeps what it grew, which is not what this bounds.
  // (MAX_QUEUED_WRITES at once: more would be refused with 503 by design.)
  for (let round = 0; round < 100; round++) {
    const answers = await Promise.all(
      Array.from({ length: MAX_QUEUED_WRITES }, (_, i) => call('POST', '/v1/gadgets', gadget(`warm-${round}-${i}`, { note: 'x'.repeat(200 * ((round + i) % 5)), tags: ['a', 'b'], nested: { i } }))),
    );
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    if (round % 10 === 0) expect((await call('GET', '/v1/gadgets?project=hostile&limit=100')).status).toBe(200);
  }
  startRssMib = rssMib();
  peakRssMib = startRssMib;
}, 90_000);

afterEach(() => {
  if (api) peakRssMib = Math.max(peakRssMib, rssMib());
});

afterAll(async () => {
  await api?.close();
});

describe('hostile input: no request crashes, stalls or bloats the API', () => {
  it('bounds every parser before it allocates: nested YAML, aliases, documents, deep JSON, query strings (4xx naming the limit)', async () => {
    const yaml = { contentType: 'application/yaml' };
    // 2 KB of nested flow sequences crashed the API; the second call ran it out of memory.
    for (const depth of [1_000, 2_000, 50_000]) {
      const nested = await call('POST', '/v1/apply', `${'['.repeat(depth)}${']'.repeat(depth)}`, yaml);
      expect([nested.status, firstDetail(nested)]).toEqual([400, { path: 'body', rule: 'max-depth' }]);
      expectAlive();
    }
    const block = await call('POST', '/v1/apply', `${'- '.repeat(100_000)}x\n`, yaml);
    expect([block.status, firstDetail(block)]).toEqual([400, { path: 'body', rule: 'max-depth' }]);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n');
    const aliases = await call('POST', '/v1/apply', laughs, yaml);
    expect([aliases.status, firstDetail(aliases)]).toEqual([400, { path: 'items[0]', rule: 'max-aliases' }]);
    const documents = await call('POST', '/v1/apply', '---\n'.repeat(200_000), yaml);
    expect([documents.status, firstDetail(documents)]).toEqual([400, { path: 'body', rule: 'max-documents' }]);

    // JSON nested 5,000 deep answered 500.
    const deepJson = await call('POST', '/v1/gadgets', `{"metadata":{"name":"deep","project":"hostile"},"spec":{"nested":${'['.repeat(5_000)}${']'.repeat(5_000)}}}`);
    expect([deepJson.status, firstDetail(deepJson)]).toEqual([400, { path: 'body', rule: 'max-depth' }]);
    const deepApply = await call('POST', '/v1/apply', `[${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}]`);
    expect([deepApply.status, firstDetail(deepApply)]).toEqual([400, { path: 'body', rule: 'max-depth' }]);

    // Query strings: flat (no qs nesting), and a bounded number of parameters.
    const many = await call('GET', `/v1/gadgets?${Array.from({ length: 500 }, (_, i) => `p${i}=${i}`).join('&')}`);
    expect([many.status, firstDetail(many)]).toEqual([400, { path: 'query', rule: 'max-parameters' }]);
    const nestedQuery = await call('GET', `/v1/gadgets?project=hostile&${'a'}${'[b]'.repeat(2_000)}=1`);
    expect(nestedQuery.status).toBe(200);
    const repeated = await call('GET', '/v1/gadgets?project=hostile&project=other');
    expectRefusal(repeated);
    expect(firstDetail(repeated)?.path).toBe('project');
    expectAlive();
  });

  it('refuses a NUL character or a lone surrogate in any string on every write path with a 422 naming the field', async () => {
    const nul = 'a\u0000b';
    const lone = 'a\uD800b';
    const yaml = { contentType: 'application/yaml' };
    const cases: Array<{ what: string; request: () => Promise<Answer>; path: string; rule?: string }> = [
      { what: 'spec string', request: () => call('POST', '/v1/gadgets', gadget('n1', { note: nul })), path: 'spec.note' },
      { what: 'spec string, lone surrogate', request: () => call('POST', '/v1/gadgets', gadget('n2', { note: lone })), path: 'spec.note', rule: 'lone-surrogate' },
      { what: 'object key', request: () => call('POST', '/v1/gadgets', gadget('n3', { nested: { [nul]: 1 } })), path: 'spec.nested' },
      { what: 'name', request: () => call('POST', '/v1/gadgets', gadget(nul)), path: 'metadata.name' },
      { what: 'label value', request: () => call('POST', '/v1/gadgets', gadget('n4', {}, { team: lone })), path: 'metadata.labels.team', rule: 'lone-surrogate' },
      { what: 'label key', request: () => call('POST', '/v1/gadgets', gadget('n5', {}, { [nul]: 'x' })), path: 'metadata.labels' },
      { what: 'PUT', request: () => call('PUT', '/v1/gadgets/g1?project=hostile', gadget('g1', { tags: ['ok', nul] })), path: 'spec.tags[1]' },
      {
        what: 'PATCH',
        request: () => call('PATCH', '/v1/gadgets/g1?project=hostile', { spec: { nested: { deep: lone } } }, { contentType: 'application/merge-patch+json' }),
        path: 'spec.nested.deep',
        rule: 'lone-surrogate',
      },
      { what: 'status', request: () => call('PUT', '/v1/gadgets/g1/status?project=hostile', { status: { conditions: [{ type: 'Ready', status: 'True', message: nul }] } }), path: 'status.conditions[0].message' },
      { what: 'event', request: () => call('POST', '/v1/gadgets/g1/events?project=hostile', { type: 'Normal', reason: 'Tried', message: nul }), path: 'message' },
      { what: 'apply (JSON)', request: () => call('POST', '/v1/apply', { items: [gadget('n6', { note: nul })] }), path: 'items[0].spec.note' },
      { what: 'apply (YAML escape)', request: () => call('POST', '/v1/apply', 'kind: Gadget\nmetadata: {name: n7, project: hostile}\nspec: {note: "a\\0b"}\n', yaml), path: 'items[0].spec.note' },
      { what: 'apply (YAML surrogate)', request: () => call('POST', '/v1/apply', 'kind: Gadget\nmetadata: {name: n8, project: hostile}\nspec: {note: "\\uD800"}\n', yaml), path: 'items[0].spec.note', rule: 'lone-surrogate' },
      { what: 'token name', request: () => call('POST', '/v1/tokens', { name: nul, type: 'user' }), path: 'name' },
      { what: 'kind schema', request: () => call('POST', '/v1/kinds', { kind: 'Bad', plural: 'bads', scope: 'Project', controller: 'x', schema: { type: 'object', description: nul } }), path: 'schema.description' },
      { what: 'path segment', request: () => call('GET', '/v1/gadgets/g%00x?project=hostile'), path: 'name' },
      { what: 'kind in the path', request: () => call('GET', '/v1/gad%00gets'), path: 'plural' },
      { what: 'finalizer in the path', request: () => call('DELETE', '/v1/gadgets/g1/finalizers/f%00?project=hostile'), path: 'finalizer' },
      { what: 'label selector', request: () => call('GET', '/v1/gadgets?labelSelector=team%3D%00'), path: 'labelSelector' },
      { what: 'query parameter name', request: () => call('GET', '/v1/gadgets?x%00=1'), path: 'query' },
      { what: 'continue token', request: () => call('GET', '/v1/gadgets?continue=%00'), path: 'continue' },
      { what: 'project query', request: () => call('GET', '/v1/gadgets/g1?project=%00'), path: 'project' },
      { what: 'watch query', request: () => call('GET', '/v1/watch?kinds=gadgets%00'), path: 'kinds' },
      { what: 'revision diff', request: () => call('GET', '/v1/gadgets/g1/revisions/diff?project=hostile&from=%00'), path: 'from' },
    ];
    const wrong: string[] = [];
    for (const { what, request, path, rule } of cases) {
      const answer = await request();
      const expected = { path, rule: rule ?? 'nul-character' };
      if (answer.status !== 422 || JSON.stringify(firstDetail(answer)) !== JSON.stringify(expected)) {
        wrong.push(`${what}: ${answer.status} ${JSON.stringify(answer.body)} (expected 422 ${JSON.stringify(expected)})`);
      }
    }
    expect(wrong).toEqual([]);
    // A path segment that is not valid percent-encoding (a lone surrogate in UTF-8) is malformed.
    const undecodable = await call('GET', '/v1/gadgets/g%ED%A0%80?project=hostile');
    expect(undecodable.status).toBe(400);
    expectAlive();
  });

  it('authenticates from the headers before reading a body: 150 unauthenticated 1 MiB bodies cost no memory', async () => {
    const body = Buffer.alloc(MIB, 'x');
    const head = (auth: string) =>
      `POST /v1/gadgets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${auth}\r\n`;
    const before = rssMib();
    const answers: number[] = [];
    for (let round = 0; round < 3; round++) {
      const exchanges = await Promise.all(
        Array.from({ length: 50 }, (_, i) => rawExchange(Buffer.concat([Buffer.from(head(i % 2 ? 'Authorization: Bearer not-a-token\r\n' : '')), body]), { timeoutMs: 15_000 })),
      );
      answers.push(...exchanges.flatMap((e) => statusLines(e.text)));
    }
    const after = rssMib();
    process.stdout.write(`unauthenticated 150 × 1 MiB: RSS ${before.toFixed(1)} → ${after.toFixed(1)} MiB, answers ${JSON.stringify(countOf(answers))}\n`);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((s) => s === 401)).toBe(true);
    expect(after - before).toBeLessThan(40);
    expectAlive();
  });

  it('ends a slow body, slow headers and an idle connection within the timeouts (a slow body held one for 319 s)', async () => {
    const slowBody = rawExchange(
      `POST /v1/gadgets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
      { timeoutMs: 20_000, drip: { chunk: ' ', everyMs: 200 } },
    );
    const slowHeaders = rawExchange('GET /healthz HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 20_000, drip: { chunk: 'X-Slow: 1\r\n', everyMs: 200 } });
    const silent = rawExchange('', { timeoutMs: 20_000 });
    const idleAfterOne = rawExchange('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 20_000 });
    const [body, headers, idle, keepAlive] = await Promise.all([slowBody, slowHeaders, silent, idleAfterOne]);
    process.stdout.write(
      `connection ended after: slow body ${body.closedAfterMs} ms, slow headers ${headers.closedAfterMs} ms, silent ${idle.closedAfterMs} ms, idle keep-alive ${keepAlive.closedAfterMs} ms\n`,
    );
    for (const exchange of [body, headers, idle, keepAlive]) {
      expect(exchange.closedByServer).toBe(true);
      // Timeouts of 3 s checked every 0.75 s: 10 s is a generous bound on a loaded machine.
      expect(exchange.closedAfterMs).toBeLessThan(10_000);
    }
    expect(statusLines(body.text)).toEqual([408]);
    expect(statusLines(keepAlive.text)).toEqual([200]);
    expectAlive();
  });

  it('caps pipelined requests per connection: past the cap 503 with Retry-After, and the connection ends', async () => {
    const one = `GET /v1/gadgets?project=hostile HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`;
    const exchange = await rawExchange(one.repeat(500), { timeoutMs: 20_000 });
    const answered = statusLines(exchange.text);
    process.stdout.write(`pipelined 500: ${answered.length} answered ${JSON.stringify(countOf(answered))}\n`);
    expect(exchange.closedByServer).toBe(true);
    expect(answered).toContain(503);
    expect(answered.every((s) => s === 200 || s === 503)).toBe(true);
    expect(answered.length).toBeLessThan(500);
    expect(exchange.text).toMatch(/retry-after: 1/i);
    expectAlive();
  });

  it('answers 503 with Retry-After when the group-commit queue is full, and commits exactly what it accepted', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => call('POST', '/v1/gadgets', gadget(`burst-${i}`))));
    const counts = countOf(answers.map((a) => a.status));
    process.stdout.write(`100 concurrent creates with a queue of ${MAX_QUEUED_WRITES}: ${JSON.stringify(counts)}\n`);
    expect(counts[503]).toBeGreaterThan(0);
    // 408 only where a loaded machine did not deliver a body within this test's short request
    // timeout; such a request never reached a handler, so it committed nothing either.
    expect(Object.keys(counts).filter((s) => !['201', '408', '503'].includes(s))).toEqual([]);
    for (const refused of answers.filter((a) => a.status === 503)) {
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(firstDetail(refused)).toEqual({ path: 'body', rule: 'max-queued-writes' });
    }
    const listed = await call('GET', '/v1/gadgets?project=hostile&limit=1000');
    expect(listed.body.items.filter((o: { metadata: { name: string } }) => o.metadata.name.startsWith('burst-')).length).toBe(counts[201]);
    expectAlive();
  });

  it('answers a watch naming many unknown kinds with 404 at once, and a registration clears the remembered misses', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `nosuchkind${i}`);
    const started = Date.now();
    const unknown = await call('GET', `/v1/watch?kinds=${names.join(',')}`);
    const ms = Date.now() - started;
    expect([unknown.status, firstDetail(unknown)]).toEqual([404, { path: 'kinds', rule: 'unknown-kind' }]);
    expect(ms).toBeLessThan(2_000);
    const tooMany = await call('GET', `/v1/watch?kinds=${Array.from({ length: 1_000 }, (_, i) => `k${i}`).join(',')}`);
    expect([tooMany.status, firstDetail(tooMany)]).toEqual([400, { path: 'kinds', rule: 'maxItems' }]);

    // Remembered as unknown, then registered: found at once.
    expect((await call('GET', '/v1/watch?kinds=widgets')).status).toBe(404);
    const registered = await call(
      'POST',
      '/v1/kinds',
      { kind: 'Widget', plural: 'widgets', scope: 'Project', controller: 'widget-controller', schema: { type: 'object' } },
      { auth: api.adminToken },
    );
    expect(registered.status).toBe(201);
    const stop = new AbortController();
    const watch = await fetch(`${api.url}/v1/watch?kinds=widgets`, { headers: { authorization: `Bearer ${token}` }, signal: stop.signal });
    expect(watch.status).toBe(200);
    stop.abort();
    expectAlive();
  });

  it('refuses kinds it cannot enforce or whose paths reach the prototype; runs patterns and selectors in linear time', async () => {
    const admin = { auth: api.adminToken };
    const kindNamed = (kind: string, extra: Record<string, unknown>) => ({ kind, plural: `${kind.toLowerCase()}s`, scope: 'Project', controller: 'c', ...extra });
    // $async used to skip validation: an invalid row was committed and the API crashed at every start.
    const async = await call('POST', '/v1/kinds', kindNamed('Asyncy', { schema: { $async: true, type: 'object' } }), admin);
    expect(async.status).toBe(422);
    expect(async.body.error.message).toContain('$async');
    const remote = await call('POST', '/v1/kinds', kindNamed('Remotey', { schema: { type: 'object', properties: { x: { $ref: 'https://example.com/s.json' } } } }), admin);
    expect(remote.status).toBe(422);
    // A secret path into Object.prototype used to pollute every object of the process.
    const polluting = await call('POST', '/v1/kinds', kindNamed('Polluty', { schema: { type: 'object' }, secretFields: ['__proto__.toString'] }), admin);
    expect(polluting.status).toBe(422);
    expect(({} as Record<string, unknown>)['toString']).toBe(Object.prototype.toString);
    expect((await call('GET', '/v1/kinds/asyncys')).status).toBe(404);

    // ^(a+)+$ on a crafted value stalled the event loop for 72 s; RE2 answers at once.
    const patterned = await call('POST', '/v1/kinds', kindNamed('Patterny', { schema: { type: 'object', properties: { v: { type: 'string', pattern: '^(a+)+$' } } } }), admin);
    expect(patterned.status).toBe(201);
    let started = Date.now();
    const crafted = await call('POST', '/v1/patternys', { kind: 'Patterny', metadata: { name: 'p1', project: 'hostile' }, spec: { v: `${'a'.repeat(40)}!` } });
    expect(crafted.status).toBe(422);
    expect(Date.now() - started).toBeLessThan(2_000);

    // The label-selector parser was quadratic in a term's length.
    started = Date.now();
    const selector = await call('GET', `/v1/gadgets?project=hostile&labelSelector=${'a'.repeat(15_000)}%3D${'b'.repeat(15_000)}`);
    expect(selector.status).toBeGreaterThanOrEqual(400);
    expect(selector.status).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(2_000);
    started = Date.now();
    const manyTerms = await call('GET', `/v1/gadgets?project=hostile&labelSelector=${Array.from({ length: 1_000 }, () => 'team%3Da').join(',')}`);
    expect(manyTerms.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expectAlive();
  });

  // Found by trying the API as an attacker (7 Dec 2026): each was quadratic, a 500, or both.
  it('answers bodies of many problems, keys or items, forged tokens and impossible dates at once with a 4xx', async () => {
    const yaml = { contentType: 'application/yaml' };
    const timed = async (request: () => Promise<Answer>): Promise<Answer & { ms: number }> => {
      const started = Date.now();
      const answer = await request();
      return { ...answer, ms: Date.now() - started };
    };
    // Each problem's message was searched for in the message of all of them: 8,000 unknown fields held the loop 5 s.
    const metadata: Record<string, unknown> = { name: 'many', project: 'hostile' };
    for (let i = 0; i < 12_000; i++) metadata[`k${i}`] = 1;
    const unknownFields = await timed(() => call('POST', '/v1/apply?dryRun=true', { items: [{ kind: 'Gadget', metadata, spec: {} }] }));
    expect(unknownFields.status).toBeLessThan(500);
    expect(JSON.stringify(unknownFields.body)).toContain('metadata.k11999');
    expect(unknownFields.ms).toBeLessThan(5_000);
    // The yaml library compared every key of a mapping with every other: 80,000 keys held the API for
    // minutes (parse-yaml-documents.test.ts holds the time of 50,000; this is the whole request).
    const manyKeys = `kind: Gadget\nmetadata: {name: keys, project: hostile}\nspec:\n  nested:\n${Array.from({ length: 10_000 }, (_, i) => `    k${i}: 1\n`).join('')}`;
    const keys = await timed(() => call('POST', '/v1/apply?dryRun=true', manyKeys, yaml));
    expect(keys.status).toBe(200);
    expect(keys.ms).toBeLessThan(5_000);
    const twice = await call('POST', '/v1/apply?dryRun=true', 'kind: Gadget\nmetadata: {name: twice, project: hostile}\nspec:\n  note: a\n  note: b\n', yaml);
    expect([twice.status, firstDetail(twice), twice.body.error.message]).toEqual([400, { path: 'items[0]', rule: 'yaml' }, expect.stringContaining('has the key "note" twice in one mapping (line 5)')]);
    const scalars = await call('POST', '/v1/apply', `[${Array(150_000).fill('1').join(',')}]\n`, yaml);
    expect([scalars.status, firstDetail(scalars)]).toEqual([400, { path: 'body', rule: 'max-yaml-scalars' }]);
    // A list document was spread into the bundle before it was counted (400,000 items: a 500).
    const list = await call('POST', '/v1/apply', `kind: List\nitems: [${Array(1_001).fill('{}').join(',')}]\n`, yaml);
    expect([list.status, firstDetail(list)]).toEqual([422, { path: 'items', rule: 'maxItems' }]);
    // 1e400 parsed to Infinity and was stored as null without a word.
    const huge = await call('POST', '/v1/gadgets', '{"kind":"Gadget","metadata":{"name":"huge","project":"hostile"},"spec":{"nested":{"n":1e400}}}');
    expect([huge.status, firstDetail(huge)]).toEqual([422, { path: 'spec.nested.n', rule: 'finite-number' }]);
    const inf = await call('POST', '/v1/apply', 'kind: Gadget\nmetadata: {name: inf, project: hostile}\nspec: {nested: {n: .inf}}\n', yaml);
    expect([inf.status, firstDetail(inf)]).toEqual([422, { path: 'items[0].spec.nested.n', rule: 'finite-number' }]);
    // A continue token is the API's own, decoded; a forged one holding a NUL reached Postgres (500).
    const forged = Buffer.from(JSON.stringify(['hostile\u0000', 'x'])).toString('base64url');
    const token = await call('GET', `/v1/gadgets?project=hostile&continue=${forged}`);
    expect([token.status, firstDetail(token)]).toEqual([400, { path: 'continue', rule: 'format' }]);
    // Year 0000 parsed and reached Postgres (500); 30 February rolled over to 2 March.
    const admin = { auth: api.adminToken };
    const yearZero = await call('GET', '/v1/audit?since=0000-01-01T00:00Z', undefined, admin);
    expect([yearZero.status, firstDetail(yearZero)]).toEqual([422, { path: 'since', rule: 'date-time' }]);
    const february = await call('POST', '/v1/tokens', { name: 'feb-30', type: 'user', expiresAt: '2027-02-30T00:00:00Z' }, admin);
    expect([february.status, firstDetail(february)]).toEqual([422, { path: 'expiresAt', rule: 'date-time' }]);
    // ajv compares non-scalar items pairwise for uniqueItems: refused at registration without a small maxItems.
    const unique = await call('POST', '/v1/kinds', { kind: 'Uniquey', plural: 'uniqueys', scope: 'Project', controller: 'c', schema: { type: 'object', properties: { s: { type: 'array', uniqueItems: true } } } }, admin);
    expect([unique.status, unique.body.error.details]).toEqual([422, [expect.objectContaining({ path: 'schema.properties.s.uniqueItems', rule: 'unique-items-bound' })]]);
    expectAlive();
  });

  it('serves /docs with or without its trailing slash, each page finding its files; /openapi.json the same every time', async () => {
    for (const path of ['/docs', '/docs/']) {
      const page = await fetch(`${api.url}${path}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const references = [...html.matchAll(/(?:href|src)="([^"]+)"|url: '([^']+)'/g)].map((m) => m[1] ?? m[2]!);
      expect(references.length).toBe(4);
      for (const reference of references) {
        const asset = await fetch(new URL(reference, `${api.url}${path}`));
        await asset.arrayBuffer();
        expect([path, reference, asset.status]).toEqual([path, reference, 200]);
      }
    }
    const first = await (await fetch(`${api.url}/openapi.json`)).text();
    const again = await Promise.all(Array.from({ length: 50 }, async () => (await fetch(`${api.url}/openapi.json`)).text()));
    expect(again.every((text) => text === first)).toBe(true);
    expect(JSON.parse(first).paths['/v1/widgets']).toBeDefined();
  });

  it('survives a bounded property-based run over apply, list, watch and label selectors: only 4xx or 503, never another 5xx', async () => {
    const refusedOrFine = (answer: Answer) => answer.status < 500 || answer.status === 503;
    // Random text, salted with what broke the API before: NULs, lone surrogates, deep nesting, aliases.
    const hostileFragment = fc.constantFrom('\u0000', '\uD800', '\uDC00x', '['.repeat(3_000), '{a: '.repeat(500), '- '.repeat(2_000), '&a [x, x]', '*a', '"\\0"', '---\n');
    const text = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), hostileFragment), { maxLength: 8 }).map((parts) => parts.join(''));
    const deepJson = fc.integer({ min: 1, max: 6_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
    const selectorText = fc
      .array(fc.constantFrom('a', 'team', '=', '==', '!=', '!', ' in ', ' notin ', '(', ')', ',', ' ', 'x', '-', '.', '/', '\u0000', '\uD800', 'é', 'tugboat.io/'), { maxLength: 60 })
      .map((parts) => parts.join(''));
    const query = (entries: Array<[string, string]>) => entries.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
    // Bounded in count and in time (a loaded machine gets fewer runs, never a longer suite).
    const settings = { numRuns: 80, interruptAfterTimeLimit: 2_500, markInterruptAsFailure: false };
    const seen: number[] = [];
    const check = (answer: Answer): boolean => {
      seen.push(answer.status);
      return refusedOrFine(answer) && api.child.process.exitCode === null;
    };

    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ type: fc.constant('yaml'), body: text }),
          fc.record({ type: fc.constant('json'), body: fc.json({ maxDepth: 8, stringUnit: 'binary' }) }),
          fc.record({ type: fc.constant('json'), body: deepJson }),
          fc.record({
            type: fc.constant('json'),
            // A well-formed object whose spec carries the hostile part, so it gets as far as the database.
            body: fc
              .tuple(fc.oneof(fc.json({ maxDepth: 6, stringUnit: 'binary' }), deepJson), text, fc.constantFrom('prop-a', 'prop-b'))
              // Spliced as text: a value 6,000 deep would overflow the stack of JSON.stringify here.
              .map(([value, note, name]) => `{"items":[{"kind":"Gadget","metadata":{"name":"${name}","project":"hostile"},"spec":{"note":${JSON.stringify(note)},"nested":{"value":${value}}}}]}`),
          }),
        ),
        fc.boolean(),
        async ({ type, body }, dryRun) => check(await call('POST', `/v1/apply${dryRun ? '?dryRun=true' : ''}`, body, { contentType: type === 'yaml' ? 'application/yaml' : 'application/json' })),
      ),
      settings,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('project', 'labelSelector', 'limit', 'continue', 'x', '__proto__', 'a[b]'), text), { maxLength: 6 }),
        fc.constantFrom('gadgets', 'widgets', 'nosuch', 'g%00', 'apply'),
        async (entries, plural) => check(await call('GET', `/v1/${plural}?${query(entries)}`)),
      ),
      settings,
    );
    await fc.assert(
      fc.asyncProperty(selectorText, async (selector) => check(await call('GET', `/v1/gadgets?project=hostile&labelSelector=${percentEncode(selector)}`))),
      settings,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('kinds', 'project', 'cursor', 'x'), fc.oneof(text, fc.constantFrom('gadgets', 'gadgets,widgets', 'hostile', '0', '99999999'))), { maxLength: 4 }),
        async (entries) => {
          const stop = new AbortController();
          const response = await fetch(`${api.url}/v1/watch?${query(entries)}`, { headers: { authorization: `Bearer ${token}` }, signal: stop.signal });
          stop.abort();
          seen.push(response.status);
          return (response.status < 500 || response.status === 503) && api.child.process.exitCode === null;
        },
      ),
      settings,
    );
    process.stdout.write(`property-based run: ${seen.length} requests ${JSON.stringify(countOf(seen))}\n`);
    expect(seen.length).toBeGreaterThan(40);
    expectAlive();
  }, 60_000);

  it(`keeps the process up and its resident memory within ${MEMORY_BOUND_MIB} MiB of its start`, async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    // RSS shrinks only as the collector gives pages back: wait for it, up to a bound. What the run
    // left is mostly garbage that V8's memory reducer collects once the process has been idle a while
    // (measured: 15-20 s after the load, heap used 95 → 48 MiB and RSS 207 → 173 MiB on a slow day).
    const end = await waitUntil(
      () => {
        const now = rssMib();
        return now - startRssMib <= MEMORY_BOUND_MIB ? now : false;
      },
      'resident memory to settle',
      60_000,
    ).catch(() => rssMib());
    process.stdout.write(
      `API resident memory: start ${startRssMib.toFixed(1)} MiB, peak ${peakRssMib.toFixed(1)} MiB, end ${end.toFixed(1)} MiB (growth ${(end - startRssMib).toFixed(1)} MiB); answers ${JSON.stringify(Object.fromEntries(statuses))}\n`,
    );
    expect(end - startRssMib).toBeLessThanOrEqual(MEMORY_BOUND_MIB);
    expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503)).toEqual([]);
    expectAlive();
  }, 90_000);
});

/**
 * `encodeURIComponent`, except that a lone surrogate (which it refuses) is sent as the bytes a
 * careless encoder would produce for it (`%ED%A0%80`), so the API meets them too.
 */
function percentEncode(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[^]/g, (char) =>
    char.length === 1 && /[\uD800-\uDFFF]/.test(char) ? '%ED%A0%80' : encodeURIComponent(char),
  );
}

function countOf(values: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
