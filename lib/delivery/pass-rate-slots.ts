/**
 * A delivery pass's rate-limit slots (rate.ts): whether a rate-limited endpoint's request may start
 * now, and if not, its endpoint paused until its slot, so that its rows wait without a worker.
 *
 * Per endpoint, a pass keeps the one slot it reserved ahead and has not used yet: whichever of the
 * endpoint's rows is taken first once it is due uses it. One at most, and reservations are made one
 * at a time per endpoint: rows put back with slots of their own would all be taken together once the
 * endpoint's pause (the latest of them) ended, a burst.
 */
import type { Clock } from "../clock.js";
import type { RateLimits } from "./rate.js";

/** How far ahead a rate-limited endpoint's next slot may be reserved; later slots are asked for again then. */
export const RATE_RESERVE_AHEAD_MS = 1_000;

export class PassRateSlots {
  private readonly reserved = new Map<string, number>();
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(
    private readonly rates: Pick<RateLimits, "reserve">,
    private readonly clock: Clock,
    private readonly pause: (key: string, untilMs: number) => void,
  ) {}

  /** Whether a request to `key` may start now on a slot of its own; if not, the endpoint is paused until its slot. */
  take(key: string, perSecond: number): Promise<boolean> {
    return this.inTurn(key, () => this.takeSlot(key, perSecond));
  }

  /** Runs `take` after the endpoint's previous reservation in this pass has settled. */
  private inTurn<T>(key: string, take: () => Promise<T>): Promise<T> {
    const turn = (this.turns.get(key) ?? Promise.resolve()).then(take, take);
    const settled = turn.catch(() => {});
    this.turns.set(key, settled);
    void settled.then(() => {
      if (this.turns.get(key) === settled) this.turns.delete(key);
    });
    return turn;
  }

  private async takeSlot(key: string, perSecond: number): Promise<boolean> {
    const { clock } = this;
    let held = this.reserved.get(key);
    // A slot used late comes closer to the next one, which may be another run's: one a whole interval
    // late (its rows were deferred, or waited for a worker) is dropped for a fresh one.
    if (held !== undefined && held + 1000 / perSecond <= clock.now()) {
      this.reserved.delete(key);
      held = undefined;
    }
    if (held === undefined) {
      const r = await this.rates.reserve(key, perSecond, clock.now() + RATE_RESERVE_AHEAD_MS);
      const startAtMs = "atMs" in r ? r.atMs : r.notBeforeMs;
      if (startAtMs <= clock.now()) return true;
      if ("atMs" in r) this.reserved.set(key, r.atMs);
      this.pause(key, startAtMs);
      return false;
    }
    if (held > clock.now()) {
      this.pause(key, held);
      return false;
    }
    this.reserved.delete(key);
    return true;
  }
}
