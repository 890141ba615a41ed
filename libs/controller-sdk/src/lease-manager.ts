import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { ConflictError } from '@tugboat/resource-model';
import { systemClock, type Clock, type ClockTimer } from './clock.js';

/** Why a lease's signal was aborted: another holder may act on the object now. */
export class LeaseLostError extends ConflictError {
  constructor(key: string, why: string) {
    super(`lease on ${key} lost: ${why}`, { details: [{ path: 'lease', rule: 'held' }] });
  }
}

export interface Lease {
  readonly key: string;
  /** Aborted (with a `LeaseLostError`) as soon as the lease is known to be lost. */
  readonly signal: AbortSignal;
  /** What the previous holder left in the entry (e.g. a failure count), `{}` if nothing. */
  readonly previous: Record<string, unknown>;
  /** Checks the clock, not only the signal: false (and the signal aborted) once too close to expiry. */
  isHeld(): boolean;
  /** Throws the `LeaseLostError` unless `isHeld()`. */
  assertHeld(): void;
  /** Frees the entry for the next holder, leaving `data` in it. Never throws. */
  release(data?: Record<string, unknown>): Promise<void>;
}

export type AcquireResult = { held: true; lease: Lease } | { held: false; busyForMs: number };

/** One lease per key across every replica of a controller. */
export interface LeaseManager {
  acquire(key: string): Promise<AcquireResult>;
  /** Releases every lease still held (graceful shutdown). */
  releaseAll(): Promise<void>;
}

export interface KvLeaseManagerOptions {
  kv: KV;
  /** Unique per process: a restarted replica must not mistake its previous life's leases for its own. */
  holder: string;
  ttlMs: number;
  /**
   * A lease counts as lost this long before its expiry, so a write let through by `assertHeld`
   * lands before anyone else can take over. Default a quarter of the TTL.
   */
  safetyMarginMs?: number;
  /** Expiry judgements and the renewal and watchdog timers. Default the system clock. */
  clock?: Clock;
  onLost?: (key: string, error: LeaseLostError) => void;
}

interface LeaseValue {
  holder: string;
  expiresAt: number;
  data?: Record<string, unknown>;
}

const WRONG_LAST_SEQUENCE = 10071;
/** The server's answer to an expected last sequence when it cannot tell (2.10+). */
const WRONG_LAST_SEQUENCE_UNKNOWN = 10164;
/** Entries this process released and may take back with one compare-and-set, at most. */
const REMEMBERED_RELEASES = 10_000;

function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === WRONG_LAST_SEQUENCE || error.code === WRONG_LAST_SEQUENCE_UNKNOWN);
}

/**
 * Leases in a NATS KV bucket: the value holds the holder and an expiry timestamp; a lease is
 * taken by create (no entry) or compare-and-set on an expired or released entry, and renewed by
 * compare-and-set every third of its life. The bucket's max age only cleans up (per-key TTL is
 * ignored by nats-server 2.9). Expiry is judged by wall clocks, which must agree across replicas
 * to well within the safety margin.
 */
export function createKvLeaseManager(options: KvLeaseManagerOptions): LeaseManager {
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const ttl = options.ttlMs;
  const margin = options.safetyMarginMs ?? Math.floor(ttl / 4);
  const active = new Set<HeldLease>();
  /**
   * What this process last wrote when it released a key: taking it again is one compare-and-set
   * on that revision (it fails if anyone wrote since, and then the entry is read as usual).
   */
  const lastReleases = new Map<string, { revision: number; data: Record<string, unknown> }>();
  function rememberRelease(key: string, revision: number, data: Record<string, unknown>): void {
    lastReleases.delete(key);
    if (lastReleases.size >= REMEMBERED_RELEASES) lastReleases.delete(lastReleases.keys().next().value!);
    lastReleases.set(key, { revision, data });
  }

  class HeldLease implements Lease {
    readonly signal: AbortSignal;
    readonly #abort = new AbortController();
    #revision: number;
    #expiresAt: number;
    #lost = false;
    #released = false;
    #renewTimer: ClockTimer | undefined;
    #watchdog: ClockTimer | undefined;
    // Renewals and the release run one after the other, so each uses the latest revision.
    #chain: Promise<unknown> = Promise.resolve();
    /** Renewals queued or in flight on the chain. */
    #pending = 0;

    constructor(
      readonly key: string,
      revision: number,
      expiresAt: number,
      readonly previous: Record<string, unknown>,
    ) {
      this.signal = this.#abort.signal;
      this.#revision = revision;
      this.#expiresAt = expiresAt;
      this.#armWatchdog();
      this.#armRenewal();
      active.add(this);
    }

    isHeld(): boolean {
      if (this.#lost || this.#released) return false;
      if (now() >= this.#expiresAt - margin) {
        this.#lose('not renewed before expiry');
        return false;
      }
      return true;
    }

    assertHeld(): void {
      if (!this.isHeld()) throw this.signal.reason ?? new LeaseLostError(this.key, 'released');
    }

    release(data: Record<string, unknown> = {}): Promise<void> {
      if (this.#released) return Promise.resolve();
      const stillHeld = this.isHeld();
      this.#released = true;
      this.#stopTimers();
      active.delete(this);
      if (!stillHeld) return Promise.resolve();
      const send = async () => {
        const value: LeaseValue = { holder: '', expiresAt: 0, data };
        // Losing this write is harmless: the entry then frees itself at its expiry.
        const revision = await options.kv.update(this.key, encode(value), this.#revision).catch(() => undefined);
        if (revision === undefined) lastReleases.delete(this.key);
        else rememberRelease(this.key, revision, data);
      };
      // With no renewal in flight the release is sent now, in the caller's tick (what it sends in
      // the same tick, the message's ack, leaves in the same write); otherwise after the renewal.
      const released = this.#pending === 0 ? send() : this.#chain.then(send);
      this.#chain = released;
      return released;
    }

    async #renew(): Promise<void> {
      if (this.#lost || this.#released) return;
      const startedAt = now();
      const value: LeaseValue = { holder: options.holder, expiresAt: startedAt + ttl };
      try {
        const revision = await options.kv.update(this.key, encode(value), this.#revision);
        // Kept even when released meanwhile: the release queued behind this renewal needs it.
        this.#revision = revision;
        if (this.#lost || this.#released) return;
        // Counted from before the request: our view of the expiry is never later than the entry's.
        this.#expiresAt = startedAt + ttl;
        this.#armWatchdog();
      } catch (error) {
        if (isWrongLastSequence(error)) {
          this.#lose('taken over by another holder');
        }
        // Otherwise the bus is unreachable: try again at the next tick; the watchdog gives up in time.
      }
    }

    /** Every third of the TTL, counted from the last tick, whether or not the renewal landed. */
    #armRenewal(): void {
      this.#renewTimer = clock.setTimeout(() => {
        if (this.#lost || this.#released) return;
        this.#pending += 1;
        this.#chain = this.#chain.then(() => this.#renew()).finally(() => (this.#pending -= 1));
        this.#armRenewal();
      }, Math.max(1, Math.floor(ttl / 3)));
    }

    #armWatchdog(): void {
      clock.clearTimeout(this.#watchdog);
      // Timers may fire a millisecond early: check again rather than trust the first wake-up.
      this.#watchdog = clock.setTimeout(() => {
        if (this.isHeld()) this.#armWatchdog();
      }, Math.max(1, this.#expiresAt - margin - now()));
    }

    #stopTimers(): void {
      clock.clearTimeout(this.#renewTimer);
      clock.clearTimeout(this.#watchdog);
    }

    #lose(why: string): void {
      if (this.#lost) return;
      this.#lost = true;
      this.#stopTimers();
      active.delete(this);
      const error = new LeaseLostError(this.key, why);
      this.#abort.abort(error);
      options.onLost?.(this.key, error);
    }
  }

  return {
    async acquire(key) {
      const startedAt = now();
      const value = encode({ holder: options.holder, expiresAt: startedAt + ttl });
      // One round trip in the common cases: a key nobody holds yet (create on "no entry"), or one
      // this process released last (compare-and-set on the revision it wrote). Either fails if the
      // entry is not what we think, and then it is read and judged as below.
      const remembered = lastReleases.get(key);
      lastReleases.delete(key);
      try {
        const revision =
          remembered === undefined ? await options.kv.put(key, value, { previousSeq: 0 }) : await options.kv.update(key, value, remembered.revision);
        return { held: true, lease: new HeldLease(key, revision, startedAt + ttl, remembered?.data ?? {}) };
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
      const entry = await options.kv.get(key);
      let revision: number;
      let previous: Record<string, unknown> = {};
      try {
        if (entry === null || entry.operation !== 'PUT') {
          revision = await options.kv.create(key, value);
        } else {
          const current = decode(entry.value);
          if (current !== undefined && current.holder !== '' && current.expiresAt > startedAt) {
            return { held: false, busyForMs: current.expiresAt - startedAt };
          }
          previous = current?.data ?? {};
          revision = await options.kv.update(key, value, entry.revision);
        }
      } catch (error) {
        // Someone else won the race for the same entry.
        if (isWrongLastSequence(error)) return { held: false, busyForMs: ttl };
        throw error;
      }
      return { held: true, lease: new HeldLease(key, revision, startedAt + ttl, previous) };
    },

    async releaseAll() {
      await Promise.all([...active].map((lease) => lease.release()));
    },
  };
}

function encode(value: LeaseValue): string {
  return JSON.stringify(value);
}

function decode(bytes: Uint8Array): LeaseValue | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LeaseValue>;
    if (typeof value.holder !== 'string' || typeof value.expiresAt !== 'number') return undefined;
    return { holder: value.holder, expiresAt: value.expiresAt, data: value.data ?? {} };
  } catch {
    return undefined;
  }
}
