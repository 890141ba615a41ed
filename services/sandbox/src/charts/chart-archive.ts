/**
 * A chart directory packed as `helm package` would: a gzipped tar of `{name}/…`. Deterministic
 * (sorted entries, a fixed mtime, portable headers without owners), so the archive's digest — the
 * one the index and the OCI manifest announce — is the same at every sandbox start.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { create } from 'tar';
import { parse } from 'yaml';

/** The time every chart entry carries: archives, index entries and OCI annotations. */
export const CHART_TIMESTAMP = new Date('2025-01-01T00:00:00Z');

export interface ChartArchive {
  name: string;
  version: string;
  /** Chart.yaml as read (apiVersion, name, version, appVersion, description, …). */
  metadata: Record<string, unknown>;
  /** The `.tgz` bytes. */
  archive: Buffer;
  /** Hex sha256 of `archive`. */
  sha256: string;
}

export async function packChart(dir: string): Promise<ChartArchive> {
  const metadata = parse(await readFile(join(dir, 'Chart.yaml'), 'utf8')) as unknown;
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || typeof metadata.version !== 'string') {
    throw new Error(`${dir}/Chart.yaml has no name or version`);
  }
  const files = (await listFiles(dir)).map((file) => relative(dir, file).split(sep).join('/')).sort();
  const chunks: Buffer[] = [];
  const stream = create({ cwd: dir, prefix: metadata.name, gzip: true, portable: true, mtime: CHART_TIMESTAMP, noDirRecurse: true }, files);
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  const archive = Buffer.concat(chunks);
  return { name: metadata.name, version: metadata.version, metadata, archive, sha256: createHash('sha256').update(archive).digest('hex') };
}

/** Every regular file under `dir`, recursively (directories are implied by the paths, as in `helm package`'s archives). */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
