/**
 * Work waiting per endpoint, so that a free worker always takes work some endpoint can accept: a
 * row whose endpoint already has `limit` requests in flight (or is paused) waits in that endpoint's
 * queue without holding a worker. Endpoints take turns: one with more waiting goes to the back of
 * the line after each take, so a long queue for one endpoint never starves another.
 *
 * A worker held by an endpoint that does not answer is held for a whole timeout, and cannot be
 * taken back, so endpoints earn their slots (as TCP's slow start does): one starts with
 * `startLimit` in flight, gains a slot for each answer up to `limit`, and halves on each request
 * nobody answered. One known to be failing starts at a single slot. The struggling ones (failing,
 * or answering slowly: `markSlow`) and the newcomers are held to their shares of the workers
 * (worker-shares.ts), so black holes, slow receivers and strangers cannot take them all. A slow or
 * missing answer counts SLOW_STRIKES against an endpoint and each prompt answer halves the count, so
 * a receiver that hangs on every other request stays with the struggling ones: cleared by one
 * prompt answer, it took its hanging requests out of their count.
 */
import { Fifo } from "../fifo.js";
import type { EndpointStanding } from "./endpoint-memory.js";
import { InFlight } from "./in-flight.js";
import { struggles, WorkerShares } from "./worker-shares.js";

interface Endpoint<T> {
  readonly queue: Fifo<T>;
  /** Requests this queue has in flight to it (other passes' count in `InFlight` too). */
  active: number;
  /** Requests it may have in flight now (its window). */
  limit: number;
  /** Above 0 it struggles: requests went unanswered or were answered slowly lately (or its circuit says it fails). */
  strikes: number;
  /** No take before then (a rate limit's next slot). */
  pausedUntilMs: number;
  /** Whether the endpoint's key is in the line of endpoints with something to take. */
  lined: boolean;
  /** Not to be taken from until `unhold` (what is known of it is still being read). */
  held: boolean;
  /** The group it is known by as well (its host), if any. */
  readonly group: string | undefined;
  /** Whether its standing is its own (it was heard from, in this pass or one the memory kept), not a newcomer's. */
  heard: boolean;
}

export interface EndpointLimits<T> {
  /** The most requests one endpoint may have in flight. */
  readonly limit: number;
  /** An endpoint's window before it answered (default: `limit`, no slow start). */
  readonly startLimit?: number;
  /** The most requests in flight to struggling (failing or slow) endpoints, all together (default: no bound). */
  readonly strugglingShare?: number;
  /** Where what is learned of endpoints is kept (default: for this queue's life only). */
  readonly memory?: HealthMemory;
  /**
   * The group a row's endpoint belongs to (its host), whose standing a newcomer starts with: one of
   * many URLs on a host known to struggle starts struggling, with one slot.
   */
  readonly groupOf?: (row: T) => string | undefined;
  /**
   * The most requests in flight to endpoints not yet heard from (newcomers) and struggling ones, all
   * together (default: no bound): what is left is for endpoints known to answer promptly, so that a
   * stream of newcomers (per-task URLs, each on a new host) cannot take every worker.
   */
  readonly unprovenShare?: number;
  /**
   * Requests in flight to each endpoint from every pass of the process, which an endpoint's window
   * bounds (default: this queue's alone). `onFreed` is told when another pass frees a slot that a
   * row waiting here can now take.
   */
  readonly inFlight?: InFlight;
  readonly onFreed?: () => void;
}

/**
 * What is known of an endpoint between its busy spells, so that it is learned once: kept for the
 * pass, or in a memory that outlives passes (endpoint-memory.ts).
 */
export interface HealthMemory {
  get(key: string): EndpointStanding | undefined;
  set(key: string, standing: EndpointStanding): void;
  /** Requests in flight from every pass sharing this memory. */
  readonly inFlight?: InFlight;
}

/**
 * What a slow or missing answer counts against an endpoint: halved by each prompt answer, it is
 * cleared by the third in a row.
 */
export const SLOW_STRIKES = 4;

export class EndpointQueues<T> {
  private readonly endpoints = new Map<string, Endpoint<T>>();
  private readonly health: HealthMemory;
  /** Endpoints that may have a row to take, in turn order. */
  private readonly line = new Fifo<string>();
  private queued = 0;
  private readonly shares: WorkerShares;
  private readonly limit: number;
  private readonly startLimit: number;
  private readonly groupOf: ((row: T) => string | undefined) | undefined;
  private readonly inFlight: InFlight;
  private readonly onFreed: (() => void) | undefined;
  private readonly stopListening: () => void;

  constructor(
    limits: number | EndpointLimits<T>,
    private readonly keyOf: (row: T) => string,
  ) {
    const l: EndpointLimits<T> = typeof limits === "number" ? { limit: limits } : limits;
    this.limit = l.limit;
    this.startLimit = Math.min(l.limit, l.startLimit ?? l.limit);
    this.shares = new WorkerShares(l.strugglingShare, l.unprovenShare);
    this.health = l.memory ?? new Map<string, EndpointStanding>();
    this.groupOf = l.groupOf;
    this.inFlight = l.inFlight ?? new InFlight();
    this.onFreed = l.onFreed;
    this.stopListening = this.inFlight.listen(this.freedElsewhere);
  }

  /**
   * Another pass freed a slot of `key`: its rows waiting here may take it, with what that pass
   * learned of it (its request timed out, say, and halved the window).
   */
  private readonly freedElsewhere = (key: string): void => {
    const e = this.endpoints.get(key);
    if (!e) return;
    const known = this.health.get(key);
    if (known) {
      e.limit = known.limit;
      this.shares.restand(e, () => {
        e.strikes = known.strikes;
        e.heard = true;
      });
    }
    this.enline(key, e);
    if (e.lined) this.onFreed?.();
  };

  /** Hears no more of other passes' slots (the pass is over). */
  close(): void {
    this.stopListening();
  }

  /** Rows waiting (not yet taken). */
  get size(): number {
    return this.queued;
  }

  private endpoint(key: string, row?: T): Endpoint<T> {
    let e = this.endpoints.get(key);
    if (!e) {
      const group = row === undefined ? undefined : this.groupOf?.(row);
      const own = this.health.get(key);
      const standing = own ?? this.newcomerIn(group);
      e = {
        queue: new Fifo<T>(),
        active: 0,
        limit: standing.limit,
        strikes: standing.strikes,
        pausedUntilMs: 0,
        lined: false,
        held: false,
        group,
        heard: own !== undefined,
      };
      this.endpoints.set(key, e);
    }
    return e;
  }

  /**
   * How an endpoint nothing is known of starts: with the start window; in a group known to
   * struggle, struggling with one slot, as one whose circuit counts failures does. Per-task URLs can
   * each be new (one per task, by a query string), and on a host that hangs each newcomer took a
   * newcomer's two workers.
   */
  private newcomerIn(group: string | undefined): EndpointStanding {
    const standing = group === undefined ? undefined : this.health.get(group);
    if (standing && standing.strikes > 0) return { limit: 1, strikes: 1 };
    return { limit: this.startLimit, strikes: 0 };
  }

  private enline(key: string, e: Endpoint<T>): void {
    if (e.lined || e.held || e.queue.length === 0 || this.full(key, e)) return;
    e.lined = true;
    this.line.push([key]);
  }

  /** At its window, counting every pass's requests in flight to it. */
  private full(key: string, e: Endpoint<T>): boolean {
    return this.inFlight.of(key) >= e.limit;
  }

  push(row: T): void {
    const key = this.keyOf(row);
    const e = this.endpoint(key, row);
    e.queue.push([row]);
    this.queued++;
    this.enline(key, e);
  }

  /**
   * The next row whose endpoint can take it at `nowMs`, its endpoint now counting it in flight
   * until `done(key)`; undefined when every waiting row's endpoint is busy or paused.
   */
  take(nowMs: number): { row: T; key: string } | undefined {
    const skipped: string[] = [];
    let taken: { row: T; key: string } | undefined;
    for (let key = this.line.shift(); key !== undefined; key = this.line.shift()) {
      const e = this.endpoint(key);
      e.lined = false;
      if (e.held || this.full(key, e) || e.queue.length === 0) continue;
      if (e.pausedUntilMs > nowMs || this.shares.full(e)) {
        skipped.push(key);
        continue;
      }
      const row = e.queue.shift() as T;
      this.queued--;
      e.active++;
      this.inFlight.add(key);
      this.shares.count(e, 1);
      this.enline(key, e);
      taken = { row, key };
      break;
    }
    for (const key of skipped) this.enline(key, this.endpoint(key));
    return taken;
  }

  /** A taken row's request is over: its endpoint may take another. */
  done(key: string): void {
    const e = this.endpoint(key);
    this.release(key, e);
    this.enline(key, e);
    if (e.active === 0 && e.queue.length === 0) {
      this.remember(key, e);
      this.endpoints.delete(key);
    }
  }

  private release(key: string, e: Endpoint<T>): void {
    e.active--;
    this.inFlight.remove(key, this.freedElsewhere);
    this.shares.count(e, -1);
  }

  /** The endpoint answered a request (of any status) promptly: one more slot, up to the limit, and half its strikes. */
  answered(key: string): void {
    const e = this.endpoint(key);
    this.shares.restand(e, () => (e.strikes = Math.floor(e.strikes / 2)));
    e.limit = Math.min(this.limit, e.limit + 1);
    this.heardFrom(key, e);
    this.enline(key, e);
  }

  /**
   * A request to it took longer than a prompt answer does (answered late, or still unanswered): its
   * window stays, and it counts as struggling, since each of its requests holds a worker nearly as
   * long as a failing endpoint's.
   */
  markSlow(key: string): void {
    const e = this.endpoint(key);
    this.shares.restand(e, () => (e.strikes = SLOW_STRIKES));
    this.heardFrom(key, e);
  }

  /** Nobody answered a request to it in time: half the slots, and it counts as struggling. */
  unanswered(key: string): void {
    const e = this.endpoint(key);
    this.shares.restand(e, () => (e.strikes = SLOW_STRIKES));
    e.limit = Math.max(1, Math.floor(e.limit / 2));
    this.heardFrom(key, e);
  }

  /**
   * Known to be failing before this pass tried it (its circuit's count): one slot to start with. A
   * single strike: failing is not hanging, and one prompt answer (a 500 is one) shows it holds no worker long.
   */
  knownFailing(key: string): void {
    const e = this.endpoint(key);
    // One heard from and struggling keeps the window it learned; a newcomer on a struggling host was never heard.
    if (struggles(e) && e.heard) return;
    this.shares.restand(e, () => (e.strikes = Math.max(1, e.strikes)));
    e.limit = 1;
  }

  /**
   * Kept at once, not only when the endpoint goes idle: a pass running beside this one (the next
   * run, while this one finishes its last attempts) meets the endpoint as this pass now knows it.
   */
  private remember(key: string, e: Endpoint<T>): void {
    // A newcomer never tried (rows given back untried) taught nothing: kept, it would pass for known.
    if (e.heard) this.health.set(key, { limit: e.limit, strikes: e.strikes });
  }

  /**
   * It answered, slowly or not, or timed out: what that taught is its standing now, and its group's
   * (which only newcomers read). Only then: an endpoint given back untried, written as its group,
   * cleared a hanging host's standing at every run that had no time for all of its rows.
   */
  private heardFrom(key: string, e: Endpoint<T>): void {
    this.shares.restand(e, () => (e.heard = true));
    this.remember(key, e);
    if (e.group !== undefined) this.health.set(e.group, { limit: e.limit, strikes: e.strikes });
  }

  /** A taken row (and rows taken with it) go back to the front of its endpoint's queue, not in flight after all. */
  putBack(key: string, row: T, more: readonly T[] = []): void {
    const e = this.endpoint(key);
    this.release(key, e);
    this.unshift(key, e, [row, ...more]);
  }

  /** Rows taken with another (takeMore) that will not go with it: first in line again, no slot freed. */
  returnTaken(key: string, rows: readonly T[]): void {
    if (rows.length > 0) this.unshift(key, this.endpoint(key), rows);
  }

  private unshift(key: string, e: Endpoint<T>, rows: readonly T[]): void {
    const rest: T[] = [];
    for (let r = e.queue.shift(); r !== undefined; r = e.queue.shift()) rest.push(r);
    e.queue.push([...rows, ...rest]);
    this.queued += rows.length;
    this.enline(key, e);
  }

  /** No take from this endpoint until `unhold(key)`. */
  hold(key: string): void {
    this.endpoint(key).held = true;
  }

  unhold(key: string): void {
    const e = this.endpoints.get(key);
    if (!e) return;
    e.held = false;
    this.enline(key, e);
  }

  /** No take from this endpoint before `untilMs`. */
  pause(key: string, untilMs: number): void {
    const e = this.endpoint(key);
    e.pausedUntilMs = Math.max(e.pausedUntilMs, untilMs);
  }

  /** The earliest time a paused endpoint with waiting rows may be taken from again, if any. */
  nextUnpauseMs(nowMs: number): number | undefined {
    let soonest: number | undefined;
    for (const [key, e] of this.endpoints) {
      if (e.held || e.queue.length === 0 || this.full(key, e) || e.pausedUntilMs <= nowMs) continue;
      soonest = Math.min(soonest ?? e.pausedUntilMs, e.pausedUntilMs);
    }
    return soonest;
  }

  /** Rows an idle worker could take now, counting each endpoint's free slots only. */
  takeable(nowMs: number): number {
    const free = { proven: 0, newcomers: 0, struggling: 0 };
    for (const [key, e] of this.endpoints) {
      if (e.held || e.pausedUntilMs > nowMs) continue;
      const n = Math.min(e.queue.length, Math.max(0, e.limit - this.inFlight.of(key)));
      if (struggles(e)) free.struggling += n;
      else if (!e.heard) free.newcomers += n;
      else free.proven += n;
    }
    return this.shares.takeable(free);
  }

  /** Up to `n` waiting rows of `key`, removed from the front (they join a request already taken). */
  takeMore(key: string, n: number): T[] {
    const e = this.endpoints.get(key);
    const rows: T[] = [];
    if (!e) return rows;
    while (rows.length < n) {
      const r = e.queue.shift();
      if (r === undefined) break;
      rows.push(r);
    }
    this.queued -= rows.length;
    return rows;
  }

  /** Every waiting row of `key`, removed. */
  drainEndpoint(key: string): T[] {
    const e = this.endpoints.get(key);
    if (!e) return [];
    const rows: T[] = [];
    for (let r = e.queue.shift(); r !== undefined; r = e.queue.shift()) rows.push(r);
    this.queued -= rows.length;
    return rows;
  }

  /** Every waiting row, removed (what a run gives back when its time is up); what was learned is kept. */
  drain(): T[] {
    const rows: T[] = [];
    for (const [key, e] of [...this.endpoints]) {
      rows.push(...this.drainEndpoint(key));
      this.remember(key, e);
    }
    return rows;
  }
}
