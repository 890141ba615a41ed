import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { REDACTED } from '@tugboat/resource-model';
import { UsageError } from './usage-error.js';

/** The most a secret value may hold: 64 KiB of UTF-8. */
export const SECRET_VALUE_MAX_BYTES = 64 * 1024;

export type SecretValueSource = { file: string; cwd: string } | { stdin: AsyncIterable<string | Uint8Array> };

export interface ReadSecretValueOptions {
  source: SecretValueSource;
  /** Strip one trailing newline (`\n` or `\r\n`): what `echo` and most editors add. */
  trim: boolean;
}

/**
 * Reads a secret value as bytes and returns it as a string, refusing (a usage error that says what
 * to fix, never the value) one that is empty, over 64 KiB or not UTF-8. Reading stops past the
 * limit, so `--from-file /dev/urandom` ends at once. Nothing is trimmed but what `trim` asks for:
 * the value is the bytes given.
 */
export async function readSecretValue(options: ReadSecretValueOptions): Promise<string> {
  const { source } = options;
  const flag = 'file' in source ? '--from-file' : '--from-stdin';
  const bytes = 'file' in source ? await readFileBounded(source.file, source.cwd) : await readBounded(source.stdin, flag);
  let value: string;
  try {
    // Exactly the bytes given: a byte-order mark is kept, as any other character.
    value = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UsageError(`${flag}: the value is not valid UTF-8 text; secret fields hold text: encode binary data first (e.g. base64)`, [
      { path: flag, rule: 'utf-8' },
    ]);
  }
  if (options.trim) value = value.replace(/\r?\n$/, '');
  if (value === '') {
    const why = options.trim && bytes.length > 0 ? ' (only a newline, removed by --trim)' : '';
    throw new UsageError(`${flag}: the value is empty${why}; give the value to set (to remove a secret, edit the manifest and tug apply it)`, [
      { path: flag, rule: 'non-empty' },
    ]);
  }
  if (value === REDACTED) {
    throw new UsageError(`${flag}: the value is "${REDACTED}", which the API takes as "keep the stored value"; it cannot be set as a secret`, [
      { path: flag, rule: 'not-redacted' },
    ]);
  }
  return value;
}

async function readFileBounded(file: string, cwd: string): Promise<Uint8Array> {
  try {
    // A stream, not a stat and a read: `<(pass show db)` and other pipes have no size to check first.
    return await readBounded(createReadStream(resolve(cwd, file)), '--from-file');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : code;
    throw new UsageError(`--from-file: cannot read ${file}: ${why}`, [{ path: '--from-file', rule: 'readable' }]);
  }
}

/** Collects at most `SECRET_VALUE_MAX_BYTES`; one byte more is refused without reading the rest. */
async function readBounded(chunks: AsyncIterable<string | Uint8Array>, flag: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const encoder = new TextEncoder();
  for await (const chunk of chunks) {
    const part = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    total += part.length;
    if (total > SECRET_VALUE_MAX_BYTES) {
      throw new UsageError(`${flag}: the value is over ${SECRET_VALUE_MAX_BYTES / 1024} KiB (${SECRET_VALUE_MAX_BYTES} bytes), the most tug secret set takes; give a smaller one`, [
        { path: flag, rule: 'max-size' },
      ]);
    }
    parts.push(part);
  }
  return Buffer.concat(parts);
}
