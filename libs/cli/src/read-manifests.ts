import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  API_VERSION,
  CLIENT_METADATA_FIELDS,
  PLATFORM_PROJECT,
  RESOURCE_FIELDS,
  SERVER_SET_METADATA_FIELDS,
  type KindDefinition,
  type ResourceInput,
} from '@tugboat/resource-model';
import { resolveKind } from './resolve-kind.js';
import { UsageError } from './usage-error.js';

/** One parsed YAML or JSON document and where it came from (`file.yaml#2`). */
export interface ManifestDocument {
  source: string;
  value: unknown;
}

/** A document checked against the kinds the API knows, ready to send. */
export interface Manifest {
  source: string;
  definition: KindDefinition;
  input: ResourceInput;
}

export interface ReadManifestsOptions {
  /** Files, directories (their `.yaml`, `.yml` and `.json` files, sorted) or `-` for stdin. */
  paths: readonly string[];
  cwd: string;
  stdin?: AsyncIterable<string | Uint8Array>;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export async function readManifestDocuments(options: ReadManifestsOptions): Promise<ManifestDocument[]> {
  if (options.paths.length === 0) throw new UsageError('-f/--filename: give a file, a directory or - for stdin', [{ path: '-f', rule: 'required' }]);
  const documents: ManifestDocument[] = [];
  // A file named twice (`-f a.yaml -f a.yaml`, or a directory and a file in it) is read once, not
  // refused as defining its own objects twice.
  const read = new Set<string>();
  for (const path of options.paths) {
    if (path === '-') {
      if (options.stdin === undefined) throw new UsageError('-f -: no standard input to read', [{ path: '-f', rule: 'stdin' }]);
      documents.push(...parseManifestText(await readAll(options.stdin), '<stdin>'));
      continue;
    }
    for (const file of await expandPath(resolve(options.cwd, path), path)) {
      if (read.has(file.absolute)) continue;
      read.add(file.absolute);
      documents.push(...parseManifestText(await readFile(file.absolute, 'utf8'), file.shown));
    }
  }
  if (documents.length === 0) {
    throw new UsageError(`-f ${options.paths.join(' ')}: no objects in it, only empty documents or comments`, [{ path: '-f', rule: 'minItems' }]);
  }
  return documents;
}

async function expandPath(absolute: string, shown: string): Promise<Array<{ absolute: string; shown: string }>> {
  let info;
  try {
    info = await stat(absolute);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message;
    throw new UsageError(`-f ${shown}: ${reason}`, [{ path: '-f', rule: 'exists' }]);
  }
  if (!info.isDirectory()) return [{ absolute, shown }];
  const names = (await readdir(absolute)).filter((name) => MANIFEST_EXTENSIONS.has(extname(name))).sort();
  if (names.length === 0) throw new UsageError(`-f ${shown}: the directory has no .yaml, .yml or .json files`, [{ path: '-f', rule: 'manifests' }]);
  return names.map((name) => ({ absolute: join(absolute, name), shown: join(shown, name) }));
}

async function readAll(stream: AsyncIterable<string | Uint8Array>): Promise<string> {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  chunks.push(decoder.decode());
  return chunks.join('');
}

/**
 * Multi-document YAML (JSON is a subset). Empty documents are skipped; a `{ items: [...] }` list
 * (what `tug get -o yaml|json` prints for a list) contributes its items.
 */
export function parseManifestText(text: string, shown: string): ManifestDocument[] {
  const documents: ManifestDocument[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    const source = `${shown}#${index + 1}`;
    const problem = document.errors[0];
    if (problem !== undefined) {
      const line = problem.linePos?.[0];
      const where = line === undefined ? source : `${shown}:${line.line}:${line.col}`;
      // The library's first line ends in its own "at line L, column C:" before a snippet: the place is already in front.
      const message = (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      throw new UsageError(`${where}: not valid YAML or JSON: ${message}`, [{ path: source, rule: 'syntax' }]);
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (isRecord(value) && value.kind === undefined && Array.isArray(value.items)) {
      value.items.forEach((item: unknown, itemIndex) => documents.push({ source: `${source}.items[${itemIndex}]`, value: item }));
      return;
    }
    documents.push({ source, value });
  });
  return documents;
}

/**
 * Checks the envelope (not the spec: the API validates that against the kind's schema) and keeps
 * only what a client may send, so the output of `tug get -o yaml` can be applied again. An unknown
 * field is refused, as the API refuses it.
 */
export function toManifest(document: ManifestDocument, kinds: readonly KindDefinition[], defaultProject: string | undefined): Manifest {
  const { source, value } = document;
  const fail = (path: string, rule: string, message: string): never => {
    throw new UsageError(`${source}: ${path}: ${message}`, [{ path, rule }]);
  };
  if (!isRecord(value)) return fail('(document)', 'type', 'must be an object with kind, metadata and spec');
  if (value.apiVersion !== undefined && value.apiVersion !== API_VERSION) {
    fail('apiVersion', 'enum', `must be ${API_VERSION} (got ${JSON.stringify(value.apiVersion)})`);
  }
  if (typeof value.kind !== 'string' || value.kind === '') fail('kind', 'required', 'is required');
  let definition: KindDefinition;
  try {
    definition = resolveKind(kinds, value.kind as string);
  } catch (error) {
    throw new UsageError(`${source}: ${(error as Error).message}`, [{ path: 'kind', rule: 'known-kind' }]);
  }
  const metadata = value.metadata;
  if (!isRecord(metadata)) return fail('metadata', 'required', 'is required (an object with at least a name)');
  // Refused, not dropped: a misspelt `spec:` would otherwise apply an empty spec over the object's.
  // What `tug get -o yaml` prints (status, the server's metadata) is accepted and left out.
  const unknown = [
    ...Object.keys(value).filter((key) => !RESOURCE_FIELDS.has(key)),
    ...Object.keys(metadata)
      .filter((key) => !CLIENT_METADATA_FIELDS.has(key) && !SERVER_SET_METADATA_FIELDS.has(key))
      .map((key) => `metadata.${key}`),
  ];
  if (unknown.length > 0) {
    throw new UsageError(
      `${source}: ${unknown.map((path) => `${path}: unknown field`).join('; ')} (an object has ${[...RESOURCE_FIELDS].join(', ')}; its metadata ${[...CLIENT_METADATA_FIELDS].join(', ')})`,
      unknown.map((path) => ({ path, rule: 'additionalProperties' })),
    );
  }
  if (typeof metadata.name !== 'string' || metadata.name === '') fail('metadata.name', 'required', 'is required');
  if (metadata.project !== undefined && typeof metadata.project !== 'string') fail('metadata.project', 'type', 'must be a string');
  if (metadata.labels !== undefined && !isRecord(metadata.labels)) fail('metadata.labels', 'type', 'must be a map of strings');
  const spec = value.spec ?? {};
  if (!isRecord(spec)) fail('spec', 'type', 'must be an object');

  let project = (metadata.project as string | undefined) ?? '';
  if (definition.scope === 'Project') {
    if (project === '') project = defaultProject ?? '';
    if (project === '') {
      fail('metadata.project', 'required', `is required for ${definition.kind} (project-scoped): set it in the file or pass -p PROJECT`);
    }
  } else if (project !== PLATFORM_PROJECT) {
    fail('metadata.project', 'platform-scope', `must be empty: ${definition.kind} is platform-wide`);
  }

  const input: ResourceInput = {
    apiVersion: API_VERSION,
    kind: definition.kind,
    metadata: {
      name: metadata.name as string,
      ...(project === '' ? {} : { project }),
      ...(metadata.labels === undefined ? {} : { labels: metadata.labels as Record<string, string> }),
      ...(Array.isArray(metadata.ownerReferences)
        ? {
            ownerReferences: (metadata.ownerReferences as unknown[]).filter(isRecord).map((owner) => ({
              kind: String(owner.kind),
              name: String(owner.name),
            })),
          }
        : {}),
    },
    spec: spec as Record<string, unknown>,
  };
  return { source, definition, input };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
