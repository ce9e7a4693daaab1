/**
 * Claims due deliveries (or the given ids) and attempts them, a bounded number at once and at most
 * `perEndpointConcurrency` per endpoint, until none are due or time is up. Shared by the tick and by
 * the FC deliver function that fan-out invokes.
 */

import type { KeyedSemaphore } from "../concurrency.js";
import { describeError } from "../errors.js";
import type { Fifo } from "../fifo.js";
import type { DeliveryRow } from "../store/store.js";
import { attemptDelivery, type DeliveryOutcome, type DeliveryRun } from "./deliver.js";

export interface DeliveryCounts {
  delivered: number;
  retried: number;
  dead: number;
  errors: number;
}

export interface DeliveryLoopOptions {
  readonly leaseMs: number;
  readonly concurrency: number;
  readonly endpointSlots: KeyedSemaphore;
  readonly timeLeft: () => boolean;
  /** Only these deliveries (a fan-out batch); otherwise whatever is due. */
  readonly ids?: readonly string[] | undefined;
  /** Deliveries already leased to this run, taken (from the front) before any claimed one. */
  readonly owned?: Fifo<DeliveryRow> | undefined;
  /** False: only the `owned` deliveries, no claim from the store. */
  readonly claim?: boolean | undefined;
}

export function countOutcome(counts: DeliveryCounts, outcome: DeliveryOutcome): void {
  if (outcome === "delivered") counts.delivered++;
  else if (outcome === "retry") counts.retried++;
  else if (outcome === "dead") counts.dead++;
}

export async function deliverDue(
  run: DeliveryRun,
  counts: DeliveryCounts,
  options: DeliveryLoopOptions,
): Promise<void> {
  const { store, clock, owner, log } = run.deps;
  const claimSize = options.concurrency;
  // A batch is claimed a slice at a time, like the due queue: a lease is taken only shortly before
  // the row is attempted, so a run that ends early leaves the rest free for someone else.
  const batch = options.ids ? [...new Set(options.ids)] : undefined;
  const claimed: DeliveryRow[] = [];
  let drained = options.claim === false;
  let claimError: unknown;
  let claiming: Promise<void> | undefined;

  /** One claim at a time, started before the claimed rows run out, so attempts never wait on it long. */
  function claimMore(): Promise<void> {
    if (claiming || drained || !options.timeLeft()) return claiming ?? Promise.resolve();
    claiming = (async () => {
      try {
        while (!drained && options.timeLeft()) {
          const ids = batch?.splice(0, claimSize);
          if (ids?.length === 0) break;
          const rows = await store.claimDueDeliveries({
            owner,
            nowMs: clock.now(),
            leaseMs: options.leaseMs,
            limit: claimSize,
            ...(ids ? { ids } : {}),
          });
          claimed.push(...rows);
          if (rows.length > 0) return;
          // Nothing due (or this slice of the batch was taken elsewhere): the next slice, or done.
          if (!ids) break;
        }
        drained = true;
      } catch (error) {
        claimError ??= error;
        drained = true;
      } finally {
        claiming = undefined;
      }
    })();
    return claiming;
  }

  async function next(): Promise<DeliveryRow | undefined> {
    for (;;) {
      if (claimed.length <= claimSize / 2) void claimMore();
      // Rows already claimed are attempted even when time is short: the run's reserve is for them.
      const row = options.owned?.shift() ?? claimed.shift();
      if (row) return row;
      if (drained || !options.timeLeft()) return undefined;
      await claimMore();
    }
  }

  async function worker(): Promise<void> {
    for (let row = await next(); row; row = await next()) {
      const release = await options.endpointSlots.acquire(row.webhookId.startsWith("task:") ? row.url : row.webhookId);
      try {
        countOutcome(counts, await attemptDelivery(row, run));
      } catch (error) {
        counts.errors++;
        log?.({
          level: "error",
          msg: "delivery failed unexpectedly",
          deliveryId: row.id,
          error: describeError(error),
        });
      } finally {
        release();
      }
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, worker));
  // A claim that failed (the store is unreachable) ends this loop; the caller decides what it means.
  if (claimError !== undefined) throw claimError;
}
