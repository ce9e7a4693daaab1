/**
 * A rate limit per endpoint (`rateLimitPerSecond` on the webhook), shared by every run and process
 * through the store: a reservation clock (GCRA, burst 1). The stored value is the earliest time the
 * next request may start; a request takes that slot (or now, if later) and moves the value one
 * interval on, by compare-and-set. So requests to one endpoint start at least `1000 / rate` ms
 * apart on the relay's clocks, whichever process sends them.
 *
 * How closely it holds: the slot is when a request may start, and it leaves somewhat after (timers,
 * store reads, connecting), so two requests can be closer by how much later the first left after
 * its slot than the second; across hosts, also by their clock skew. A slot taken by a run that then
 * ends without sending is lost capacity, never an extra request.
 */
import type { Clock } from "../clock.js";
import type { Store } from "../store/store.js";

/** One request every 10,000 s (2.8 h). Below it the interval overflowed: 5e-324 gave no limit at all. */
export const MIN_RATE_LIMIT_PER_SECOND = 0.0001;

export const rateKey = (endpoint: string) => `rate:${endpoint}`;

/** Lost races in a row after which a reservation gives up for now (the delivery waits a little). */
const MAX_RACES = 5;

export class RateLimits {
  constructor(private readonly deps: { store: Pick<Store, "getSetting" | "compareAndSetSetting">; clock: Clock }) {}

  /**
   * Takes the next slot for `endpoint` unless it starts after `latestMs` (then nothing is taken):
   * returns when the request may start, or `{ notBeforeMs }` when the next free slot is too late.
   * `latestMs` may be given from the time the slot is looked at (`(nowMs) => nowMs`: only a slot
   * free then), which a time taken before the store was read would put a little in the past.
   */
  async reserve(
    endpoint: string,
    perSecond: number,
    latest: number | ((nowMs: number) => number),
  ): Promise<{ atMs: number } | { notBeforeMs: number }> {
    // A webhook stored with a rate below today's minimum (5e-324 made the interval Infinity): the slowest allowed.
    const intervalMs = 1000 / Math.max(perSecond, MIN_RATE_LIMIT_PER_SECOND);
    const key = rateKey(endpoint);
    let expected = await this.deps.store.getSetting(key);
    for (let race = 0; ; race++) {
      const nowMs = this.deps.clock.now();
      const stored = expected === undefined ? Number.NaN : Number(expected);
      // A missing or unreadable value, or one far in the future (a changed clock, a lowered limit): start from now.
      const next = Number.isFinite(stored) && stored <= nowMs + 2 * intervalMs + 60_000 ? stored : nowMs;
      const atMs = Math.max(nowMs, next);
      if (atMs > (typeof latest === "number" ? latest : latest(nowMs))) return { notBeforeMs: atMs };
      const value = String(atMs + intervalMs);
      if (await this.deps.store.compareAndSetSetting(key, expected, value)) return { atMs };
      if (race >= MAX_RACES) return { notBeforeMs: nowMs + intervalMs };
      expected = await this.deps.store.getSetting(key);
    }
  }
}
