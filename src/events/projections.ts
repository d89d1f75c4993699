import type { Logger } from 'pino';
import { StrandError } from '../core/index.js';
import { systemClock, type Clock } from '../l1/index.js';
import type { DeadLetter, ProjectionStore } from './projections-store.js';

/*
 * Projections (docs/EVENTS.md "Projections"): in-process consumers of the log. Each follows the
 * log in order from its persisted cursor (a log index), sees the events of its subscription (a
 * tenant, optionally one entity type or one stream), and moves its cursor after each handled
 * event. A handler that throws is retried with exponential backoff up to `maxAttempts`; then
 * the event is parked in the projection's dead-letter queue and the projection moves on. Parked
 * events can be listed, re-delivered and purged (admin routes). Delivery is at least once: a
 * crash after the handler and before the cursor write delivers that event again.
 */

type Awaitable<T> = T | Promise<T>;

/** One event as a projection sees it: the VES JSON envelope and its place in the log. */
export interface ProjectionEvent {
  readonly logIndex: number;
  readonly streamSequence: number;
  readonly event: Record<string, unknown>;
  readonly receipt: Record<string, unknown> & { readonly eventId: string; readonly tenantId: string };
}

/** The slice of EventService a projection reads (awaited, so an async store fits). */
export interface ProjectionSource {
  size(): Awaitable<number>;
  eventAt(logIndex: number): Awaitable<{ event: Record<string, unknown>; receipt: { eventId: string; tenantId: string; streamSequence: number; logIndex: number } } | undefined>;
}

export interface Subscription {
  readonly tenantId: string;
  readonly entityType?: string | undefined;
  /** Only with entityType: one stream. */
  readonly entityId?: string | undefined;
}

export type ProjectionHandler = (e: ProjectionEvent, ctx: { readonly attempt: number; readonly signal: AbortSignal }) => Promise<void>;

export interface ProjectionDefinition {
  /** Unique per node; names the cursor and the dead-letter queue. */
  readonly name: string;
  readonly subscription: Subscription;
  readonly handler: ProjectionHandler;
  /** Deliveries before an event is parked (default 5). */
  readonly maxAttempts?: number;
  /** Delay before retry n (n from 1) = min(maxMs, baseMs * 2^(n-1)); defaults 500 ms, 60 s. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
}

export const PROJECTION_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function matches(s: Subscription, e: Record<string, unknown>): boolean {
  if (e.tenant_id !== s.tenantId) return false;
  if (s.entityType !== undefined && e.entity_type !== s.entityType) return false;
  return s.entityId === undefined || e.entity_id === s.entityId;
}

/** The retry schedule, without jitter: one in-process consumer has no herd to spread. */
export function retryDelay(attempt: number, backoff: { baseMs: number; maxMs: number }): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt - 1, 40));
}

export interface ProjectionInfo {
  readonly name: string;
  readonly subscription: Subscription;
  readonly cursor: number;
  readonly logSize: number;
  readonly deadLetters: number;
  readonly maxAttempts: number;
  /** The event being delivered and its failed attempts so far, while it is being retried. */
  readonly retrying: { readonly logIndex: number; readonly attempts: number; readonly lastError: string } | null;
}

export interface RetryOutcome {
  readonly logIndex: number;
  readonly delivered: boolean;
  readonly error?: string;
}

/** What the admin routes use. */
export interface ProjectionAdmin {
  list(): Promise<ProjectionInfo[]>;
  info(name: string): Promise<ProjectionInfo>;
  deadLetters(name: string, limit: number): DeadLetter[];
  retry(name: string, logIndex?: number): Promise<RetryOutcome[]>;
  purge(name: string, logIndex?: number): Promise<number>;
}

export interface ProjectionRunnerOptions {
  readonly source: ProjectionSource;
  readonly store: ProjectionStore;
  /** How often an idle projection looks for new events (default 200 ms). */
  readonly pollMs?: number;
  /** Events read per pass (default 256). */
  readonly batch?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 500);

interface Running {
  readonly def: Required<Omit<ProjectionDefinition, 'subscription'>> & { subscription: Subscription };
  /** Serialises handler calls of one projection (live delivery and admin retries). */
  lock: Promise<unknown>;
  retrying: ProjectionInfo['retrying'];
  wake: (() => void) | null;
  done: Promise<void> | null;
}

export class ProjectionRunner implements ProjectionAdmin {
  private readonly projections = new Map<string, Running>();
  private controller: AbortController | null = null;
  private readonly clock: Clock;

  constructor(private readonly opts: ProjectionRunnerOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Adds a projection; it starts at once when the runner is running. */
  register(def: ProjectionDefinition): void {
    if (!PROJECTION_NAME.test(def.name)) throw new StrandError('INVALID_REQUEST', `projection name ${JSON.stringify(def.name)} must match ${PROJECTION_NAME.source}`);
    if (this.projections.has(def.name)) throw new StrandError('INVALID_REQUEST', `projection ${def.name} is already registered`);
    if (def.subscription.entityId !== undefined && def.subscription.entityType === undefined) throw new StrandError('INVALID_REQUEST', 'a stream subscription needs entityType with entityId');
    const maxAttempts = def.maxAttempts ?? 5;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new StrandError('INVALID_REQUEST', 'maxAttempts must be a positive integer');
    const p: Running = { def: { ...def, maxAttempts, backoff: def.backoff ?? { baseMs: 500, maxMs: 60_000 } }, lock: Promise.resolve(), retrying: null, wake: null, done: null };
    this.projections.set(def.name, p);
    if (this.controller) p.done = this.follow(p, this.controller.signal);
  }

  start(): void {
    if (this.controller) return;
    this.controller = new AbortController();
    for (const p of this.projections.values()) p.done = this.follow(p, this.controller.signal);
  }

  /** Stops after the handler calls in flight return. */
  async stop(): Promise<void> {
    const c = this.controller;
    if (!c) return;
    c.abort();
    await Promise.all([...this.projections.values()].map((p) => p.done));
    for (const p of this.projections.values()) p.done = null;
    this.controller = null;
  }

  /** New events are in the log: idle projections look now instead of after pollMs. */
  notify(): void {
    for (const p of this.projections.values()) p.wake?.();
  }

  private get(name: string): Running {
    const p = this.projections.get(name);
    if (!p) throw new StrandError('NOT_FOUND', `no projection ${name}`);
    return p;
  }

  private withLock<T>(p: Running, fn: () => Promise<T>): Promise<T> {
    const run = p.lock.then(fn, fn);
    p.lock = run.catch(() => undefined);
    return run;
  }

  private async sleep(p: Running, ms: number, signal: AbortSignal): Promise<void> {
    const wake = new AbortController();
    p.wake = () => wake.abort();
    await this.clock.sleep(ms, AbortSignal.any([signal, wake.signal]));
    p.wake = null;
  }

  private async follow(p: Running, signal: AbortSignal): Promise<void> {
    const { source, store } = this.opts;
    const batch = this.opts.batch ?? 256;
    while (!signal.aborted) {
      try {
        const size = await source.size();
        let cursor = store.cursor(p.def.name);
        if (cursor >= size) {
          await this.sleep(p, this.opts.pollMs ?? 200, signal);
          continue;
        }
        const end = Math.min(size, cursor + batch);
        for (; cursor < end && !signal.aborted; cursor++) {
          const view = await source.eventAt(cursor);
          if (!view) throw new Error(`event ${cursor} missing from the log`);
          if (!matches(p.def.subscription, view.event)) continue;
          const e: ProjectionEvent = { logIndex: cursor, streamSequence: view.receipt.streamSequence, event: view.event, receipt: view.receipt as ProjectionEvent['receipt'] };
          const dead = await this.deliver(p, e, signal);
          if (signal.aborted) return; // not delivered nor parked: the next start delivers it again
          // Cursors of skipped events are written with the next delivered one (or below).
          await store.advance(p.def.name, cursor + 1, dead ?? undefined);
        }
        if (!signal.aborted) await store.advance(p.def.name, cursor);
      } catch (err) {
        this.opts.logger?.warn({ err, projection: p.def.name }, 'projection pass failed');
        await this.sleep(p, this.opts.pollMs ?? 200, signal);
      }
    }
  }

  /** Delivers with retries; returns the dead letter when every attempt failed. */
  private async deliver(p: Running, e: ProjectionEvent, signal: AbortSignal): Promise<DeadLetter | null> {
    const firstFailedAt = { at: 0 };
    let lastError = '';
    for (let attempt = 1; attempt <= p.def.maxAttempts; attempt++) {
      const ok = await this.withLock(p, async () => {
        try {
          await p.def.handler(e, { attempt, signal });
          return true;
        } catch (err) {
          lastError = errorText(err);
          if (attempt === 1) firstFailedAt.at = this.clock.now();
          return false;
        }
      });
      if (ok) {
        p.retrying = null;
        return null;
      }
      p.retrying = { logIndex: e.logIndex, attempts: attempt, lastError };
      this.opts.logger?.warn({ projection: p.def.name, logIndex: e.logIndex, attempt, error: lastError }, 'projection handler failed');
      if (attempt < p.def.maxAttempts) {
        await this.clock.sleep(retryDelay(attempt, p.def.backoff), signal);
        if (signal.aborted) return null;
      }
    }
    p.retrying = null;
    this.opts.logger?.error({ projection: p.def.name, logIndex: e.logIndex, eventId: e.receipt.eventId, attempts: p.def.maxAttempts, error: lastError }, 'event parked in the dead-letter queue');
    return { projection: p.def.name, logIndex: e.logIndex, eventId: e.receipt.eventId, attempts: p.def.maxAttempts, lastError, firstFailedAt: firstFailedAt.at, parkedAt: this.clock.now() };
  }

  // ---- admin -------------------------------------------------------------------------

  async info(name: string): Promise<ProjectionInfo> {
    const p = this.get(name);
    const { store } = this.opts;
    return {
      name,
      subscription: p.def.subscription,
      cursor: store.cursor(name),
      logSize: await this.opts.source.size(),
      deadLetters: store.deadLetterCount(name),
      maxAttempts: p.def.maxAttempts,
      retrying: p.retrying,
    };
  }

  async list(): Promise<ProjectionInfo[]> {
    const out: ProjectionInfo[] = [];
    for (const name of this.projections.keys()) out.push(await this.info(name));
    return out;
  }

  deadLetters(name: string, limit: number): DeadLetter[] {
    this.get(name);
    return this.opts.store.deadLetters(name, limit);
  }

  /**
   * Re-delivers one parked event (or all, oldest first), once each: a success leaves the queue,
   * a failure stays with its attempts and error updated.
   */
  async retry(name: string, logIndex?: number): Promise<RetryOutcome[]> {
    const p = this.get(name);
    const { store, source } = this.opts;
    const entries = logIndex === undefined ? store.deadLetters(name, Number.MAX_SAFE_INTEGER) : [store.deadLetter(name, logIndex)];
    if (entries[0] === undefined) throw new StrandError('NOT_FOUND', `projection ${name} has no dead letter at log index ${String(logIndex)}`);
    const out: RetryOutcome[] = [];
    for (const d of entries as DeadLetter[]) {
      const view = await source.eventAt(d.logIndex);
      if (!view) throw new Error(`event ${d.logIndex} missing from the log`);
      const e: ProjectionEvent = { logIndex: d.logIndex, streamSequence: view.receipt.streamSequence, event: view.event, receipt: view.receipt as ProjectionEvent['receipt'] };
      const error = await this.withLock(p, async () => {
        try {
          await p.def.handler(e, { attempt: d.attempts + 1, signal: new AbortController().signal });
          return null;
        } catch (err) {
          return errorText(err);
        }
      });
      if (error === null) {
        await store.removeDeadLetters(name, [d.logIndex]);
        out.push({ logIndex: d.logIndex, delivered: true });
      } else {
        await store.putDeadLetter({ ...d, attempts: d.attempts + 1, lastError: error });
        out.push({ logIndex: d.logIndex, delivered: false, error });
      }
    }
    return out;
  }

  /** Drops one parked event (or all of the projection's): they are not delivered again. */
  async purge(name: string, logIndex?: number): Promise<number> {
    this.get(name);
    const { store } = this.opts;
    if (logIndex !== undefined) {
      const n = await store.removeDeadLetters(name, [logIndex]);
      if (n === 0) throw new StrandError('NOT_FOUND', `projection ${name} has no dead letter at log index ${logIndex}`);
      return n;
    }
    return store.removeDeadLetters(name, store.deadLetters(name, Number.MAX_SAFE_INTEGER).map((d) => d.logIndex));
  }
}

// The node attaches its runner to the service whose log it follows; the routes look it up.
const runners = new WeakMap<object, ProjectionAdmin>();

export function attachProjections(service: object, admin: ProjectionAdmin): void {
  runners.set(service, admin);
}

export function projectionsOf(service: object): ProjectionAdmin | undefined {
  return runners.get(service);
}

/**
 * A handler that POSTs each event as JSON ({projection, logIndex, event, receipt}) to `url`;
 * any answer but 2xx, or no answer within `timeoutMs`, is a failure (retried, then parked).
 */
export function webhookHandler(projection: string, url: string, timeoutMs = 10_000): ProjectionHandler {
  return async (e, { signal }) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-strand-projection': projection, 'idempotency-key': `${projection}/${e.logIndex}` },
      body: JSON.stringify({ projection, logIndex: e.logIndex, streamSequence: e.streamSequence, event: e.event, receipt: e.receipt }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new Error(`webhook ${url} answered ${res.status}`);
  };
}
