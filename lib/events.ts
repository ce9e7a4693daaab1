/**
 * What subscribers receive. One event per (task, type), ever — per (task, part) for progress; the
 * body is built once and stored, so every attempt and every replay sends the same bytes.
 *
 *   { "type": "video_analysis.succeeded", "timestamp": "…Z",
 *     "data": { workspaceId, taskId, taskStatus, metadata, task: <the API's data object, verbatim> } }
 */
import { deliveryId, eventId, taskTargetId } from "./ids.js";
import type { FinishedPart } from "./progress-parts.js";
import type { JsonObject } from "./quanmiao/task.js";
import type { DeliveryRow, EventRow, NewDelivery, TaskRow, WebhookRow } from "./store/store.js";

export const EVENT_TYPES = [
  "video_analysis.succeeded",
  "video_analysis.failed",
  "video_analysis.canceled",
  "video_analysis.expired",
  "video_analysis.running",
  "video_analysis.progress",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a webhook without a filter receives. */
export const TERMINAL_EVENT_TYPES: readonly EventType[] = [
  "video_analysis.succeeded",
  "video_analysis.failed",
  "video_analysis.canceled",
  "video_analysis.expired",
];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

const BY_STATUS: Readonly<Record<string, EventType>> = {
  SUCCESSED: "video_analysis.succeeded",
  FAILED: "video_analysis.failed",
  CANCELED: "video_analysis.canceled",
  RUNNING: "video_analysis.running",
};

export function eventTypeForStatus(status: string | undefined): EventType | undefined {
  return status === undefined ? undefined : BY_STATUS[status];
}

export interface EventInput {
  readonly type: EventType;
  /** Only what the body says of the task: a sample event (`trigger`) has no task row. */
  readonly task: Pick<TaskRow, "workspaceId" | "taskId" | "status" | "metadata">;
  readonly nowMs: number;
  /** The API's `data` object, when the event comes from an answer. */
  readonly raw?: JsonObject | undefined;
  readonly taskStatus?: string | undefined;
  /** Why the relay ended the task itself (not found, expired). */
  readonly reason?: JsonObject | undefined;
  /** A progress event's sub-result: `data.part` and `data.result` instead of the whole `data.task`. */
  readonly progress?: FinishedPart | undefined;
}

export function buildEvent(input: EventInput): EventRow {
  const { task, type, nowMs } = input;
  const data: JsonObject = {
    workspaceId: task.workspaceId,
    taskId: task.taskId,
    taskStatus: input.taskStatus ?? task.status ?? null,
    metadata: task.metadata,
  };
  if (input.progress) {
    data.part = input.progress.part;
    data.result = input.progress.result;
  } else if (input.raw) data.task = input.raw;
  if (input.reason) data.reason = input.reason;
  const body = JSON.stringify({ type, timestamp: new Date(nowMs).toISOString(), data });
  return {
    id: eventId(task.workspaceId, task.taskId, type, input.progress?.part),
    type,
    workspaceId: task.workspaceId,
    taskId: task.taskId,
    body,
    createdAtMs: nowMs,
  };
}

/** Whether a registered webhook wants this event (enabled, workspace and type filters). */
export function webhookWants(webhook: WebhookRow, event: Pick<EventRow, "type" | "workspaceId">): boolean {
  if (!webhook.enabled) return false;
  if (webhook.workspaceId !== undefined && webhook.workspaceId !== event.workspaceId) return false;
  const types = webhook.events ?? TERMINAL_EVENT_TYPES;
  return types.includes(event.type);
}

/** Per-task URLs receive the terminal events of their task. */
export function taskUrlsWant(event: Pick<EventRow, "type">): boolean {
  return (TERMINAL_EVENT_TYPES as readonly string[]).includes(event.type);
}

/**
 * The deliveries an event gets: one per registered webhook that wants it, and one per URL the task
 * was registered with (terminal events only). Ids are derived from (event, target), so writing them
 * again creates nothing twice.
 */
/** A delivery as its row reads right after `createDeliveries` wrote it. */
export function createdDelivery(d: NewDelivery): DeliveryRow {
  return {
    id: d.id,
    eventId: d.eventId,
    webhookId: d.webhookId,
    url: d.url,
    status: "pending",
    attempts: 0,
    nextAttemptAtMs: d.nextAttemptAtMs,
    lastAttemptAtMs: undefined,
    lastStatusCode: undefined,
    lastError: undefined,
    lastResponse: undefined,
    leaseOwner: d.leaseOwner,
    leaseUntilMs: d.leaseUntilMs ?? 0,
    createdAtMs: d.createdAtMs,
    deliveredAtMs: undefined,
    eventType: d.eventType,
    attemptLog: undefined,
  };
}

export function deliveriesFor(
  event: EventRow,
  webhooks: readonly WebhookRow[],
  task: Pick<TaskRow, "webhookUrls">,
  times: { readonly nowMs: number; readonly firstAttemptAtMs: number },
): NewDelivery[] {
  const row = (webhookId: string, url: string): NewDelivery => ({
    id: deliveryId(event.id, webhookId),
    eventId: event.id,
    webhookId,
    url,
    nextAttemptAtMs: times.firstAttemptAtMs,
    createdAtMs: times.nowMs,
    eventType: event.type,
  });
  const rows = webhooks.filter((w) => webhookWants(w, event)).map((w) => row(w.id, w.url));
  if (taskUrlsWant(event)) for (const url of task.webhookUrls) rows.push(row(taskTargetId(url), url));
  return rows;
}
