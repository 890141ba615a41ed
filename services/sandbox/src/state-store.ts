/**
 * Saves the sandbox's state to `DIR/state.json` — debounced, written to a temporary file and
 * renamed, so a crash never leaves half a file — and reads it back at start.
 *
 * A save serialises the whole state, so its cost grows with the state: the pause between two saves
 * grows with it (at least 20 times what the last one took, serialising and writing), which keeps
 * saving under 5 % of the sandbox's time however many objects it holds. Parts of the state that
 * never change once made (`immutable`) are serialised once and their text reused.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
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
  /**
   * Whether a value of the state (at `key` of `holder`) is never changed once made, so that its text
   * can be kept from one save to the next (by identity).
   */
  immutable?: (key: string, value: object, holder: unknown) => boolean;
}

/** JSON.stringify(state), reusing the text of immutable parts from earlier saves. */
function serialiser(immutable: StateStoreOptions<unknown>['immutable']): (state: unknown) => string {
  if (immutable === undefined) return (state) => JSON.stringify(state);
  let texts = new WeakMap<object, string>();
  return (state) => {
    // Each immutable part is written as a placeholder string, then replaced by its text: the marker is
    // random per save, so no string of the state itself can look like one.
    const marker = `\u0001${randomBytes(8).toString('hex')}:`;
    const parts: string[] = [];
    const used = new WeakMap<object, string>();
    const outline = JSON.stringify(state, function (this: unknown, key: string, value: unknown) {
      if (typeof value !== 'object' || value === null || !immutable(key, value, this)) return value;
      let text = texts.get(value);
      if (text === undefined) {
        text = JSON.stringify(value);
        texts.set(value, text);
      }
      used.set(value, text);
      parts.push(text);
      return `${marker}${parts.length - 1}`;
    });
    // Texts of parts no longer in the state are dropped with the parts (a WeakMap), and only those.
    texts = used;
    const quotedMarker = JSON.stringify(marker).slice(0, -1);
    const pieces = outline.split(quotedMarker);
    let out = pieces[0] ?? '';
    for (let index = 1; index < pieces.length; index += 1) {
      const piece = pieces[index] as string;
      const end = piece.indexOf('"');
      out += (parts[Number(piece.slice(0, end))] as string) + piece.slice(end + 1);
    }
    return out;
  };
}

export function createStateStore<State>(options: StateStoreOptions<State>): StateStore<State> {
  const path = join(options.dir, options.fileName ?? 'state.json');
  const debounceMs = options.debounceMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let pending = false;
  let writing: Promise<void> = Promise.resolve();
  /** How long the last save held the event loop (reading and serialising the state). */
  let lastSaveMs = 0;
  /** How long the last write of the file took (it also costs CPU, in the thread pool and the kernel). */
  let lastWriteMs = 0;
  const serialise = serialiser(options.immutable as StateStoreOptions<unknown>['immutable']);

  function save(): Promise<void> {
    pending = false;
    const started = performance.now();
    // `read()` may hand out live objects: they are serialised here, before anything else runs.
    const text = `${serialise(options.read())}\n`;
    lastSaveMs = performance.now() - started;
    writing = writing
      .then(async () => {
        const writeStarted = performance.now();
        await writeFileAtomic(path, text);
        lastWriteMs = performance.now() - writeStarted;
      })
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
        Math.max(debounceMs, Math.min(30_000, (lastSaveMs + lastWriteMs) * 20)),
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
