/**
 * Saves the sandbox's state to `DIR/state.json` — debounced, written to a temporary file and
 * renamed, so a crash never leaves half a file — and reads it back at start.
 *
 * A save serialises the whole state, so its cost grows with the state: the pause between two saves
 * grows with it (at least 20 times what the last one took), which keeps saving under 5 % of the
 * sandbox's time however many objects it holds.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { InputError } from '@tugboat/resource-model';
import type { Logger } from 'pino';

export interface StateStore<State> {
  load(): Promise<State | undefined>;
  /** Saves `read()` after the debounce interval; repeated calls within it save once. */
  scheduleSave(): void;
  /** Saves now if a save is pending (or `force`), and waits for it. */
  flush(force?: boolean): Promise<void>;
  readonly path: string;
}

export interface StateStoreOptions<State> {
  dir: string;
  read: () => State;
  logger: Logger;
  debounceMs?: number;
  fileName?: string;
}

export function createStateStore<State>(options: StateStoreOptions<State>): StateStore<State> {
  const path = join(options.dir, options.fileName ?? 'state.json');
  const debounceMs = options.debounceMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let pending = false;
  let writing: Promise<void> = Promise.resolve();
  /** How long the last save held the event loop (reading and serialising the state). */
  let lastSaveMs = 0;

  function save(): Promise<void> {
    pending = false;
    const started = performance.now();
    // `read()` may hand out live objects: they are serialised here, before anything else runs.
    const text = `${JSON.stringify(options.read())}\n`;
    lastSaveMs = performance.now() - started;
    writing = writing
      .then(() => writeFileAtomic(path, text))
      .catch((error: unknown) => options.logger.error({ err: error, path }, 'saving sandbox state failed'));
    return writing;
  }

  return {
    path,
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      try {
        return JSON.parse(text) as State;
      } catch (error) {
        throw new InputError(`${path}: not a saved sandbox state (${(error as Error).message}); move it away to start afresh`, {
          details: [{ path: 'stateDir', rule: 'state-file' }],
          cause: error,
        });
      }
    },
    scheduleSave() {
      pending = true;
      if (timer) return;
      timer = setTimeout(
        () => {
          timer = undefined;
          void save();
        },
        Math.max(debounceMs, Math.min(30_000, lastSaveMs * 20)),
      );
      timer.unref();
    },
    async flush(force = false) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (pending || force) await save();
      else await writing;
    },
  };
}

/** Writes `text` beside `path` and renames it over `path`: readers see the old file or the new one. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, text, 'utf8');
  await rename(temporary, path);
}
