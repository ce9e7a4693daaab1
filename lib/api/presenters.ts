/**
 * What the API (and the CLI's JSON output) shows of each record: ISO times instead of epoch ms,
 * null instead of absent, and never a secret. One place, so every endpoint and every command
 * shows a record alike; the shapes are declared in views.ts, which the OpenAPI document publishes.
 */
import { circuitView, readCircuit } from "../delivery/circuit.js";
import { taskTargetId } from "../ids.js";
import { taskTiming } from "../runtime-stats.js";
import type { DeliveryRow, EventRow, Page, Store, TaskRow, WebhookRow } from "../store/store.js";
import type { DeliveryDetail, DeliveryView, EventView, TaskDetail, TaskView, WebhookView } from "./views.js";

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * A page of records as every list answers it: `next` is the cursor of the page after (pass it back
 * as `cursor`), null on the last page. A page may hold fewer items than asked for and still have a
 * `next`: the end is only where `next` is null. `cursor` is `next`'s older name, kept for clients
 * that read it.
 */
export function pageView<T, V>(page: Page<T>, view: (row: T) => V) {
  const next = page.cursor ?? null;
  return { items: page.items.map(view), next, cursor: next };
}

/** A list that is never paged, shaped as the paged ones are. */
export function listView<V>(items: readonly V[]): { items: V[]; next: null } {
  return { items: [...items], next: null };
}

export function taskView(t: TaskRow): TaskView {
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
    webhooks: [...t.webhookUrls],
    metadata: t.metadata,
    profile: t.profile ?? null,
    videoDurationSeconds: t.videoDurationMs === undefined ? null : t.videoDurationMs / 1000,
    runningSince: iso(t.runningSinceMs),
    finishedAt: iso(t.terminalAtMs),
  };
}

export function deliveryView(d: DeliveryRow): DeliveryView {
  return {
    id: d.id,
    eventId: d.eventId,
    webhookId: d.webhookId,
    url: d.url,
    status: d.status,
    eventType: d.eventType ?? null,
    attempts: d.attempts,
    createdAt: new Date(d.createdAtMs).toISOString(),
    nextAttemptAt: d.status === "pending" ? iso(d.nextAttemptAtMs) : null,
    lastAttemptAt: iso(d.lastAttemptAtMs),
    lastStatusCode: d.lastStatusCode ?? null,
    lastError: d.lastError ?? null,
    lastResponse: d.lastResponse ?? null,
    deliveredAt: iso(d.deliveredAtMs),
  };
}

/** A delivery in full: every attempt it keeps (signature headers are never stored, so never shown). */
export function deliveryDetail(d: DeliveryRow, event: EventRow | undefined): DeliveryDetail {
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
          ...progressPart(event),
          createdAt: iso(event.createdAtMs),
        }
      : null,
  };
}

/** A progress event's part, read from its body (the row has no column for it). */
export function progressPart(event: EventRow): { part?: string } {
  if (event.type !== "video_analysis.progress") return {};
  const part = (JSON.parse(event.body) as { data?: { part?: unknown } }).data?.part;
  return typeof part === "string" ? { part } : {};
}

/** Never the secrets, only the custom headers' names. */
export function webhookView(w: WebhookRow): WebhookView {
  return {
    id: w.id,
    url: w.url,
    format: w.eventBridge ? null : (w.format ?? "standard"),
    eventBridge: w.eventBridge
      ? {
          busName: w.eventBridge.busName,
          region: w.eventBridge.region ?? null,
          accountId: w.eventBridge.accountId ?? null,
        }
      : null,
    events: w.events ? [...w.events] : null,
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
export function eventView(e: EventRow): EventView & { body: { data?: { task?: unknown } } } {
  return {
    id: e.id,
    type: e.type,
    createdAt: iso(e.createdAtMs),
    body: JSON.parse(e.body) as { data?: { task?: unknown } },
  };
}

/**
 * One task in full, as `GET /v1/tasks/{ws}/{id}` and `tasks show --json` print it: its events,
 * their deliveries, what was learned of its run time, its own URLs' circuits and its last result.
 */
export async function taskDetail(
  store: Pick<Store, "getSetting" | "listEventsForTask" | "listDeliveries">,
  task: TaskRow,
  detectionTargetMs: number | undefined,
  nowMs: number,
): Promise<TaskDetail> {
  const events = (await store.listEventsForTask(task.workspaceId, task.taskId)).map(eventView);
  const deliveries: DeliveryRow[] = [];
  for (const e of events) deliveries.push(...(await store.listDeliveries({ eventId: e.id, limit: 1_000 })).items);
  const last = [...events].reverse().find((e) => e.body.data?.task !== undefined);
  return {
    task: taskView(task),
    timing: await taskTiming(store, task, detectionTargetMs, nowMs),
    events,
    deliveries: deliveries.map(deliveryView),
    webhookCircuits: await taskWebhookCircuits(store, task),
    lastResult: last?.body.data?.task ?? null,
  };
}
