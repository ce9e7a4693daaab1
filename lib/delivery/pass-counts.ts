/** What delivery passes count, summed over a run. */
import type { DeliveryOutcome } from "./deliver.js";

export interface DeliveryCounts {
  delivered: number;
  retried: number;
  dead: number;
  errors: number;
  /** Deliveries put off without an attempt: their endpoint's circuit is open. */
  deferred: number;
  /** Deliveries this run held but had no time to attempt, given back for the next run. */
  released: number;
}

export const emptyCounts = (): DeliveryCounts => ({
  delivered: 0,
  retried: 0,
  dead: 0,
  errors: 0,
  deferred: 0,
  released: 0,
});

export function countOutcome(counts: DeliveryCounts, outcome: DeliveryOutcome): void {
  if (outcome === "delivered") counts.delivered++;
  else if (outcome === "retry") counts.retried++;
  else if (outcome === "dead") counts.dead++;
}
