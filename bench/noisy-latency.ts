/**
 * The healthy endpoints' deliveries of one noisy-neighbours case, from the store and what the
 * receivers saw: for each event the relay created and each healthy endpoint, the time from the
 * event's creation (the relay noticed the task's end: lib/events.ts stamps the body's `timestamp`
 * and the row's `createdAtMs` with the same instant) to the receiver's 2xx. A delivery still
 * pending when the window closed counts with the time it had waited so far, a lower bound.
 */
import { TERMINAL_EVENT_TYPES } from "../lib/events.js";
import { deliveryId } from "../lib/ids.js";
import type { EventRow, Store } from "../lib/store/store.js";
import type { Answered, ReceiverRecords } from "./noisy-endpoints.js";

export interface HealthyDeliveries {
  /** End noticed → 2xx, or → the window's end for those still pending, in ms. */
  readonly latenciesMs: number[];
  /** Of those, still pending at the window's end. */
  readonly pending: number;
  /** When each of the others was answered (epoch ms). */
  readonly answeredAtMs: number[];
  readonly events: number;
}

/** The events webhooks without a filter receive: a task's end, not its start. */
async function endEvents(store: Store): Promise<EventRow[]> {
  const events: EventRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listEvents({ limit: 1_000, ...(cursor ? { cursor } : {}) });
    events.push(...page.items.filter((e) => TERMINAL_EVENT_TYPES.some((type) => type === e.type)));
    cursor = page.cursor;
  } while (cursor);
  return events;
}

/**
 * Pending, or not yet written because the run was killed between its event and its deliveries
 * (the task is then still active, and the next run writes them).
 */
async function stillPending(store: Store, event: EventRow, id: string): Promise<boolean> {
  const row = await store.getDelivery(id);
  if (row) return row.status === "pending";
  return (await store.getTask(event.workspaceId, event.taskId))?.state === "active";
}

/**
 * Throws when a healthy delivery is lost (absent, dead, or marked delivered without the receiver
 * having answered it) or when an answer's body timestamp is not its event's creation time.
 */
export async function healthyDeliveries(
  store: Store,
  records: ReceiverRecords,
  healthy: ReadonlyArray<{ readonly webhookId: string; readonly server: number }>,
  windowEndMs: number,
): Promise<HealthyDeliveries> {
  const answered = new Map<string, Answered>();
  for (const a of records.answered) if (!answered.has(a.webhookId)) answered.set(a.webhookId, a);
  const events = await endEvents(store);
  const latenciesMs: number[] = [];
  const answeredAtMs: number[] = [];
  let pending = 0;
  for (const event of events) {
    for (const { webhookId, server } of healthy) {
      const id = deliveryId(event.id, webhookId);
      const answer = answered.get(id);
      if (answer) {
        if (answer.server !== server || answer.eventId !== event.id || answer.timestampMs !== event.createdAtMs)
          throw new Error(`noisy-neighbours: ${id} arrived at the wrong endpoint or with the wrong timestamp`);
        latenciesMs.push(answer.answeredAtMs - event.createdAtMs);
        answeredAtMs.push(answer.answeredAtMs);
        continue;
      }
      if (!(await stillPending(store, event, id))) throw new Error(`noisy-neighbours: healthy delivery ${id} lost`);
      pending++;
      latenciesMs.push(windowEndMs - event.createdAtMs);
    }
  }
  return { latenciesMs, pending, answeredAtMs, events: events.length };
}
