import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_KINDS } from '@tugboat/resource-model';
import { orderKindDocuments } from './commands/kinds-command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './describe-error.js';
import { runCli } from './run-cli.js';
import { createFakeApi, FAKE_TOKEN, type FakeApi } from '@tugboat/api-client/testing';

const GADGET = `
kind: Gadget
plural: gadgets
shortNames: [gd]
scope: Project
controller: gadget-controller
references: [{ path: partRef, kind: Part }]
schema:
  type: object
  properties:
    size: { type: integer }
    partRef: { type: object, properties: { name: { type: string } } }
---
kind: Part
plural: parts
scope: Platform
controller: gadget-controller
schema: { type: object }
`;

let dir: string;
let api: FakeApi;

async function tug(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { TUGBOAT_TOKEN: FAKE_TOKEN },
    cwd: dir,
    fetch: api.fetch,
  });
  return { code, stdout, stderr };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tug-kinds-'));
  api = createFakeApi();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tug kinds apply / delete', () => {
  it('registers the kinds of a file (referenced ones first), then says configured or unchanged', async () => {
    await writeFile(join(dir, 'kinds.yaml'), GADGET);
    const first = await tug('kinds', 'apply', '-f', 'kinds.yaml');
    expect(first).toEqual({ code: EXIT_OK, stdout: 'kind Part created\nkind Gadget created\n', stderr: '' });
    expect((await tug('kinds', 'apply', '-f', 'kinds.yaml')).stdout).toBe('kind Part unchanged\nkind Gadget unchanged\n');
    await writeFile(join(dir, 'kinds.yaml'), GADGET.replace('size: { type: integer }', 'size: { type: integer, maximum: 9 }'));
    expect((await tug('kinds', 'apply', '-f', 'kinds.yaml')).stdout).toBe('kind Part unchanged\nkind Gadget configured\n');
    expect((await tug('kinds')).stdout).toContain('gadgets,gadget,gd');
    expect(api.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toContain('/v1/kinds/Gadget');
  });

  it('reports each refused kind, applies the others, and exits 1', async () => {
    const workload = BUILTIN_KINDS.find((kind) => kind.kind === 'WorkloadInstance')!;
    const { builtIn: _builtIn, ...definition } = workload;
    await writeFile(join(dir, 'k.json'), JSON.stringify(definition));
    await writeFile(join(dir, 'p.yaml'), GADGET.split('---')[1]!);
    const run = await tug('kinds', 'apply', '-f', 'k.json', '-f', 'p.yaml');
    expect(run.code).toBe(EXIT_FAILED);
    expect(run.stderr).toContain('error: kind WorkloadInstance: kind WorkloadInstance is built in and cannot be changed');
    expect(run.stdout).toBe('kind Part created\n');
  });

  it('refuses a document that names no kind before sending anything (exit 2)', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'plural: things\n');
    const run = await tug('kinds', 'apply', '-f', 'bad.yaml');
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toContain('bad.yaml#1: kind: must name the kind');
    expect(api.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
    expect((await tug('kinds', 'apply')).code).toBe(EXIT_USAGE);
  });

  it('deletes a kind with no objects left, and refuses one with objects or a built-in one (exit 1)', async () => {
    await writeFile(join(dir, 'kinds.yaml'), GADGET);
    await tug('kinds', 'apply', '-f', 'kinds.yaml');
    await writeFile(join(dir, 'part.yaml'), 'kind: Part\nmetadata: { name: p1 }\nspec: {}\n');
    expect((await tug('apply', '-f', 'part.yaml')).code).toBe(EXIT_OK);
    expect(await tug('kinds', 'delete', 'gd')).toEqual({ code: EXIT_OK, stdout: 'kind Gadget deleted\n', stderr: '' });
    const withObjects = await tug('kinds', 'delete', 'parts');
    expect(withObjects.code).toBe(EXIT_FAILED);
    expect(withObjects.stderr).toContain('Part/_/p1');
    const builtIn = await tug('kinds', 'delete', 'app');
    expect(builtIn.code).toBe(EXIT_FAILED);
    expect(builtIn.stderr).toContain('built in and cannot be deleted');
    expect((await tug('kinds', 'delete', 'nothing')).code).toBe(EXIT_FAILED);
  });

  it('orders kinds so that referenced ones come first, whatever the cycle', () => {
    const kind = (name: string, refs: string[]) => ({ kind: name, references: refs.map((ref) => ({ path: 'x', kind: ref })) }) as never;
    expect(orderKindDocuments([kind('A', ['B']), kind('B', ['C']), kind('C', [])]).map((k: { kind: string }) => k.kind)).toEqual(['C', 'B', 'A']);
    expect(orderKindDocuments([kind('A', ['B']), kind('B', ['A'])]).map((k: { kind: string }) => k.kind)).toEqual(['B', 'A']);
  });
});
