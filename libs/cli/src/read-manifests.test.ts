import { BUILTIN_KINDS } from '@tugboat/resource-model';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifestText, readManifestDocuments, toManifest } from './read-manifests.js';

describe('parseManifestText', () => {
  it('reads multi-document YAML, JSON and item lists, skipping empty documents', () => {
    const documents = parseManifestText('kind: A\n---\n---\n{"kind": "B"}\n---\nitems: [{ kind: C }, { kind: D }]\n', 'x.yaml');
    expect(documents).toEqual([
      { source: 'x.yaml#1', value: { kind: 'A' } },
      { source: 'x.yaml#3', value: { kind: 'B' } },
      { source: 'x.yaml#4.items[0]', value: { kind: 'C' } },
      { source: 'x.yaml#4.items[1]', value: { kind: 'D' } },
    ]);
  });

  it('names the line of a syntax error once, without the library\'s own dangling "at line …:"', () => {
    expect(() => parseManifestText('kind: A\nmetadata: {name: [\n', 'x.yaml')).toThrow(/^x\.yaml:\d+:\d+: not valid YAML or JSON/);
    expect(() => parseManifestText('kind: A\n\tx: 1\n', 'x.yaml')).toThrow(/^x\.yaml:2:1: not valid YAML or JSON: Tabs are not allowed as indentation$/);
  });
});

describe('toManifest', () => {
  const check = (value: unknown, project?: string) => () => toManifest({ source: 'x.yaml#1', value }, BUILTIN_KINDS, project);

  it('keeps only what a client sends and resolves kind aliases', () => {
    const fromGet = {
      apiVersion: 'tugboat.dev/v1',
      kind: 'app',
      metadata: { name: 'web', project: 'team-a', uid: 'u', resourceVersion: '7', generation: 2, labels: { a: 'b' } },
      spec: { overrides: { image: 'x' } },
      status: { phase: 'Ready' },
    };
    expect(check(fromGet)().input).toEqual({
      apiVersion: 'tugboat.dev/v1',
      kind: 'WorkloadInstance',
      metadata: { name: 'web', project: 'team-a', labels: { a: 'b' } },
      spec: { overrides: { image: 'x' } },
    });
  });

  it('names the field and the rule of every envelope problem', () => {
    expect(check('text')).toThrow('x.yaml#1: (document): must be an object');
    expect(check({ apiVersion: 'v2', kind: 'app' })).toThrow('x.yaml#1: apiVersion: must be tugboat.dev/v1');
    expect(check({ metadata: { name: 'a' } })).toThrow('x.yaml#1: kind: is required');
    expect(check({ kind: 'Nope', metadata: { name: 'a' } })).toThrow('x.yaml#1: unknown kind "Nope"');
    expect(check({ kind: 'app', spec: {} })).toThrow('x.yaml#1: metadata: is required');
    expect(check({ kind: 'app', metadata: {} })).toThrow('x.yaml#1: metadata.name: is required');
    expect(check({ kind: 'app', metadata: { name: 'a' }, spec: [] }, 'p')).toThrow('x.yaml#1: spec: must be an object');
    expect(check({ kind: 'app', metadata: { name: 'a' } })).toThrow('metadata.project: is required for WorkloadInstance');
    expect(check({ kind: 'cd', metadata: { name: 'a', project: 'team-a' } })).toThrow('metadata.project: must be empty: ClusterDefinition is platform-wide');
    expect(check({ kind: 'cd', metadata: { name: 'a' } }, 'team-a')().input.metadata).toEqual({ name: 'a' });
  });

  it('refuses unknown fields instead of dropping them (a misspelt spec would empty the object)', () => {
    const typo = check({ kind: 'Project', metadata: { name: 'demo', lables: { a: 'b' } }, spce: { description: 'x' }, extra: 1 });
    expect(typo).toThrow('x.yaml#1: spce: unknown field; extra: unknown field; metadata.lables: unknown field (an object has apiVersion, kind, metadata, spec, status');
    try {
      typo();
    } catch (error) {
      expect((error as { details: unknown }).details).toEqual([
        { path: 'spce', rule: 'additionalProperties' },
        { path: 'extra', rule: 'additionalProperties' },
        { path: 'metadata.lables', rule: 'additionalProperties' },
      ]);
    }
    expect.assertions(2);
  });
});

describe('readManifestDocuments', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tug-manifests-'));
    await writeFile(join(dir, 'a.yaml'), 'kind: A\n');
    await writeFile(join(dir, 'empty.yaml'), '# only a comment\n---\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file named twice (or a directory and a file in it) once', async () => {
    const documents = await readManifestDocuments({ paths: ['a.yaml', './a.yaml', '.'], cwd: dir });
    expect(documents).toEqual([{ source: 'a.yaml#1', value: { kind: 'A' } }]);
  });

  it('refuses files that hold no object, naming them, before anything is sent', async () => {
    await expect(readManifestDocuments({ paths: ['empty.yaml'], cwd: dir })).rejects.toThrow('-f empty.yaml: no objects in it, only empty documents or comments');
  });
});
