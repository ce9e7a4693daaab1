/**
 * What the API (and the CLI's JSON output) shows of each record: ISO times instead of epoch ms,
 * null instead of absent, and never a secret. One place, so every endpoint shows a record alike.
 */
import { circuitView, readCircuit } from "../delivery/circuit.js";
import { taskTargetId } from "../ids.js";
import type { DeliveryRow, EventRow, Page, Store, TaskRow, WebhookRow } from "../store/store.js";

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * A page of records as every list endpoint answers it: `next` is the cursor of the page after
 * (pass it back as `cursor`), null on the last page. A page may hold fewer items than asked for
 * and still have a `next`: the end is only where `next` is null.
 */
export function pageView<T, V>(page: Page<T>, view: (row: T) => V) {
  return { items: page.items.map(view), next: page.cursor ?? null };
}

export function taskView(t: TaskRow) {
  return {
    workspaceId: t.workspaceId,
    taskId: t.taskId,
    state: t.state,
    status: t.status ?? null,
    submittedAt: iso(t.submittedAtMs),
    registeredAt: iso(t.registeredAtMs),
    nextPollAt: t.state === "active" ? iso(t.nextPollAtMs) : null,
    pollCount: t.pollCount,
    lastPolledAt: iso(t.lastPolledAtMs),
    lastError: t.lastError ?? null,
    webhooks: t.webhookUrls,
    metadata: t.metadata,
    profile: t.profile ?? null,
    runningSince: iso(t.runningSinceMs),
    finishedAt: iso(t.terminalAtMs),
  };
}

export function deliveryView(d: DeliveryRow) {
  return {
    id: d.id,
    eventId: d.eventId,
    webhookId: d.webhookId,
    url: d.url,
    status: d.status,
    eventType: d.eventType ?? null,
    attempts: d.attempts,
    createdAt: iso(d.createdAtMs),
    nextAttemptAt: d.status === "pending" ? iso(d.nextAttemptAtMs) : null,
    lastAttemptAt: iso(d.lastAttemptAtMs),
    lastStatusCode: d.lastStatusCode ?? null,
    lastError: d.lastError ?? null,
    lastResponse: d.lastResponse ?? null,
    deliveredAt: iso(d.deliveredAtMs),
  };
}

/** A delivery in full: every attempt it keeps (signature headers are never stored, so never shown). */
export function deliveryDetail(d: DeliveryRow, event: EventRow | undefined) {
  return {
    ...deliveryView(d),
    attemptLog: (d.attemptLog ?? []).map((a) => ({
      at: iso(a.atMs),
      durationMs: a.durationMs,
      statusCode: a.statusCode ?? null,
      failure: a.failure ?? null,
      error: a.error ?? null,
      response: a.response ?? null,
    })),
    event: event
      ? {
          id: event.id,
          type: event.type,
          workspaceId: event.workspaceId,
          taskId: event.taskId,
          createdAt: iso(event.createdAtMs),
        }
      : null,
  };
}

/** Never the secrets, only the custom headers' names. */
export function webhookView(w: WebhookRow) {
  return {
    id: w.id,
    url: w.url,
    events: w.events ?? null,
    workspaceId: w.workspaceId ?? null,
    headers: Object.keys(w.headers),
    rateLimitPerSecond: w.rateLimitPerSecond ?? null,
    enabled: w.enabled,
    disabledReason: w.disabledReason ?? null,
    failingSince: iso(w.failingSinceMs),
    createdAt: iso(w.createdAtMs),
  };
}

/** A webhook with its circuit, which is kept apart from the row (a compare-and-set setting): one more read. */
export async function webhookWithCircuit(store: Pick<Store, "getSetting">, w: WebhookRow) {
  return { ...webhookView(w), circuit: circuitView(await readCircuit(store, w.id)) };
}

/**
 * A task's own callback URLs with their circuits. The circuit is the URL's, not the task's: every
 * task that names the same URL shares it, as deliveries to it do.
 */
export function taskWebhookCircuits(store: Pick<Store, "getSetting">, task: Pick<TaskRow, "webhookUrls">) {
  return Promise.all(
    task.webhookUrls.map(async (url) => ({
      url,
      circuit: circuitView(await readCircuit(store, taskTargetId(url))),
    })),
  );
}

/** An event with its body parsed: what subscribers received. */
export function eventView(e: EventRow) {
  return {
    id: e.id,
    type: e.type,
    createdAt: iso(e.createdAtMs),
    body: JSON.parse(e.body) as { data?: { task?: unknown } },
  };
}
