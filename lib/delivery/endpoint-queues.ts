/**
 * Work waiting per endpoint, so that a free worker always takes work some endpoint can accept: a
 * row whose endpoint already has `limit` requests in flight (or is paused) waits in that endpoint's
 * queue without holding a worker. Endpoints take turns: one with more waiting goes to the back of
 * the line after each take, so a long queue for one endpoint never starves another.
 */
import { Fifo } from "../fifo.js";

interface Endpoint<T> {
  readonly queue: Fifo<T>;
  active: number;
  /** No take before then (a rate limit's next slot). */
  pausedUntilMs: number;
  /** Whether the endpoint's key is in the line of endpoints with something to take. */
  lined: boolean;
}

export class EndpointQueues<T> {
  private readonly endpoints = new Map<string, Endpoint<T>>();
  /** Endpoints that may have a row to take, in turn order. */
  private readonly line = new Fifo<string>();
  private queued = 0;

  constructor(
    private readonly limit: number,
    private readonly keyOf: (row: T) => string,
  ) {}

  /** Rows waiting (not yet taken). */
  get size(): number {
    return this.queued;
  }

  private endpoint(key: string): Endpoint<T> {
    let e = this.endpoints.get(key);
    if (!e) {
      e = { queue: new Fifo<T>(), active: 0, pausedUntilMs: 0, lined: false };
      this.endpoints.set(key, e);
    }
    return e;
  }

  private enline(key: string, e: Endpoint<T>): void {
    if (e.lined || e.queue.length === 0 || e.active >= this.limit) return;
    e.lined = true;
    this.line.push([key]);
  }

  push(row: T): void {
    const key = this.keyOf(row);
    const e = this.endpoint(key);
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
      if (e.active >= this.limit || e.queue.length === 0) continue;
      if (e.pausedUntilMs > nowMs) {
        skipped.push(key);
        continue;
      }
      const row = e.queue.shift() as T;
      this.queued--;
      e.active++;
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
    e.active--;
    this.enline(key, e);
    if (e.active === 0 && e.queue.length === 0) this.endpoints.delete(key);
  }

  /** A taken row goes back to the front of its endpoint's queue, not in flight after all. */
  putBack(key: string, row: T): void {
    const e = this.endpoint(key);
    e.active--;
    const rest: T[] = [];
    for (let r = e.queue.shift(); r !== undefined; r = e.queue.shift()) rest.push(r);
    e.queue.push([row, ...rest]);
    this.queued++;
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
    for (const e of this.endpoints.values()) {
      if (e.queue.length === 0 || e.active >= this.limit || e.pausedUntilMs <= nowMs) continue;
      soonest = Math.min(soonest ?? e.pausedUntilMs, e.pausedUntilMs);
    }
    return soonest;
  }

  /** Rows an idle worker could take now, counting each endpoint's free slots only. */
  takeable(nowMs: number): number {
    let n = 0;
    for (const e of this.endpoints.values()) {
      if (e.pausedUntilMs > nowMs) continue;
      n += Math.min(e.queue.length, Math.max(0, this.limit - e.active));
    }
    return n;
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

  /** Every waiting row, removed (what a run gives back when its time is up). */
  drain(): T[] {
    const rows: T[] = [];
    for (const key of [...this.endpoints.keys()]) rows.push(...this.drainEndpoint(key));
    return rows;
  }
}
