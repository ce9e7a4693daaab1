/**
 * Sending an event again, or for the first time outside a run: its deliveries are written (or, if
 * written before, made due again) and the next run sends them, as it sends every delivery. This is
 * how `events resend` and `trigger` reach subscribers through the normal pipeline: the running
 * relay's next run, with its own configuration and SSRF guard, does the sending.
 */
import { InputError, NotFoundError } from "./errors.js";
import { noteResend } from "./event-resends.js";
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
  webhookId?: string,
): Promise<{ rows: DeliveryRow[]; ids: Set<string> }> {
  const webhooks = (await store.listWebhooks()).filter((w) => webhookId === undefined || w.id === webhookId);
  const wanted = deliveriesFor(event, webhooks, webhookId === undefined ? task : { webhookUrls: [] }, {
    nowMs,
    firstAttemptAtMs: nowMs,
  });
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
 * With `webhookId`, only that subscription's (as `stripe events resend --webhook-endpoint`).
 */
export async function resendEvent(store: Store, eventId: string, nowMs: number, webhookId?: string): Promise<Queued> {
  const event = await store.getEvent(eventId);
  if (!event) throw new NotFoundError(`no event with id ${eventId}`);
  if (webhookId !== undefined && !(await store.getWebhook(webhookId)))
    throw new NotFoundError(`no webhook with id ${webhookId}`);
  const task = await store.getTask(event.workspaceId, event.taskId);
  const { rows, ids } = await createMissing(store, event, { webhookUrls: task?.webhookUrls ?? [] }, nowMs, webhookId);
  const earlier = await store.listDeliveries({ eventId, limit: MAX_DELIVERIES, ...(webhookId ? { webhookId } : {}) });
  const again: DeliveryRow[] = [];
  for (const d of earlier.items) {
    if (ids.has(d.id)) continue;
    const replayed = await store.replayDelivery(d.id, nowMs);
    if (replayed) again.push(replayed);
  }
  if (webhookId !== undefined && rows.length + again.length === 0) {
    throw new InputError(`webhook ${webhookId} does not receive ${event.type} events of ${event.workspaceId}`, {
      field: "--webhook",
    });
  }
  // To every endpoint, listen sessions included; one subscription (--webhook) is that one alone.
  if (webhookId === undefined) await noteResend(store, event.id, nowMs);
  return { event, created: rows, again };
}
