/**
 * Rows as Tablestore holds them: each record's columns declared once (integers as Long, JSON as
 * text, booleans native), primary keys, and the key builders of every table and index.
 */
import TableStoreSdk, { type AttributeValue, type Int64, type Pk, type RowResult } from "tablestore";
import { type Column, type Columns, decode, encode, opt, req } from "../columns.js";
import type { DeliveryRow, EventRow, TaskRow, WebhookRow, WorkspaceRow } from "../store.js";

const TS = TableStoreSdk;

/** A row's columns by name, primary key columns included. */
export type Attrs = Record<string, AttributeValue>;

export const long = (n: number) => TS.Long.fromNumber(n);
const isInt64 = (v: unknown): v is Int64 =>
  typeof v === "object" && v !== null && typeof (v as Int64).toBuffer === "function";
export const numOf = (v: unknown): number | undefined =>
  isInt64(v) ? v.toNumber() : typeof v === "number" ? v : undefined;
export const strOf = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function attrsOf(row: RowResult | undefined): Attrs | undefined {
  if (!row?.primaryKey) return undefined;
  const out: Attrs = {};
  for (const a of row.attributes ?? []) out[a.columnName] = a.columnValue;
  for (const p of row.primaryKey) out[p.name] = p.value as AttributeValue;
  return out;
}

function readColumn(a: Attrs) {
  return (c: Column): unknown => {
    const v = a[c.name];
    if (v === undefined || v === null) return undefined;
    if (c.kind === "int") return numOf(v);
    if (c.kind === "bool") return v === true;
    if (c.kind === "json") return JSON.parse(String(v));
    return String(v);
  };
}

const writeColumn = (v: unknown, c: Column): unknown =>
  c.kind === "int" ? long(v as number) : c.kind === "json" ? JSON.stringify(v) : v;

export const read = <T>(columns: Columns<T>, a: Attrs): T => decode(columns, readColumn(a));

/** A whole row's attribute columns (its key columns left out), for PutRow. */
export function attributesOf<T>(columns: Columns<T>, value: T, key: ReadonlyArray<keyof T>): Array<[string, unknown]> {
  const keyColumns = new Set(key.map((k) => columns[k].name));
  return encode(columns, value, writeColumn).filter(([name]) => !keyColumns.has(name));
}

export const TASK: Columns<TaskRow> = {
  workspaceId: req.str("ws"),
  taskId: req.str("task"),
  state: req.str("state"),
  status: opt.str("status"),
  submittedAtMs: req.int("submitted_at", 0),
  registeredAtMs: req.int("registered_at", 0),
  nextPollAtMs: req.int("next_poll_at", 0),
  pollCount: req.int("poll_count", 0),
  pollsInStatus: req.int("polls_in_status", 0),
  lastPolledAtMs: opt.int("last_polled_at"),
  lastError: opt.str("last_error"),
  leaseOwner: opt.str("lease_owner"),
  leaseUntilMs: req.int("lease_until", 0),
  webhookUrls: req.json("webhook_urls", []),
  metadata: req.json("metadata", {}),
  terminalAtMs: opt.int("terminal_at"),
  runningSinceMs: opt.int("running_since"),
  profile: opt.str("profile"),
};

export const WORKSPACE: Columns<WorkspaceRow> = {
  workspaceId: req.str("ws"),
  asyncConcurrency: opt.int("async_concurrency"),
  concurrencyFetchedAtMs: opt.int("concurrency_fetched_at"),
  backoffUntilMs: req.int("backoff_until", 0),
  authFailures: req.int("auth_failures", 0),
  lastError: opt.str("last_error"),
};

export const WEBHOOK: Columns<WebhookRow> = {
  id: req.str("id"),
  url: req.str("url"),
  secrets: req.json("secrets", []),
  events: opt.json("events"),
  workspaceId: opt.str("workspace_id"),
  headers: req.json("headers", {}),
  enabled: req.bool("enabled", false),
  disabledReason: opt.str("disabled_reason"),
  failingSinceMs: opt.int("failing_since"),
  createdAtMs: req.int("created_at", 0),
};

/** The body is stored in chunks (a column holds at most 2 MB): see events.ts. */
export const EVENT: Columns<Omit<EventRow, "body">> = {
  id: req.str("id"),
  type: req.str("type"),
  workspaceId: req.str("ws"),
  taskId: req.str("task"),
  createdAtMs: req.int("created_at", 0),
};

export const DELIVERY: Columns<DeliveryRow> = {
  id: req.str("id"),
  eventId: req.str("event_id"),
  webhookId: req.str("webhook_id"),
  url: req.str("url"),
  status: req.str("status"),
  attempts: req.int("attempts", 0),
  nextAttemptAtMs: req.int("next_attempt_at", 0),
  lastAttemptAtMs: opt.int("last_attempt_at"),
  lastStatusCode: opt.int("last_status_code"),
  lastError: opt.str("last_error"),
  lastResponse: opt.str("last_response"),
  leaseOwner: opt.str("lease_owner"),
  leaseUntilMs: req.int("lease_until", 0),
  createdAtMs: req.int("created_at", 0),
  deliveredAtMs: opt.int("delivered_at"),
};

/** Every due index has one partition today; the key column is there to shard it later. */
export const SHARD = "0";

export const keys = {
  task: (ws: string, task: string): Pk => [{ ws }, { task }],
  taskDue: (due: number, ws: string, task: string): Pk => [{ shard: SHARD }, { due_at: long(due) }, { ws }, { task }],
  taskQueue: (ws: string, at: number, task: string): Pk => [{ ws }, { submitted_at: long(at) }, { task }],
  deliveryDue: (due: number, id: string): Pk => [{ shard: SHARD }, { due_at: long(due) }, { id }],
};
