/**
 * Fan-out: a run hands its due deliveries, in batches of ids, to the deliver function by
 * asynchronous invocation, so Function Compute attempts them on as many instances as the backlog
 * needs while the run goes on polling.
 *
 * Handing off claims nothing. The deliver function claims the ids it receives like any other
 * worker, so an id handed off twice (a slow queue, a second run) is attempted once, and an
 * invocation that never runs leaves its rows due for the next run. A failed hand-off turns the rest
 * of the run to inline delivery, so nothing waits on a broken invoke path.
 */

import type { Clock } from "../clock.js";
import { forEachLimit } from "../concurrency.js";
import { describeError } from "../errors.js";
import type { Log } from "../log.js";
import type { DuePosition, Store } from "../store/store.js";

/** FC queues asynchronous invocations of at most 128 KB; a batch stays far below it. */
export const MAX_ASYNC_PAYLOAD_BYTES = 128 * 1024;
/** Invocations in flight at once while handing off. */
const INVOKE_CONCURRENCY = 4;
/** Batches read per page of due deliveries. */
const BATCHES_PER_PAGE = 10;

export interface AsyncInvoker {
  /** Queues one asynchronous invocation of `functionName` with `payload` as its event. */
  invokeAsync(functionName: string, payload: string): Promise<{ requestId: string | undefined }>;
}

export interface FanOutCounts {
  /** Deliveries handed to the deliver function. */
  handedOff: number;
  invocations: number;
}

export interface FanOutOptions {
  readonly functionName: string;
  readonly batchSize: number;
  /** A page with this many due deliveries or fewer is delivered inline: an invocation costs more. */
  readonly inlineMax: number;
}

export interface FanOutDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly invoker: AsyncInvoker;
  readonly log?: Log | undefined;
}

/** RELAY_FANOUT_BATCH's upper bound: a payload never carries more, and the reader takes no more. */
export const MAX_BATCH_IDS = 1_000;

/** The event the deliver function receives. */
export function batchPayload(ids: readonly string[]): string {
  return JSON.stringify({ deliveryIds: ids });
}

/** The deliver function's side: `{"deliveryIds": [...]}`; anything else is an empty batch. */
export function parseBatchPayload(event: unknown): string[] {
  try {
    const text = Buffer.isBuffer(event) ? event.toString("utf8") : String(event);
    const parsed = JSON.parse(text) as { deliveryIds?: unknown };
    return Array.isArray(parsed.deliveryIds)
      ? parsed.deliveryIds.filter((id): id is string => typeof id === "string").slice(0, MAX_BATCH_IDS)
      : [];
  } catch {
    return [];
  }
}

export class FanOut {
  /** Where this run's reading of the due order has got to. */
  private after: DuePosition | undefined;
  /** What this run handed off: each delivery once per run, although it stays due until claimed. */
  private readonly handed = new Set<string>();
  /** The earliest due time written since the last read began: where the next read starts from. */
  private rewindTo: number | undefined;
  private failed = false;

  constructor(
    private readonly deps: FanOutDeps,
    private readonly options: FanOutOptions,
  ) {}

  /**
   * Deliveries written during the run, due at `dueMs`: the reading goes back to them, since one
   * due in the same millisecond as the cursor, with a smaller id, would otherwise sort behind it.
   */
  noteNew(dueMs: number): void {
    // Applied before the next read, not now: a read in flight would put the cursor past it again.
    this.rewindTo = Math.min(this.rewindTo ?? dueMs, dueMs);
  }

  /** False once a hand-off has failed: the caller delivers inline for the rest of the run. */
  get usable(): boolean {
    return !this.failed;
  }

  /**
   * Hands off what is due, page by page, until nothing new is due or time is up. Small pages go to
   * `inline` instead. Returns false if a hand-off failed (the caller should deliver inline).
   */
  async handOff(
    counts: FanOutCounts,
    timeLeft: () => boolean,
    inline: (ids: readonly string[]) => Promise<void>,
  ): Promise<boolean> {
    const { store, clock } = this.deps;
    const { batchSize, inlineMax } = this.options;
    const pageSize = batchSize * BATCHES_PER_PAGE;
    while (!this.failed && timeLeft()) {
      const rewind = this.rewindTo;
      this.rewindTo = undefined;
      if (rewind !== undefined && this.after && rewind <= this.after.dueMs) this.after = { dueMs: rewind, id: "" };
      const page = await store.dueDeliveries(clock.now(), pageSize, this.after);
      if (page.length === 0) return true;
      this.after = page[page.length - 1];
      const ids = page.map((d) => d.id).filter((id) => !this.handed.has(id));
      if (ids.length <= inlineMax) {
        if (ids.length > 0) await inline(ids);
        if (page.length < pageSize) return true;
        continue;
      }
      const batches: string[][] = [];
      for (let i = 0; i < ids.length; i += batchSize) batches.push(ids.slice(i, i + batchSize));
      await forEachLimit(batches, INVOKE_CONCURRENCY, async (batch) => {
        if (this.failed) return;
        await this.invoke(batch, counts);
      });
      if (page.length < pageSize) return !this.failed;
    }
    return !this.failed;
  }

  private async invoke(batch: readonly string[], counts: FanOutCounts): Promise<void> {
    const payload = batchPayload(batch);
    try {
      if (Buffer.byteLength(payload) > MAX_ASYNC_PAYLOAD_BYTES / 2) {
        // Delivery ids have a fixed length and RELAY_FANOUT_BATCH is bounded: this cannot happen
        // unless those change, and then it is a failed hand-off like any other.
        throw Object.assign(new RangeError(`a batch of ${batch.length} ids is ${payload.length} bytes`), {
          retryable: false,
        });
      }
      const { requestId } = await this.deps.invoker.invokeAsync(this.options.functionName, payload);
      for (const id of batch) this.handed.add(id);
      counts.handedOff += batch.length;
      counts.invocations++;
      this.deps.log?.({
        level: "debug",
        msg: "handed off deliveries",
        function: this.options.functionName,
        batch: batch.length,
        requestId,
      });
    } catch (error) {
      this.failed = true;
      const retryable = (error as { retryable?: unknown }).retryable !== false;
      this.deps.log?.({
        level: retryable ? "warn" : "error",
        msg: "fan-out failed; delivering inline for the rest of this run",
        function: this.options.functionName,
        batch: batch.length,
        error: describeError(error),
      });
    }
  }
}
