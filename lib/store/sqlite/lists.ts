/** The newest-first lists on SQLite: each a walk of an index keyed by creation time, never a sort. */
import type Database from "better-sqlite3";
import { decodeTimeCursor, encodeTimeCursor, type TimeKey } from "../cursor.js";
import type { DeliveryFilter, DeliveryRow, EventRow, Page, TaskRow, TaskState } from "../store.js";
import { type Row, toDelivery, toEvent, toTask } from "./codecs.js";
import { ACTIVE_TASK, FAILING_DELIVERY, marks, UNFINISHED_DELIVERY } from "./queries.js";

type Prepare = (sql: string) => Database.Statement;

/**
 * A page of a table newest first: `key` is a time column then the columns that make it unique,
 * and the cursor is the last key of the page before. `equal` holds column = value filters (unset
 * ones are left out; a key may carry its operator, "created_at_ms >="). `terms` are fixed SQL
 * conditions (never caller input), written out literally so that a partial index whose WHERE they
 * repeat can be used.
 */
function newestPage<T>(
  stmt: Prepare,
  table: string,
  key: readonly string[],
  equal: Record<string, unknown>,
  paging: { readonly limit: number; readonly cursor?: string | undefined },
  decode: (r: Row) => T,
  keyOf: (row: T) => TimeKey,
  terms: readonly string[] = [],
): Page<T> {
  const where: string[] = [...terms];
  const args: unknown[] = [];
  for (const [column, value] of Object.entries(equal)) {
    if (value === undefined) continue;
    where.push(/\s/.test(column) ? `${column} ?` : `${column} = ?`);
    args.push(value);
  }
  const before = decodeTimeCursor(paging.cursor, key.length);
  if (before) {
    where.push(`(${key.join(", ")}) < (${marks(key.length)})`);
    args.push(...before);
  }
  const rows = stmt(
    `SELECT * FROM ${table} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ${key.map((k) => `${k} DESC`).join(", ")} LIMIT ?`,
  ).all(...args, paging.limit + 1) as Row[];
  const items = rows.slice(0, paging.limit).map(decode);
  const last = items[items.length - 1];
  return { items, cursor: rows.length > paging.limit && last ? encodeTimeCursor(keyOf(last)) : undefined };
}

export function listTasks(
  stmt: Prepare,
  filter: { state?: TaskState; status?: string; workspaceId?: string; limit: number; cursor?: string },
): Page<TaskRow> {
  const { state, status, workspaceId } = filter;
  return newestPage(
    stmt,
    "tasks",
    ["registered_at_ms", "workspace_id", "task_id"],
    { state, status, workspace_id: workspaceId },
    filter,
    toTask,
    (t) => [t.registeredAtMs, t.workspaceId, t.taskId],
    // The active are listed through their partial index (see the migrations).
    state === "active" ? [ACTIVE_TASK] : [],
  );
}

export function listRecentEvents(
  stmt: Prepare,
  filter: { limit: number; sinceMs?: number; cursor?: string },
): Page<EventRow> {
  return newestPage(
    stmt,
    "events",
    ["created_at_ms", "id"],
    { "created_at_ms >=": filter.sinceMs },
    filter,
    toEvent,
    (e) => [e.createdAtMs, e.id],
  );
}

export function listDeliveries(stmt: Prepare, filter: DeliveryFilter): Page<DeliveryRow> {
  const { webhookId, eventId, eventType, sinceMs } = filter;
  const failed = filter.status === "failed";
  const status = failed ? undefined : filter.status;
  return newestPage(
    stmt,
    "deliveries",
    ["created_at_ms", "id"],
    { status, webhook_id: webhookId, event_id: eventId, event_type: eventType, "created_at_ms >=": sinceMs },
    filter,
    toDelivery,
    (d) => [d.createdAtMs, d.id],
    // The failing, the pending and the dead are listed through partial indexes (see the migrations).
    failed ? [FAILING_DELIVERY] : status && status !== "delivered" ? [UNFINISHED_DELIVERY] : [],
  );
}
