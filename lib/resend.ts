/**
 * Sending an event again, or for the first time outside a run: its deliveries are written (or, if
 * written before, made due again) and the next run sends them, as it sends every delivery. This is
 * how `events resend` and `trigger` reach subscribers through the normal pipeline: the running
 * relay's next run, with its own configuration and SSRF guard, does the sending.
 */
import { NotFoundError } from "./errors.js";
import { createdDelivery, deliveriesFor } from "./events.js";
import type { DeliveryRow, EventRow, Store, TaskRow } from "./store/store.js";

export interface Queued {
  readonly event: EventRow;
  /** Deliveries written now: subscriptions that had none for this event. */
  readonly created: readonly DeliveryRow[];
  /** Deliveries written before, due again now (a new attempt, the same message id). */
  readonly again: readonly DeliveryRow[];
}

/** At most this many earlier deliveries of one event are made due again (one per subscription). */
const MAX_DELIVERIES = 1_000;

/** Writes the deliveries every current subscription (and per-task URL) wants for `event`. */
async function createMissing(
  store: Store,
  event: EventRow,
  task: Pick<TaskRow, "webhookUrls">,
  nowMs: number,
): Promise<{ rows: DeliveryRow[]; ids: Set<string> }> {
  const wanted = deliveriesFor(event, await store.listWebhooks(), task, { nowMs, firstAttemptAtMs: nowMs });
  const ids = new Set(await store.createDeliveries(wanted));
  return { rows: wanted.filter((d) => ids.has(d.id)).map(createdDelivery), ids };
}

/** A new event (a sample from `trigger`): stored, and a delivery for each subscription that wants it. */
export async function queueEvent(store: Store, row: EventRow, nowMs: number): Promise<Queued> {
  const { event } = await store.createEvent(row);
  const { rows } = await createMissing(store, event, { webhookUrls: [] }, nowMs);
  return { event, created: rows, again: [] };
}

/**
 * `events resend`: every delivery the event had gets a new attempt (the same message id, so a
 * receiver that already processed it can tell), and a subscription created since gets its first.
 */
export async function resendEvent(store: Store, eventId: string, nowMs: number): Promise<Queued> {
  const event = await store.getEvent(eventId);
  if (!event) throw new NotFoundError(`no event with id ${eventId}`);
  const task = await store.getTask(event.workspaceId, event.taskId);
  const { rows: created, ids } = await createMissing(store, event, { webhookUrls: task?.webhookUrls ?? [] }, nowMs);
  const earlier = await store.listDeliveries({ eventId, limit: MAX_DELIVERIES });
  const again: DeliveryRow[] = [];
  for (const d of earlier.items) {
    if (ids.has(d.id)) continue;
    const replayed = await store.replayDelivery(d.id, nowMs);
    if (replayed) again.push(replayed);
  }
  return { event, created, again };
}
