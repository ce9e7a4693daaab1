/**
 * What delivery passes learned of each endpoint's window (EndpointQueues' slow start) and whether
 * it struggles (fails, or answers slowly), kept between passes for a while. A pass lasts a run at
 * most, and a relay's runs come every few seconds: forgotten with each, a slow receiver started
 * every pass as a newcomer, with a newcomer's window, and took workers it had already shown it
 * would hold for seconds.
 */
import type { Clock } from "../clock.js";
import { InFlight } from "./in-flight.js";

export interface EndpointStanding {
  /** Requests it may have in flight (its window). */
  readonly limit: number;
  /**
   * How much it struggles (failed or answered slowly lately): above 0 it counts in the struggling
   * ones' share of workers. Each prompt answer halves it (EndpointQueues), so a receiver that
   * answers promptly only now and then stays struggling.
   */
  readonly strikes: number;
}

/** How long what was learned counts: older, the endpoint starts over as a newcomer. */
export const ENDPOINT_MEMORY_MS = 10 * 60_000;
/** Endpoints remembered at most; the least recently learned are forgotten first. */
export const ENDPOINT_MEMORY_SIZE = 10_000;

export class EndpointMemory {
  private readonly learned = new Map<string, { standing: EndpointStanding; atMs: number }>();
  /** Requests in flight to each endpoint from every pass of the process (passes overlap under `npm start`). */
  readonly inFlight = new InFlight();

  constructor(
    private readonly clock: Clock,
    private readonly options: { ttlMs?: number; maxSize?: number } = {},
  ) {}

  get(key: string): EndpointStanding | undefined {
    const found = this.learned.get(key);
    if (!found) return undefined;
    if (this.clock.now() - found.atMs < (this.options.ttlMs ?? ENDPOINT_MEMORY_MS)) return found.standing;
    this.learned.delete(key);
    return undefined;
  }

  set(key: string, standing: EndpointStanding): void {
    // Deleted first, so that the map's order is the order of learning.
    this.learned.delete(key);
    this.learned.set(key, { standing, atMs: this.clock.now() });
    if (this.learned.size > (this.options.maxSize ?? ENDPOINT_MEMORY_SIZE))
      this.learned.delete(this.learned.keys().next().value as string);
  }
}
