/**
 * Claims due deliveries (or the given ids) and attempts them, a bounded number at once and at most
 * `perEndpointConcurrency` per endpoint, until none are due or time is up. Shared by the tick and by
 * the FC deliver function that fan-out invokes.
 */
import { forEachLimit, type KeyedSemaphore } from "../concurrency.js";
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
  const limit = options.concurrency * 2;
  // A batch is claimed a slice at a time, like the due queue: a lease is taken only when the row is
  // about to be attempted, so a run that ends early leaves the rest free for someone else.
  const batch = options.ids ? [...new Set(options.ids)] : undefined;
  while (options.timeLeft()) {
    const ids = batch?.splice(0, limit);
    if (ids?.length === 0) return;
    const rows = await store.claimDueDeliveries({
      owner,
      nowMs: clock.now(),
      leaseMs: options.leaseMs,
      limit,
      ...(ids ? { ids } : {}),
    });
    if (rows.length === 0 && !ids) return;
    await forEachLimit(rows, options.concurrency, async (row) => {
      const release = await options.endpointSlots.acquire(row.webhookId.startsWith("task:") ? row.url : row.webhookId);
      try {
        countOutcome(counts, await attemptDelivery(row, run));
      } catch (error) {
        counts.errors++;
        log?.({
          level: "error",
          msg: "delivery failed unexpectedly",
          deliveryId: row.id,
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        release();
      }
    });
  }
}
