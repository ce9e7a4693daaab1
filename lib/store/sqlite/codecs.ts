/** Rows as SQLite holds them: each record's columns declared once (JSON as text, booleans as 0/1). */
import { type Column, type Columns, decode, encode, opt, req } from "../columns.js";
import type { DeliveryRow, EventRow, TaskRow, WebhookRow, WorkspaceRow } from "../store.js";

export type Row = Record<string, unknown>;

function readColumn(r: Row) {
  return (c: Column): unknown => {
    const v = r[c.name];
    if (v === null || v === undefined) return undefined;
    if (c.kind === "int") return Number(v);
    if (c.kind === "bool") return Number(v) === 1;
    if (c.kind === "json") return JSON.parse(String(v));
    return String(v);
  };
}

const writeColumn = (v: unknown, c: Column): unknown =>
  c.kind === "json" ? JSON.stringify(v) : c.kind === "bool" ? (v ? 1 : 0) : v;

export const read =
  <T>(columns: Columns<T>) =>
  (r: Row): T =>
    decode(columns, readColumn(r));

/** A whole row's values in declaration order, NULL for absent optional fields. */
export const values = <T>(columns: Columns<T>, value: T): unknown[] =>
  encode(columns, value, writeColumn).map(([, v]) => v ?? null);

export const TASK: Columns<TaskRow> = {
  workspaceId: req.str("workspace_id"),
  taskId: req.str("task_id"),
  state: req.str("state"),
  status: opt.str("status"),
  submittedAtMs: req.int("submitted_at_ms"),
  registeredAtMs: req.int("registered_at_ms"),
  nextPollAtMs: req.int("next_poll_at_ms"),
  pollCount: req.int("poll_count"),
  pollsInStatus: req.int("polls_in_status"),
  lastPolledAtMs: opt.int("last_polled_at_ms"),
  lastError: opt.str("last_error"),
  leaseOwner: opt.str("lease_owner"),
  leaseUntilMs: req.int("lease_until_ms"),
  webhookUrls: req.json("webhook_urls"),
  metadata: req.json("metadata"),
  terminalAtMs: opt.int("terminal_at_ms"),
  runningSinceMs: opt.int("running_since_ms"),
  profile: opt.str("profile"),
};

export const WORKSPACE: Columns<WorkspaceRow> = {
  workspaceId: req.str("workspace_id"),
  asyncConcurrency: opt.int("async_concurrency"),
  concurrencyFetchedAtMs: opt.int("concurrency_fetched_at_ms"),
  backoffUntilMs: req.int("backoff_until_ms"),
  authFailures: req.int("auth_failures"),
  lastError: opt.str("last_error"),
};

export const WEBHOOK: Columns<WebhookRow> = {
  id: req.str("id"),
  url: req.str("url"),
  secrets: req.json("secrets"),
  events: opt.json("events"),
  workspaceId: opt.str("workspace_id"),
  headers: req.json("headers"),
  enabled: req.bool("enabled"),
  disabledReason: opt.str("disabled_reason"),
  failingSinceMs: opt.int("failing_since_ms"),
  createdAtMs: req.int("created_at_ms"),
};

export const EVENT: Columns<EventRow> = {
  id: req.str("id"),
  type: req.str("type"),
  workspaceId: req.str("workspace_id"),
  taskId: req.str("task_id"),
  body: req.str("body"),
  createdAtMs: req.int("created_at_ms"),
};

export const DELIVERY: Columns<DeliveryRow> = {
  id: req.str("id"),
  eventId: req.str("event_id"),
  webhookId: req.str("webhook_id"),
  url: req.str("url"),
  status: req.str("status"),
  attempts: req.int("attempts"),
  nextAttemptAtMs: req.int("next_attempt_at_ms"),
  lastAttemptAtMs: opt.int("last_attempt_at_ms"),
  lastStatusCode: opt.int("last_status_code"),
  lastError: opt.str("last_error"),
  lastResponse: opt.str("last_response"),
  leaseOwner: opt.str("lease_owner"),
  leaseUntilMs: req.int("lease_until_ms"),
  createdAtMs: req.int("created_at_ms"),
  deliveredAtMs: opt.int("delivered_at_ms"),
};

export const toTask = read(TASK);
export const toWorkspace = read(WORKSPACE);
export const toWebhook = read(WEBHOOK);
export const toEvent = read(EVENT);
export const toDelivery = read(DELIVERY);
